/**
 * `np demo` (what `npm start` runs): a daemon and a client in one process,
 * over a loopback TCP port picked by the system (127.0.0.1:0).
 *
 * 1. the daemon starts with two extra handlers (`UPPER`, `STATS`);
 * 2. the client connects and runs the secure handshake (X25519, then every
 *    message sealed with XChaCha20-Poly1305);
 * 3. Ping, Echo and Custom exchanges, each with its round-trip time;
 * 4. a bounded throughput run: Echo requests, `--window` in flight, until
 *    `--duration` has passed or `--messages` were answered, with a progress
 *    indicator on standard error (redrawn in place on a terminal);
 * 5. a summary: handshake time, messages, msg/s, round-trip percentiles and
 *    the metrics of both sides; then the client disconnects and the daemon
 *    shuts down gracefully.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Client from "../Client.ts"
import * as Daemon from "../Daemon.ts"
import * as CliFailure from "./CliFailure.ts"
import * as Handlers from "./Handlers.ts"
import * as Render from "./Render.ts"
import * as Settings from "./Settings.ts"
import * as Stats from "./Stats.ts"

const flags = {
  duration: Settings.positiveInt("duration").pipe(
    Flag.withMetavar("MS"),
    Flag.withDescription("longest duration of the throughput run (default 2000)"),
    Flag.withDefault(2000)
  ),
  messages: Settings.positiveInt("messages").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("most messages of the throughput run (default 20000)"),
    Flag.withDefault(20_000)
  ),
  window: Settings.positiveInt("window").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("requests in flight during the throughput run (default 64)"),
    Flag.withDefault(64)
  ),
  size: Settings.nonNegativeInt("size").pipe(
    Flag.withMetavar("BYTES"),
    Flag.withDescription("text size of each Echo in the throughput run (default 64)"),
    Flag.withDefault(64)
  ),
  json: Settings.jsonFlag
}

type Flags = Command.Command.Config.Infer<typeof flags>

const encoder = new TextEncoder()

interface Exchange {
  readonly name: string
  readonly request: Message.Message
  readonly reply: Message.Message
  readonly rttMillis: number
}

interface Throughput {
  readonly messages: number
  readonly seconds: number
  readonly rtts: Float64Array
}

const snapshotJson = (s: Metrics.Snapshot) => ({
  connectionsTotal: s.connectionsTotal,
  connectionsActive: s.connectionsActive,
  handshakesSuccess: s.handshakesSuccess,
  handshakesFailed: s.handshakesFailed,
  handshakeMeanMillis: Stats.round3(s.handshakeDuration.meanMillis),
  messagesSent: s.messagesSent,
  messagesReceived: s.messagesReceived,
  bytesSent: s.bytesSent,
  bytesReceived: s.bytesReceived,
  requests: s.requestRtt.count,
  requestMeanMillis: Stats.round3(s.requestRtt.meanMillis),
  connectionErrors: s.connectionErrors,
  protocolErrors: s.protocolErrors
})

const describeSnapshot = (s: Metrics.Snapshot): string => {
  const parts = [
    `${s.connectionsTotal} connection${s.connectionsTotal === 1 ? "" : "s"} (${s.connectionsActive} open)`,
    `handshakes ${s.handshakesSuccess} ok / ${s.handshakesFailed} failed` +
    (s.handshakeDuration.count > 0 ? ` (mean ${Stats.millis(s.handshakeDuration.meanMillis)} ms)` : ""),
    `messages ${Stats.count(s.messagesReceived)} in / ${Stats.count(s.messagesSent)} out`
  ]
  if (s.bytesReceived + s.bytesSent > 0) parts.push(`${Stats.bytes(s.bytesReceived)} in / ${Stats.bytes(s.bytesSent)} out`)
  if (s.requestRtt.count > 0) parts.push(`${Stats.count(s.requestRtt.count)} requests (mean ${Stats.millis(s.requestRtt.meanMillis)} ms)`)
  if (s.connectionErrors + s.protocolErrors > 0) {
    parts.push(`${s.connectionErrors} connection errors, ${s.protocolErrors} protocol errors`)
  }
  return parts.join(", ")
}

/** The progress indicator of the throughput run, on standard error. */
const progressLoop = (
  options: Flags,
  elapsedMillis: () => number,
  completed: () => number
): Effect.Effect<never> => {
  const tty = process.stderr.isTTY === true
  const width = 24
  const render = Effect.sync(() => {
    const elapsed = elapsedMillis()
    const done = completed()
    const fraction = Math.min(1, Math.max(elapsed / options.duration, done / options.messages))
    const filled = Math.round(fraction * width)
    const rate = elapsed > 0 ? (done * 1000) / elapsed : 0
    const text = `throughput [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Stats.count(done)} messages, ${
      (elapsed / 1000).toFixed(1)
    } s, ${Stats.count(rate)} msg/s`
    process.stderr.write(tty ? `\r\x1b[2K${text}` : `${text}\n`)
  })
  return Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(tty ? 100 : 500)), render))
}

const clearProgress = Effect.sync(() => {
  if (process.stderr.isTTY === true) process.stderr.write("\r\x1b[2K")
})

const throughputRun = Effect.fnUntraced(function*(client: Client.Client, options: Flags) {
  const clock = yield* Clock.Clock
  const text = "x".repeat(options.size)
  const message = Message.Echo({ text })
  const rtts = new Float64Array(options.messages)
  let issued = 0
  let completed = 0
  let mismatches = 0
  const start = clock.currentTimeMillisUnsafe()
  const deadline = start + options.duration
  const worker = Effect.gen(function*() {
    while (issued < options.messages && clock.currentTimeMillisUnsafe() < deadline) {
      issued++
      const sent = clock.currentTimeNanosUnsafe()
      const reply = yield* client.request(message)
      rtts[completed++] = Number(clock.currentTimeNanosUnsafe() - sent) / 1e6
      if (reply._tag !== "Echo" || reply.text !== text) mismatches++
    }
  })
  const showProgress = process.stderr.isTTY === true || !options.json
  const progress = showProgress
    ? yield* Effect.forkChild(progressLoop(options, () => clock.currentTimeMillisUnsafe() - start, () => completed))
    : undefined
  yield* Effect.forEach(Array.from({ length: options.window }), () => worker, {
    concurrency: "unbounded",
    discard: true
  }).pipe(
    Effect.ensuring(progress === undefined ? Effect.void : Effect.andThen(Fiber.interrupt(progress), clearProgress))
  )
  const seconds = (clock.currentTimeMillisUnsafe() - start) / 1000
  if (mismatches > 0) return yield* CliFailure.failed(`${mismatches} echo replies did not match their request`)
  return { messages: completed, seconds, rtts: rtts.subarray(0, completed) } satisfies Throughput
})

const handler = Effect.fnUntraced(function*(options: Flags) {
  const clock = yield* Clock.Clock
  const crypto = yield* Crypto.Crypto
  const say = (line: string) => options.json ? Effect.void : Console.log(line)
  const elapsedMillis = (start: bigint) => Number(clock.currentTimeNanosUnsafe() - start) / 1e6
  yield* Metrics.init

  const result = yield* Effect.gen(function*() {
    yield* say(`np demo: a daemon and a client in one process, over loopback TCP`)
    const daemon = yield* Daemon.make({
      listen: { tcp: { host: "127.0.0.1", port: 0 } },
      dispatcher: Handlers.dispatcher
    })
    yield* say(`daemon      listening on ${daemon.address} (secure profile, crypto ${crypto.name})`)

    const connectStart = clock.currentTimeNanosUnsafe()
    const client = yield* Client.make({
      connect: { tcp: { host: "127.0.0.1", port: daemon.port ?? 0 } },
      // every request of the demo is bounded
      config: NetworkConfig.make({ client: { response_timeout: Duration.seconds(5) } }).client
    })
    const handshakeMillis = elapsedMillis(connectStart)
    const info = yield* client.info
    yield* say(
      `client      connected from ${info?.localAddress ?? "?"}: connect + X25519 handshake in ${
        Stats.millis(handshakeMillis)
      } ms, session ${info?.profile === "secure" ? "sealed with XChaCha20-Poly1305" : info?.profile ?? "?"}`
    )

    const exchanges: Array<Exchange> = []
    const exchange = Effect.fnUntraced(function*(name: string, request: Message.Message) {
      const start = clock.currentTimeNanosUnsafe()
      const reply = yield* client.request(request)
      const rttMillis = elapsedMillis(start)
      exchanges.push({ name, request, reply, rttMillis })
      yield* say(`${name.padEnd(11)} ${Render.toShortText(request)} → ${Render.toShortText(reply)} (${Stats.millis(rttMillis)} ms)`)
    })
    yield* exchange("ping", Message.Ping())
    yield* exchange("echo", Message.Echo({ text: "hello, network-protocol" }))
    yield* exchange("custom", Message.Custom({ command: "UPPER", payload: encoder.encode("make some noise") }))
    yield* exchange("custom", Message.Custom({ command: "STATS", payload: new Uint8Array(0) }))

    yield* say(
      `throughput  Echo(${options.size} B) requests, ${options.window} in flight, for ${options.duration} ms or ${
        Stats.count(options.messages)
      } messages`
    )
    const throughput = yield* throughputRun(client, options)
    const server = yield* Metrics.snapshotWhere({ role: "server" })
    const clientMetrics = yield* Metrics.snapshotWhere({ role: "client" })
    return {
      daemon: daemon.address,
      handshakeMillis,
      exchanges,
      throughput,
      server,
      client: clientMetrics,
      finishedAt: clock.currentTimeNanosUnsafe()
    }
  }).pipe(Effect.scoped)
  // the scope closed: the client sent Disconnect, the daemon drained and closed
  const shutdownMillis = elapsedMillis(result.finishedAt)

  const { throughput } = result
  const rtt = Stats.summarize(throughput.rtts)
  const rate = throughput.seconds > 0 ? throughput.messages / throughput.seconds : 0
  if (options.json) {
    yield* Console.log(JSON.stringify({
      daemon: result.daemon,
      crypto: crypto.name,
      handshakeMillis: Stats.round3(result.handshakeMillis),
      exchanges: result.exchanges.map((e) => ({
        name: e.name,
        request: Render.toJson(e.request),
        reply: Render.toJson(e.reply),
        rttMillis: Stats.round3(e.rttMillis)
      })),
      throughput: {
        messages: throughput.messages,
        seconds: Stats.round3(throughput.seconds),
        messagesPerSecond: Math.round(rate),
        window: options.window,
        payloadBytes: options.size,
        rttMillis: Stats.toJson(rtt)
      },
      metrics: { server: snapshotJson(result.server), client: snapshotJson(result.client) },
      shutdownMillis: Stats.round3(shutdownMillis)
    }))
    return
  }
  yield* Console.log("")
  yield* Console.log("summary")
  yield* Console.log(`  handshake   ${Stats.millis(result.handshakeMillis)} ms (TCP connect + secure handshake)`)
  yield* Console.log(
    `  messages    ${Stats.count(throughput.messages)} echo round trips in ${throughput.seconds.toFixed(2)} s (${options.window} in flight)`
  )
  yield* Console.log(`  throughput  ${Stats.count(rate)} msg/s`)
  yield* Console.log(
    `  rtt         p50 ${Stats.millis(rtt.p50)} ms, p90 ${Stats.millis(rtt.p90)} ms, p99 ${Stats.millis(rtt.p99)} ms (min ${
      Stats.millis(rtt.min)
    }, max ${Stats.millis(rtt.max)})`
  )
  yield* Console.log(`  server      ${describeSnapshot(result.server)}`)
  yield* Console.log(`  client      ${describeSnapshot(result.client)}`)
  yield* Console.log(`  shutdown    client disconnected, daemon drained and closed in ${Stats.millis(shutdownMillis)} ms`)
}, CliFailure.mapFailure("demo failed"), Effect.provide(Crypto.layerDefault))

/**
 * The `demo` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("demo", flags, handler).pipe(
  Command.withDescription(
    "Run a daemon and a client in one process on a loopback port: handshake, Ping/Echo/Custom exchanges, a short throughput run and a summary"
  ),
  Command.withExamples([
    { command: "np demo" },
    { command: "np demo --duration 5000 --messages 100000 --window 128 --json" }
  ])
)
