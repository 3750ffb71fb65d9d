import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/core", "packages/transport", "packages/service", "packages/bench"]
  }
})
