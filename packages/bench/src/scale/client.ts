/**
 * A client process for the scale benchmarks. It opens `--count` connections
 * to the server (in batches, so the listen backlog never overflows), prints
 * `@@opened`, then either holds them idle until stdin closes (`--mode idle`)
 * or, over secure connections, sends one 64-byte Echo per connection per
 * second for `--seconds` (`--mode load`) and reports what came back.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Util from "node:util"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Session from "@network-protocol/service/Session"
import * as Processes from "../harness/Processes.ts"
import * as Stats from "../harness/Stats.ts"

const { values } = Util.parseArgs({
  options: {
    kind: { type: "string", default: "secure" },
    port: { type: "string" },
    count: { type: "string", default: "1000" },
    mode: { type: "string", default: "idle" },
    seconds: { type: "string", default: "10" }
  }
})
const port = Number(values.port)
const count = Number(values.count)
const seconds = Number(values.seconds)
const BATCH = 200

Processes.exitWithParent()

const openRaw = (secure: boolean) =>
  new Promise<Net.Socket>((resolve, reject) => {
    const socket: Net.Socket = secure
      ? Tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" }, () => resolve(socket))
      : Net.connect({ host: "127.0.0.1", port }, () => resolve(socket))
    socket.setNoDelay(true)
    socket.once("error", reject)
  })

if (values.kind !== "secure") {
  const sockets: Array<Net.Socket> = []
  for (let i = 0; i < count; i += BATCH) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, () => openRaw(values.kind === "tls"))))
  }
  process.stdout.write("@@opened\n")
} else {
  const program = Effect.gen(function*() {
    const sessions: Array<Session.Session> = []
    for (let i = 0; i < count; i += BATCH) {
      sessions.push(...yield* Effect.forEach(
        Array.from({ length: Math.min(BATCH, count - i) }, () => i),
        () => Effect.flatMap(Tcp.connect({ host: "127.0.0.1", port }), (c) => Session.secureClient(c)),
        { concurrency: BATCH }
      ))
    }
    process.stdout.write("@@opened\n")
    if (values.mode !== "load") return yield* Effect.never
    const latencies: Array<number> = []
    let sent = 0
    let failed = 0
    const payload = Message.Echo({ text: "x".repeat(64 - 9 - 40 - 12) })
    const deadline = performance.now() + seconds * 1000
    yield* Effect.forEach(sessions, (session, index) =>
      Effect.gen(function*() {
        // spread the connections evenly over each second
        yield* Effect.sleep(`${Math.floor((index / sessions.length) * 1000)} millis`)
        while (performance.now() < deadline) {
          const started = performance.now()
          sent++
          const exit = yield* Effect.exit(
            session.send([payload]).pipe(Effect.andThen(session.receive), Effect.timeout("5 seconds"))
          )
          const elapsed = performance.now() - started
          if (Exit.isSuccess(exit)) latencies.push(elapsed)
          else failed++
          yield* Effect.sleep(`${Math.max(0, 1000 - elapsed)} millis`)
        }
      }), { concurrency: "unbounded", discard: true })
    const summary = Stats.latency(latencies)
    yield* Effect.promise(() =>
      Processes.announceResult({ connections: sessions.length, sent, received: latencies.length, failed, latency: summary })
    )
  }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault))
  Effect.runFork(program).addObserver((exit) => {
    if (Exit.isFailure(exit)) {
      process.stderr.write(`scale client failed: ${String(exit)}\n`)
      process.exit(1)
    }
  })
}
