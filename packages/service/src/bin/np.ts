#!/usr/bin/env node
/**
 * The `np` command-line tool: `np serve`, `ping`, `echo`, `send`, `cert`,
 * `config` and `demo` (see `../cli/Main.ts`). Runs on Node 24 (type
 * stripping): `npx np --help`, or `npm start` for the demo.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Main from "../cli/Main.ts"
import * as Signals from "../cli/Signals.ts"

// `np ... | head`: the reader went away; stop quietly, like other command-line tools
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0)
    throw error
  })
}

NodeRuntime.runMain(Main.main, { teardown: Signals.teardown })
