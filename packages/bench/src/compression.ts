/**
 * Compression benchmark: MB/s of compression and decompression and the
 * compression ratio of each `Compression` implementation, for LZ4 (the
 * crate's size-prefixed block) and Zstd (level 1, the crate's level), on
 * JSON-like text and on random bytes of 64 B, 4 KiB, 64 KiB and 1 MiB.
 *
 * Cases are measured in interleaved rounds (every case once per round, so
 * drift of a noisy machine spreads evenly) and each figure is the median over
 * the rounds. The whole run is bounded to about 60 s (`--quick`: about 10 s).
 *
 * Run with `node packages/bench/src/compression.ts [--quick]` (Node 24).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as zlib from "node:zlib"
import * as Compression from "../../core/src/Compression.ts"
import { jsonLike, randomBytes } from "./harness/Data.ts"

/**
 * Benchmark options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Interleaved rounds (median over them). */
  readonly rounds: number
  /** Time spent on one case in one round, in milliseconds. */
  readonly caseMillis: number
  /** Hard bound on the whole run, in milliseconds. */
  readonly budgetMillis: number
}

/**
 * One measured case.
 *
 * @category models
 * @since 0.1.0
 */
export interface Row {
  readonly implementation: string
  readonly kind: Compression.Kind
  readonly data: "json" | "random"
  readonly size: number
  /** Uncompressed size / compressed size (the LZ4 size prefix included). */
  readonly ratio: number
  /** Operations per second, median over rounds. */
  readonly compressOps: number
  readonly decompressOps: number
  /**
   * Zstd only: decompressions per second of a frame that does not declare its
   * content size, as the crate's streaming encoder writes them.
   */
  readonly decompressUnsizedOps: number | undefined
}

// -----------------------------------------------------------------------------
// measuring
// -----------------------------------------------------------------------------

const equal = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Runs `f` for about `millis` ms (at least once) and returns operations per second. */
const measure = (f: () => unknown, millis: number): number => {
  let ops = 0
  const start = performance.now()
  let now = start
  let batch = 1
  while (now - start < millis) {
    for (let i = 0; i < batch; i++) f()
    ops += batch
    now = performance.now()
    if (now - start < millis / 20) batch *= 2
  }
  return ops / ((now - start) / 1000)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

interface Case {
  readonly implementation: string
  readonly kind: Compression.Kind
  readonly data: "json" | "random"
  readonly input: Uint8Array
  readonly compressed: Uint8Array
  readonly compress: () => unknown
  readonly decompress: () => unknown
  readonly decompressUnsized: (() => unknown) | undefined
  readonly compressRuns: Array<number>
  readonly decompressRuns: Array<number>
  readonly unsizedRuns: Array<number>
}

/** A level-1 zstd frame without Frame_Content_Size, like the crate's. */
const unsizedFrame = (input: Uint8Array): Uint8Array =>
  zlib.zstdCompressSync(input, {
    params: { [zlib.constants.ZSTD_c_compressionLevel]: 1, [zlib.constants.ZSTD_c_contentSizeFlag]: 0 }
  })

/**
 * The implementations measured: portable, native with its default tuning,
 * and native with every LZ4 operation forced through `lz4-napi` (to show what
 * the size thresholds buy). Native ones are skipped when the addons do not load.
 *
 * @category benchmarks
 * @since 0.1.0
 */
export const implementations = (): ReadonlyArray<readonly [string, Compression.Compression["Service"]]> => {
  const list: Array<readonly [string, Compression.Compression["Service"]]> = [
    ["portable", Compression.makePortable()]
  ]
  const native = Effect.runSync(Effect.result(Compression.makeNative()))
  if (native._tag === "Success") list.push(["native", native.success])
  const forced = Effect.runSync(
    Effect.result(Compression.makeNative({ lz4CompressNativeFrom: 0, lz4DecompressNativeFrom: 0 }))
  )
  if (forced._tag === "Success") list.push(["native, lz4-napi only", forced.success])
  return list
}

/**
 * Runs the benchmark and returns one row per case.
 *
 * @category benchmarks
 * @since 0.1.0
 */
export const run = (options: Options, sizes: ReadonlyArray<number> = [64, 4096, 65536, 1 << 20]): Array<Row> => {
  const deadline = performance.now() + options.budgetMillis
  const cases: Array<Case> = []
  for (const [implementation, service] of implementations()) {
    for (const kind of ["lz4", "zstd"] as const) {
      if (implementation === "native, lz4-napi only" && kind === "zstd") continue
      for (const data of ["json", "random"] as const) {
        for (const size of sizes) {
          const input = data === "json" ? jsonLike(size) : randomBytes(size)
          const compressed = service.compress(kind, input)
          const decoded = service.decompress(kind, compressed)
          if (decoded._tag !== "Success" || !equal(decoded.success, input)) {
            throw new Error(`${implementation} ${kind} ${data} ${size}: round trip failed`)
          }
          const unsized = kind === "zstd" ? unsizedFrame(input) : undefined
          if (unsized !== undefined) {
            const check = service.decompress(kind, unsized)
            if (check._tag !== "Success" || !equal(check.success, input)) {
              throw new Error(`${implementation} ${kind} ${data} ${size}: frame without content size failed`)
            }
          }
          cases.push({
            implementation,
            kind,
            data,
            input,
            compressed,
            compress: () => service.compress(kind, input),
            decompress: () => service.decompress(kind, compressed),
            decompressUnsized: unsized === undefined ? undefined : () => service.decompress(kind, unsized),
            compressRuns: [],
            decompressRuns: [],
            unsizedRuns: []
          })
        }
      }
    }
  }
  // Warm-up: every case briefly, so that the first round is not the JIT's.
  for (const c of cases) {
    measure(c.compress, 5)
    measure(c.decompress, 5)
    if (c.decompressUnsized !== undefined) measure(c.decompressUnsized, 5)
  }
  const roundsStart = performance.now()
  for (let round = 0; round < options.rounds; round++) {
    // Stop early when another round would overrun the budget.
    const perRound = round === 0 ? 0 : (performance.now() - roundsStart) / round
    if (round > 0 && performance.now() + perRound > deadline) break
    for (const c of cases) {
      c.compressRuns.push(measure(c.compress, options.caseMillis))
      c.decompressRuns.push(measure(c.decompress, options.caseMillis))
      if (c.decompressUnsized !== undefined) c.unsizedRuns.push(measure(c.decompressUnsized, options.caseMillis))
    }
  }
  return cases.map((c) => ({
    implementation: c.implementation,
    kind: c.kind,
    data: c.data,
    size: c.input.length,
    ratio: c.input.length / c.compressed.length,
    compressOps: median(c.compressRuns),
    decompressOps: median(c.decompressRuns),
    decompressUnsizedOps: c.unsizedRuns.length > 0 ? median(c.unsizedRuns) : undefined
  }))
}

const sizeLabel = (size: number): string =>
  size >= 1 << 20 ? `${size / (1 << 20)} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`

const rate = (ops: number, size: number): string => {
  const mbs = (ops * size) / 1e6
  return `${mbs >= 100 ? mbs.toFixed(0) : mbs.toFixed(1)} MB/s`
}

const opsLabel = (ops: number): string =>
  ops >= 1e6 ? `${(ops / 1e6).toFixed(2)}M/s` : ops >= 1e3 ? `${(ops / 1e3).toFixed(0)}k/s` : `${ops.toFixed(0)}/s`

/**
 * Formats rows as a Markdown table.
 *
 * @category formatting
 * @since 0.1.0
 */
export const format = (rows: ReadonlyArray<Row>): string => {
  const lines = [
    "| implementation | codec | data | size | compress | decompress | decompress, frame without size | ratio |",
    "|---|---|---|---|---|---|---|---|"
  ]
  for (const row of rows) {
    lines.push(
      `| ${row.implementation} | ${row.kind} | ${row.data} | ${sizeLabel(row.size)} | ` +
        `${rate(row.compressOps, row.size)} (${opsLabel(row.compressOps)}) | ` +
        `${rate(row.decompressOps, row.size)} (${opsLabel(row.decompressOps)}) | ` +
        (row.decompressUnsizedOps === undefined
          ? "– | "
          : `${rate(row.decompressUnsizedOps, row.size)} (${opsLabel(row.decompressUnsizedOps)}) | `) +
        `${row.ratio.toFixed(2)} |`
    )
  }
  return lines.join("\n")
}

const main = () => {
  const quick = process.argv.includes("--quick")
  const options: Options = quick
    ? { rounds: 3, caseMillis: 25, budgetMillis: 12_000 }
    : { rounds: 5, caseMillis: 80, budgetMillis: 55_000 }
  const started = performance.now()
  const services = implementations()
  const names = services.map(([label, service]) => `${label} (${service.name})`).join(", ")
  console.log(`Node ${process.version}; implementations: ${names}`)
  console.log(
    `entropy of the first 512 bytes: json ${Compression.shannonEntropy(jsonLike(512)).toFixed(2)}, ` +
      `random ${Compression.shannonEntropy(randomBytes(512)).toFixed(2)} bits/byte`
  )
  const rows = run(options)
  console.log(format(rows))
  console.log(`\n${options.rounds} interleaved rounds × ${options.caseMillis} ms per case; medians. ` +
    `Total ${((performance.now() - started) / 1000).toFixed(1)} s.`)
}

if (import.meta.main) main()
