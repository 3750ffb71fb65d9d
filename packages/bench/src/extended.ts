/**
 * The cost of the extended profile against the compatible one, measured in
 * the same run over loopback TCP, both daemons in this process:
 *
 * - **compatible**: `Session.secureClient` ↔ `Daemon` without `security`
 *   (the crate's profile, byte for byte);
 * - **extended**: `ExtendedSession.client` with the server's identity pinned
 *   ↔ `Daemon` with an identity (Ed25519 signature, key confirmation,
 *   per-direction keys, sequence numbers; compression offered by neither).
 * - **extended+lz4**: the same with LZ4 negotiated (64-byte messages stay
 *   under the 512-byte threshold: this shows the negotiation costs nothing;
 *   the 64 KiB filler payload is very compressible, so that column mostly shows LZ4);
 * - **extended+aes**: the same as **extended** with AES-256-GCM negotiated
 *   for the data frames (`ciphers: ["aes-256-gcm"]` on both sides) instead of
 *   XChaCha20-Poly1305.
 *
 * Figures, each a median over interleaved rounds (every profile once per
 * round, in a rotating order), with the ratio to the compatible profile (the
 * median of the per-round ratios):
 *
 * - RTT: one Echo request at a time on one session, median latency;
 * - 64 B pipelined: Echo messages whose bincode is 64 bytes, 1,024 in flight
 *   (16 writes of 64), replies per second;
 * - 64 KiB windowed: `Custom { "ECHO" }` requests with a binary payload (a
 *   frame of exactly 64 KiB in the compatible profile), 64 in flight (a new
 *   one sent for each reply), MB/s of replies;
 * - handshakes/s: connect, handshake, close, one after another.
 *
 * A last line compares extended+aes with extended (XChaCha20-Poly1305): the
 * median of the per-round ratios.
 *
 * Usage: `./node_modules/.bin/node packages/bench/src/extended.ts [--quick]`
 * (about 70 s, `--quick` about 20 s).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Identity from "@network-protocol/core/Identity"
import * as Message from "@network-protocol/core/Message"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Daemon from "@network-protocol/service/Daemon"
import * as ExtendedSession from "@network-protocol/service/ExtendedSession"
import * as Session from "@network-protocol/service/Session"
import * as Tcp from "@network-protocol/transport/Tcp"

interface Settings {
  readonly rounds: number
  readonly rttCount: number
  readonly pipelinedMs: number
  readonly windowedMs: number
  readonly handshakeMs: number
}

interface Profile {
  readonly name: string
  readonly open: (port: number) => Effect.Effect<Session.Session, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope>
  readonly port: number
}

interface Figures {
  readonly rttMicros: number
  readonly pipelined: number
  readonly windowedMBps: number
  readonly handshakes: number
}

const host = "127.0.0.1"
const BATCH = 64
const BATCHES_IN_FLIGHT = 16
// bincode of Echo = 4 (index) + 8 (length) + text: 52 characters make 64 bytes.
const MESSAGE = Message.Echo({ text: "x".repeat(52) })
const BATCH_MESSAGES = Array.from({ length: BATCH }, () => MESSAGE) as unknown as Arr.NonEmptyReadonlyArray<
  Message.Message
>
const LARGE_SIZE = 64 * 1024
const WINDOW = 64
// Binary payloads (no UTF-8 text to encode and decode: the cost is framing and crypto), a compatible-profile
// frame of exactly 64 KiB: header 9, nonce 24, tag 16, Custom { "ECHO" } bincode 24 around the payload.
const LARGE = Message.Custom({ command: "ECHO", payload: new Uint8Array(LARGE_SIZE - 73).fill(0x61) })
const LARGE_MESSAGES: ReadonlyArray<Message.Message> = Array.from({ length: WINDOW }, () => LARGE)

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const now = () => performance.now()

/** Receives until `count` messages arrived (a server Ping is answered, not counted). */
const drain = (session: Session.Session, count: number) =>
  Effect.gen(function*() {
    let left = count
    while (left > 0) {
      const messages = yield* session.receive
      for (const message of messages) {
        if (message._tag === "Ping") yield* session.send([Message.Pong()])
        else left--
      }
    }
  })

const measureRtt = (profile: Profile, count: number) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* profile.open(profile.port)
    const samples: Array<number> = []
    for (let i = 0; i < count + 20; i++) {
      const start = now()
      yield* session.send([MESSAGE])
      yield* drain(session, 1)
      if (i >= 20) samples.push((now() - start) * 1000)
    }
    yield* session.close
    return median(samples)
  }))

const measurePipelined = (profile: Profile, ms: number) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* profile.open(profile.port)
    const burst = Effect.gen(function*() {
      for (let i = 0; i < BATCHES_IN_FLIGHT; i++) yield* session.send(BATCH_MESSAGES)
      yield* drain(session, BATCH * BATCHES_IN_FLIGHT)
    })
    yield* burst // warm-up
    let messages = 0
    const start = now()
    let end = start
    while (end - start < ms) {
      yield* burst
      messages += BATCH * BATCHES_IN_FLIGHT
      end = now()
    }
    yield* session.close
    return messages / ((end - start) / 1000)
  }))

const measureWindowed = (profile: Profile, ms: number) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* profile.open(profile.port)
    const send = (count: number) =>
      session.send(LARGE_MESSAGES.slice(0, count) as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
    yield* send(WINDOW) // warm-up: one window
    yield* drain(session, WINDOW)
    yield* send(WINDOW)
    let inFlight = WINDOW
    let replies = 0
    const start = now()
    let end = start
    while (end - start < ms) {
      const messages = yield* session.receive
      let got = 0
      for (const message of messages) {
        if (message._tag === "Ping") yield* session.send([Message.Pong()])
        else got++
      }
      replies += got
      inFlight -= got
      end = now()
      if (got > 0 && end - start < ms) {
        yield* send(got)
        inFlight += got
      }
    }
    yield* drain(session, inFlight)
    yield* session.close
    return (replies * LARGE_SIZE) / ((end - start) / 1000) / 1e6
  }))

const measureHandshakes = (profile: Profile, ms: number) =>
  Effect.gen(function*() {
    const once = Effect.scoped(Effect.flatMap(profile.open(profile.port), (session) => session.close))
    for (let i = 0; i < 20; i++) yield* once
    let count = 0
    const start = now()
    let end = start
    while (end - start < ms) {
      yield* once
      count++
      end = now()
    }
    return count / ((end - start) / 1000)
  })

const format = (value: number, digits = 0): string =>
  value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : value >= 1e4 ? `${(value / 1e3).toFixed(1)}k` : value.toFixed(digits)

const main = Effect.gen(function*() {
  const quick = process.argv.includes("--quick")
  const settings: Settings = quick
    ? { rounds: 3, rttCount: 300, pipelinedMs: 300, windowedMs: 300, handshakeMs: 300 }
    : { rounds: 7, rttCount: 1000, pipelinedMs: 700, windowedMs: 700, handshakeMs: 700 }
  const crypto = yield* Crypto.Crypto
  const identity = Identity.generate()
  const listen = { tcp: { host, port: 0 } }
  const compatible = yield* Daemon.make({ listen })
  // AES-256-GCM first: chosen for clients that offer it, XChaCha20-Poly1305 for the others
  const extended = yield* Daemon.make({
    listen,
    security: { identity, compression: ["lz4"], ciphers: ["aes-256-gcm", "xchacha20-poly1305"] }
  })
  const connect = (port: number) => Tcp.connect({ host, port })
  const profiles: ReadonlyArray<Profile> = [
    {
      name: "compatible",
      port: compatible.port ?? 0,
      open: (port) => Effect.flatMap(connect(port), (c) => Session.secureClient(c))
    },
    {
      name: "extended",
      port: extended.port ?? 0,
      open: (port) => Effect.flatMap(connect(port), (c) => ExtendedSession.client(c, { pin: identity.fingerprint }))
    },
    {
      name: "extended+lz4",
      port: extended.port ?? 0,
      open: (port) =>
        Effect.flatMap(connect(port), (c) => ExtendedSession.client(c, { pin: identity.fingerprint, compression: ["lz4"] }))
    },
    {
      name: "extended+aes",
      port: extended.port ?? 0,
      open: (port) =>
        Effect.flatMap(connect(port), (c) => ExtendedSession.client(c, { pin: identity.fingerprint, ciphers: ["aes-256-gcm"] }))
    }
  ]
  console.log(
    `Extended vs compatible profile — loopback TCP, client and daemons in one process; crypto ${crypto.name}; ` +
      `Node ${process.version}; ${settings.rounds} interleaved rounds, medians`
  )
  const perRound: Map<string, Array<Figures>> = new Map(profiles.map((p) => [p.name, []]))
  for (let round = 0; round < settings.rounds; round++) {
    const order = profiles.map((_, i) => profiles[(i + round) % profiles.length])
    for (const profile of order) {
      const rttMicros = yield* measureRtt(profile, settings.rttCount)
      const pipelined = yield* measurePipelined(profile, settings.pipelinedMs)
      const windowedMBps = yield* measureWindowed(profile, settings.windowedMs)
      const handshakes = yield* measureHandshakes(profile, settings.handshakeMs)
      perRound.get(profile.name)?.push({ rttMicros, pipelined, windowedMBps, handshakes })
    }
    process.stderr.write(`round ${round + 1}/${settings.rounds} done\n`)
  }
  const base = perRound.get("compatible") ?? []
  const rows: Array<ReadonlyArray<string>> = [
    ["profile", "RTT µs", "×", "64 B pipelined msg/s", "×", "64 KiB windowed MB/s", "×", "handshakes/s", "×"]
  ]
  const ratioOf = (figures: ReadonlyArray<Figures>, to: ReadonlyArray<Figures>) => (pick: (f: Figures) => number) =>
    median(figures.map((f, i) => pick(f) / pick(to[i])))
  for (const profile of profiles) {
    const figures = perRound.get(profile.name) ?? []
    const ratio = ratioOf(figures, base)
    rows.push([
      profile.name,
      median(figures.map((f) => f.rttMicros)).toFixed(1),
      ratio((f) => f.rttMicros).toFixed(2),
      format(median(figures.map((f) => f.pipelined))),
      ratio((f) => f.pipelined).toFixed(2),
      median(figures.map((f) => f.windowedMBps)).toFixed(0),
      ratio((f) => f.windowedMBps).toFixed(2),
      format(median(figures.map((f) => f.handshakes))),
      ratio((f) => f.handshakes).toFixed(2)
    ])
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  for (const row of rows) console.log(row.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  "))
  console.log("(× = median of the per-round ratios to the compatible profile; RTT: lower is better)")
  const aes = ratioOf(perRound.get("extended+aes") ?? [], perRound.get("extended") ?? [])
  console.log(
    `extended+aes (AES-256-GCM) vs extended (XChaCha20-Poly1305): RTT ×${aes((f) => f.rttMicros).toFixed(2)}, ` +
      `64 B pipelined ×${aes((f) => f.pipelined).toFixed(2)}, 64 KiB windowed ×${aes((f) => f.windowedMBps).toFixed(2)}, ` +
      `handshakes ×${aes((f) => f.handshakes).toFixed(2)}`
  )
})

const scope = await Effect.runPromise(Scope.make())
await Effect.runPromise(main.pipe(Scope.provide(scope), Effect.provide(Crypto.layerDefault)))
await Effect.runPromise(Scope.close(scope, Exit.void))
