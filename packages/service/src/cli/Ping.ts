/**
 * `np ping`: sends `--count` Pings, `--interval` apart, prints each round-trip
 * time and a summary (loss, min/mean/p50/p90/p99/max). Exits 0 only if every
 * Ping got its Pong.
 *
 * A Ping without a reply within the response timeout is counted as lost and
 * the next one is sent; when the connection itself is lost, the remaining
 * Pings are not sent (and count as lost).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Client from "../Client.ts"
import * as CliFailure from "./CliFailure.ts"
import * as Settings from "./Settings.ts"
import * as Stats from "./Stats.ts"

const flags = {
  ...Settings.clientFlags,
  count: Settings.positiveInt("count").pipe(
    Flag.withAlias("c"),
    Flag.withMetavar("N"),
    Flag.withDescription("number of pings (default 4)"),
    Flag.withDefault(4)
  ),
  interval: Settings.nonNegativeInt("interval").pipe(
    Flag.withAlias("i"),
    Flag.withMetavar("MS"),
    Flag.withDescription("milliseconds between pings (default 1000)"),
    Flag.withDefault(1000)
  ),
  json: Settings.jsonFlag
}

type Flags = Command.Command.Config.Infer<typeof flags>

interface Reply {
  readonly seq: number
  readonly rttMillis: number | undefined
  readonly error: string | undefined
}

const handler = Effect.fnUntraced(function*(options: Flags) {
  const target = yield* Settings.resolveTarget(options)
  const clock = yield* Clock.Clock
  const client = yield* Client.make(target.options).pipe(CliFailure.mapFailure(`cannot connect to ${target.label}`))
  const info = yield* client.info
  const transport = info === undefined ? "?" : `${info.transport}, ${info.profile} profile`
  if (!options.json) yield* Console.log(`PING ${target.label} (${transport}): ${options.count} pings`)

  const replies: Array<Reply> = []
  for (let seq = 1; seq <= options.count; seq++) {
    const start = clock.currentTimeNanosUnsafe()
    const result = yield* Effect.result(client.request(Message.Ping()))
    const rttMillis = Number(clock.currentTimeNanosUnsafe() - start) / 1e6
    if (Result.isSuccess(result) && result.success._tag === "Pong") {
      replies.push({ seq, rttMillis, error: undefined })
      if (!options.json) yield* Console.log(`Pong from ${target.label}: seq=${seq} time=${Stats.millis(rttMillis)} ms`)
    } else {
      const error = Result.isSuccess(result)
        ? `unexpected reply ${result.success._tag}`
        : result.failure.message
      replies.push({ seq, rttMillis: undefined, error })
      if (!options.json) yield* Console.log(`no reply: seq=${seq} ${error}`)
      // a timeout loses one ping; anything else loses the connection
      if (Result.isFailure(result) && result.failure.reason._tag !== "Timeout") break
    }
    if (seq < options.count && options.interval > 0) yield* Effect.sleep(Duration.millis(options.interval))
  }

  const rtts = replies.flatMap((reply) => reply.rttMillis === undefined ? [] : [reply.rttMillis])
  const summary = Stats.summarize(rtts)
  const received = rtts.length
  const lost = options.count - received
  const lossPercent = Math.round((lost / options.count) * 1000) / 10
  if (options.json) {
    yield* Console.log(JSON.stringify({
      target: target.label,
      transport: info?.transport ?? null,
      profile: info?.profile ?? null,
      sent: replies.length,
      received,
      lost,
      lossPercent,
      rttMillis: Stats.toJson(summary),
      replies: replies.map((reply) =>
        reply.rttMillis === undefined
          ? { seq: reply.seq, ok: false, error: reply.error }
          : { seq: reply.seq, ok: true, rttMillis: Stats.round3(reply.rttMillis) }
      )
    }))
  } else {
    yield* Console.log(`--- ${target.label} ping statistics ---`)
    const unsent = options.count - replies.length
    yield* Console.log(
      `${replies.length} sent, ${received} received, ${lossPercent}% loss${
        unsent > 0 ? ` (${unsent} not sent: connection lost)` : ""
      }`
    )
    if (received > 0) {
      yield* Console.log(
        `rtt min/mean/p50/p90/p99/max = ${
          [summary.min, summary.mean, summary.p50, summary.p90, summary.p99, summary.max].map(Stats.millis).join("/")
        } ms`
      )
    }
  }
  if (lost > 0) return yield* CliFailure.failed(`${lost} of ${options.count} pings got no reply`)
}, Effect.scoped, Effect.provide(Crypto.layerDefault))

/**
 * The `ping` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("ping", flags, handler).pipe(
  Command.withDescription("Send Pings to a daemon and report round-trip times; exit 0 only if every Ping was answered"),
  Command.withExamples([
    { command: "np ping --address 127.0.0.1:9000 --count 10 --interval 100", description: "10 pings, 100 ms apart" },
    { command: "np ping --uds /tmp/np.sock --json", description: "over a Unix socket, JSON summary" },
    { command: "np ping --address 127.0.0.1:9443 --pin <sha256>", description: "over TLS, pinning the certificate" },
    {
      command: "np ping --address 127.0.0.1:9000 --server-key keys/identity.pub",
      description: "extended profile, pinning the daemon's identity (a key file or its sha256: fingerprint)"
    }
  ])
)
