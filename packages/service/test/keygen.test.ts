/**
 * `np keygen`, run as a child process with a deadline, in a temporary directory.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Identity from "@network-protocol/core/Identity"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const NP = fileURLToPath(new URL("../src/bin/np.ts", import.meta.url))

const np = (args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, [NP, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, NO_COLOR: "1" }
  })

describe("np keygen", () => {
  it.effect("writes an Ed25519 identity (0600 PKCS#8 + SPKI) that loads, prints its fingerprint, refuses to overwrite", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-keygen-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const made = np(["keygen", "--out", Path.join(dir, "keys"), "--name", "server", "--json"])
      assert.strictEqual(made.status, 0, made.stderr)
      const printed = JSON.parse(made.stdout) as { keyFile: string; publicKeyFile: string; fingerprint: string; publicKey: string }
      assert.strictEqual(printed.keyFile, Path.join(dir, "keys", "server.key"))
      assert.strictEqual(Fs.statSync(printed.keyFile).mode & 0o777, 0o600)
      const identity = yield* Identity.load(printed.keyFile)
      assert.strictEqual(identity.fingerprint, printed.fingerprint)
      assert.deepStrictEqual(yield* Identity.loadPublicKey(printed.publicKeyFile), identity.publicKey)
      assert.strictEqual(printed.publicKey, `ed25519:${Buffer.from(identity.publicKey).toString("hex")}`)

      const shown = np(["keygen", "--show", printed.publicKeyFile])
      assert.strictEqual(shown.status, 0, shown.stderr)
      assert.include(shown.stdout, printed.fingerprint)

      const again = np(["keygen", "--out", Path.join(dir, "keys"), "--name", "server"])
      assert.strictEqual(again.status, 1)
      assert.include(again.stderr, "--force")
      assert.strictEqual((yield* Identity.load(printed.keyFile)).fingerprint, printed.fingerprint)
      const forced = np(["keygen", "--out", Path.join(dir, "keys"), "--name", "server", "--force"])
      assert.strictEqual(forced.status, 0, forced.stderr)
      assert.notStrictEqual((yield* Identity.load(printed.keyFile)).fingerprint, printed.fingerprint)

      assert.strictEqual(np(["keygen"]).status, 2)
      assert.strictEqual(np(["keygen", "--show", Path.join(dir, "missing.pub")]).status, 2)
    }).pipe(Effect.scoped))
})
