/**
 * `npm run bench:core`: micro-benchmarks of the codec hot paths.
 *
 * - Packet encode (`Packet.encode`) and decode through the streaming decoder
 *   (`PacketCodec.PacketDecoder.feed` of one whole frame: the payload comes
 *   out as a view, no copy) for payloads of 64 B, 512 B, 4 KiB, 64 KiB and
 *   1 MiB.
 * - bincode encode/decode (`MessageCodec`) of each `Message` variant: Ping,
 *   Pong, SecureHandshakeInit, SecureHandshakeResponse, SecureHandshakeConfirm,
 *   Echo of 11 and of 1024 characters, Disconnect, Custom with 1 KiB payload.
 *
 * Every case is warmed up, then measured in interleaved rounds of fixed
 * duration; the figures are medians over rounds (ops/s, ns/op, MB/s of
 * payload or encoded bytes). Bounded: ≤ 60 s, `--quick` ≤ 15 s. Prints a
 * table and writes `bench/core.md` and `bench/core.json` (`--out dir` to
 * change, `--no-write` to skip).
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"
import * as Result from "effect/Result"
import * as Measure from "./harness/Measure.ts"
import * as Progress from "./harness/Progress.ts"
import * as Report from "./harness/Report.ts"
import * as Stats from "./harness/Stats.ts"

const { values } = Util.parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    "no-write": { type: "boolean", default: false }
  }
})
const quick = values.quick === true
const started = performance.now()
const settings = quick
  ? { rounds: 3, roundMs: 100, warmupMs: 60, budgetMs: 13_000 }
  : { rounds: 5, roundMs: 300, warmupMs: 120, budgetMs: 55_000 }

// -----------------------------------------------------------------------------
// cases
// -----------------------------------------------------------------------------

const filled = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

const packetSizes: ReadonlyArray<number> = [64, 512, 4096, 65536, 1048576]

const packetCases: Array<Measure.Case> = packetSizes.flatMap((size): Array<Measure.Case> => {
  const packet = Packet.make(filled(size, size))
  const frame = Packet.encode(packet)
  const decoder = PacketCodec.makeDecoder()
  const out: Array<Packet.Packet> = []
  return [
    { name: `encode ${Stats.formatSize(size)}`, group: "packet", bytes: size, fn: () => Packet.encode(packet) },
    {
      name: `decode ${Stats.formatSize(size)}`,
      group: "packet",
      bytes: size,
      fn: () => {
        out.length = 0
        decoder.feed(frame, out)
        return out[0]
      }
    }
  ]
})

const messages: ReadonlyArray<readonly [string, Message.Message]> = [
  ["Ping", Message.Ping()],
  ["Pong", Message.Pong()],
  [
    "SecureHandshakeInit",
    Message.SecureHandshakeInit({ pubKey: filled(32, 1), timestamp: 1_764_000_000_000n, nonce: filled(16, 2) })
  ],
  [
    "SecureHandshakeResponse",
    Message.SecureHandshakeResponse({ pubKey: filled(32, 3), nonce: filled(16, 4), nonceVerification: filled(32, 5) })
  ],
  ["SecureHandshakeConfirm", Message.SecureHandshakeConfirm({ nonceVerification: filled(32, 6) })],
  ["Echo 11 chars", Message.Echo({ text: "hello world" })],
  // A flat string (`join`), as a decoded or literal string is; a rope (`repeat().slice()`) encodes ~1.6× slower.
  ["Echo 1024 chars", Message.Echo({ text: Array.from({ length: 1024 }, (_, i) => "abcdefghij klmnopqrstuvwxyz."[i % 28]).join("") })],
  ["Disconnect", Message.Disconnect()],
  ["Custom 1 KiB payload", Message.Custom({ command: "upload-chunk", payload: filled(1024, 7) })]
]

const messageCases: Array<Measure.Case> = messages.flatMap(([name, message]): Array<Measure.Case> => {
  const encoded = MessageCodec.encode(message)
  if (Result.isFailure(encoded)) throw new Error(`cannot encode ${name}`)
  const bytes = encoded.success
  const decoded = MessageCodec.decode(bytes)
  if (Result.isFailure(decoded) || decoded.success._tag !== message._tag) throw new Error(`${name} does not round-trip`)
  return [
    { name: `encode ${name}`, group: "bincode", bytes: bytes.length, fn: () => MessageCodec.encode(message) },
    { name: `decode ${name}`, group: "bincode", bytes: bytes.length, fn: () => MessageCodec.decode(bytes) }
  ]
})

const cases = [...packetCases, ...messageCases]

/** Criterion figures of the Rust crate on the reference machine (rust-peer.md §7). */
const rust: Readonly<Record<string, number>> = {
  "packet/encode 64 B": 37,
  "packet/encode 64 KiB": 2000
}

// -----------------------------------------------------------------------------
// run
// -----------------------------------------------------------------------------

// Per case: warm-up plus its rounds, and an allowance for calibration.
const perCaseMs = settings.warmupMs + settings.rounds * settings.roundMs + 5
const roundMs = perCaseMs * cases.length > settings.budgetMs
  ? Math.max(20, (settings.budgetMs / cases.length - settings.warmupMs - 5) / settings.rounds)
  : settings.roundMs
const progress = Progress.make({ title: "bench:core", total: cases.length * (settings.rounds + 1) })
const results = Measure.run(cases, {
  rounds: settings.rounds,
  roundMs,
  warmupMs: settings.warmupMs,
  maxOpsPerRound: 50_000_000,
  deadline: started + settings.budgetMs,
  onStep: progress.step
})
progress.done()
void Measure.lastValue()

const headers = ["group", "case", "bytes", "ops/s", "ns/op", "MB/s", "ops/s [min–max]", "Rust criterion"]
const align: Array<"l" | "r"> = ["l", "l", "r", "r", "r", "r", "r", "r"]
const rows = results.map((r) => {
  const reference = rust[`${r.group}/${r.name}`]
  return [
    r.group,
    r.name,
    String(r.bytes),
    Stats.formatCount(r.opsPerSec),
    Stats.formatNanos(r.nsPerOp),
    Stats.sig3(r.mbPerSec),
    `${Stats.formatCount(r.min)}–${Stats.formatCount(r.max)}`,
    reference === undefined ? "" : Stats.formatNanos(reference)
  ]
})
const elapsedSec = (performance.now() - started) / 1000
const rounds = Math.max(...results.map((r) => r.rounds.length))
process.stdout.write(`\n${Report.textTable(headers, rows, align)}\n\n`)
process.stdout.write(
  `median of ${rounds} interleaved rounds of ${Stats.sig3(roundMs)} ms per case; ${Stats.sig3(elapsedSec)} s total\n`
)

if (values["no-write"] !== true) {
  const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..")
  const outDir = Path.resolve(values.out ?? Path.join(repoRoot, "bench"))
  Fs.mkdirSync(outDir, { recursive: true })
  const cpus = Os.cpus()
  const meta = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cpus: cpus.length,
    loadavg: Os.loadavg(),
    rounds,
    roundMs,
    warmupMs: settings.warmupMs,
    elapsedSec
  }
  const markdown = [
    "# Codec micro-benchmarks",
    "",
    `Generated by \`npm run bench:core${quick ? " -- --quick" : ""}\` on ${meta.date} (${meta.mode} mode). ` +
    `Node ${meta.node} (V8 ${meta.v8}), ${meta.platform}, ${meta.cpus} × ${meta.cpu}, ` +
    `load average at start ${meta.loadavg.map((l) => l.toFixed(2)).join(" / ")}.`,
    "",
    `Each case is warmed up for ${meta.warmupMs} ms, then measured in ${rounds} interleaved rounds of ` +
    `${Stats.sig3(roundMs)} ms; figures are medians over rounds, [min–max] the spread. ` +
    "Packet sizes are payload sizes (the frame adds a 9-byte header); packet MB/s counts payload bytes, " +
    "bincode MB/s counts encoded bytes. Decode feeds one whole frame to the streaming " +
    "`PacketCodec.PacketDecoder`, so the payload is a view (no copy).",
    "",
    Report.table(headers, rows, align),
    "",
    "Rust criterion figures are from the crate's own benchmarks on the reference machine (short 2 s runs, " +
    "rust-peer.md §7); its bincode serialize / deserialize of one message takes 223 / 64 ns.",
    ""
  ].join("\n")
  Fs.writeFileSync(Path.join(outDir, "core.md"), markdown)
  Fs.writeFileSync(Path.join(outDir, "core.json"), JSON.stringify({ meta, results }, null, 2) + "\n")
  process.stdout.write(`wrote ${Path.relative(process.cwd(), Path.join(outDir, "core.md"))} and core.json\n`)
}
