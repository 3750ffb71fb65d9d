/**
 * The multiplexed server as a standalone benchmark process: every request
 * payload is answered with itself, each in its own fiber, replies written as
 * soon as they are ready (out of order), with the crate's `MultiplexConfig`
 * defaults.
 *
 * - `--frame raw`: `Multiplexer.listen`, the crate's raw multiplexed frame
 *   (8-byte id, 4-byte length, payload) over TCP, no encryption;
 * - `--frame secure`: `Tcp.listen` + `Session.secureServer` (X25519
 *   handshake, XChaCha20-Poly1305) + `Multiplexer.serveSession`: the same
 *   frame inside a sealed `Custom { command: "MUX" }` message.
 *
 * ```sh
 * node packages/bench/src/mux/server.ts --frame raw
 * node packages/bench/src/mux/server.ts --frame secure --crypto sodium
 * ```
 *
 * Listens on 127.0.0.1 port 0, prints `@@ready {address}` and runs until
 * SIGTERM or until its stdin closes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Util from "node:util"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Multiplexer from "@network-protocol/service/Multiplexer"
import * as Session from "@network-protocol/service/Session"
import * as Tcp from "@network-protocol/transport/Tcp"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as Requests from "../secure/Requests.ts"

const { values } = Util.parseArgs({
  options: {
    frame: { type: "string", default: "raw" },
    crypto: { type: "string", default: "sodium" }
  }
})

const frame = values.frame
if (frame !== "raw" && frame !== "secure") throw new Error(`unknown --frame ${frame}: raw or secure`)
const provider = values.crypto
if (!Requests.isProvider(provider)) throw new Error(`unknown --crypto ${provider}: sodium, node or noble`)

const echo = (payload: Uint8Array) => Effect.succeed(payload)

const listen = Effect.gen(function*() {
  if (frame === "raw") {
    const server = yield* Multiplexer.listen({ tcp: { host: "127.0.0.1", port: 0 } }, echo)
    return server.port ?? 0
  }
  const cache = yield* ReplayCache.make()
  const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0, backlog: 1024 })
  yield* Effect.forkScoped(server.run((connection) =>
    Effect.scoped(Effect.flatMap(Session.secureServer(connection), (session) =>
      Multiplexer.serveSession(session, echo))).pipe(
        Effect.provideService(ReplayCache.ReplayCache, cache),
        Effect.ignore
      )
  ))
  return server.port
})

const program = Effect.gen(function*() {
  const port = yield* listen
  const address: Driver.Address = { kind: "tcp", host: "127.0.0.1", port }
  Processes.announceReady(address)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(Requests.layer(provider)))

Processes.exitWithParent()

Effect.runFork(program).addObserver((exit) => {
  process.stderr.write(`multiplexed server (${frame}) stopped: ${String(exit)}\n`)
  process.exit(1)
})
