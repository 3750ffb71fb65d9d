/**
 * The library's secure server as a standalone benchmark process: our
 * `Daemon` (X25519 handshake, XChaCha20-Poly1305 per message) over TCP or a
 * Unix socket, with the chosen crypto provider and the default dispatcher,
 * whose `ECHO` handler replies with the request itself (`Echo` → `Echo`,
 * `Custom { command: "ECHO" }` → the same), so every reply frame has the
 * request's size. Everything else is the daemon's default configuration
 * (`backpressure_limit` 32, heartbeats every 15 s), except `max_connections`,
 * raised to 10,000 as for the baseline servers.
 *
 * ```sh
 * node packages/bench/src/secure/server.ts --crypto sodium
 * node packages/bench/src/secure/server.ts --crypto node --unix /tmp/np.sock
 * ```
 *
 * Listens on 127.0.0.1 port 0 (or the given path), prints `@@ready {address}`
 * and runs until SIGTERM or until its stdin closes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Util from "node:util"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Daemon from "@network-protocol/service/Daemon"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as Requests from "./Requests.ts"

const { values } = Util.parseArgs({
  options: {
    crypto: { type: "string", default: "sodium" },
    unix: { type: "string" }
  }
})

const provider = values.crypto
if (!Requests.isProvider(provider)) throw new Error(`unknown --crypto ${provider}: sodium, node or noble`)
const unixPath = values.unix

const config = new NetworkConfig.ServerConfig({ ...NetworkConfig.defaults.server, max_connections: 10_000 })

const program = Effect.gen(function*() {
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
  const daemon = yield* Daemon.make({
    listen: unixPath !== undefined ? { unix: { path: unixPath } } : { tcp: { host: "127.0.0.1", port: 0 } },
    config,
    backlog: 1024
  })
  const address: Driver.Address = unixPath !== undefined
    ? { kind: "unix", path: unixPath }
    : { kind: "tcp", host: "127.0.0.1", port: daemon.port ?? 0 }
  Processes.announceReady(address)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(Requests.layer(provider)))

Processes.exitWithParent(() => {
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
})

Effect.runFork(program).addObserver((exit) => {
  process.stderr.write(`secure server (${provider}) stopped: ${String(exit)}\n`)
  process.exit(1)
})
