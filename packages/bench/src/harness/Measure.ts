/**
 * Time-boxed measurement of synchronous functions (micro-benchmarks): every
 * case is warmed up, then measured for a fixed time in several interleaved
 * rounds (case A, B, C, then A, B, C again …), so slow drifts of a noisy
 * machine hit every case alike. Each round is bounded by time **and** by an
 * operation count; the whole run is bounded by a deadline.
 *
 * The reported figure of a case is the median of its per-round rates.
 *
 * @since 0.1.0
 */
import * as Stats from "./Stats.ts"

/**
 * One thing to measure. `fn` is called once per operation; its result is
 * kept in a sink so the optimizer cannot drop the work.
 *
 * @category models
 * @since 0.1.0
 */
export interface Case {
  readonly name: string
  /** A grouping label for reports, e.g. `"packet"`. */
  readonly group: string
  /** Bytes processed by one operation, for MB/s (0 if meaningless). */
  readonly bytes: number
  readonly fn: () => unknown
}

/**
 * The measurement of one case in one round.
 *
 * @category models
 * @since 0.1.0
 */
export interface Round {
  readonly ops: number
  readonly elapsedMs: number
  readonly opsPerSec: number
}

/**
 * The result of one case over all rounds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Result {
  readonly name: string
  readonly group: string
  readonly bytes: number
  readonly rounds: ReadonlyArray<Round>
  /** Median of the per-round rates. */
  readonly opsPerSec: number
  /** `1e9 / opsPerSec`. */
  readonly nsPerOp: number
  /** `opsPerSec × bytes / 1e6` (decimal megabytes). */
  readonly mbPerSec: number
  readonly min: number
  readonly max: number
}

/**
 * Options of {@link run}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly rounds: number
  readonly roundMs: number
  readonly warmupMs: number
  /** Upper bound of operations in one round (and in the warm-up). */
  readonly maxOpsPerRound: number
  /** Absolute `performance.now()` time after which no new round starts. */
  readonly deadline: number
  /** Called before each measured case, e.g. to drive a progress bar. */
  readonly onStep?: ((label: string) => void) | undefined
}

let sink: unknown = undefined

/**
 * The last value a measured function returned (reading it keeps the work
 * observable; it has no other use).
 *
 * @category utils
 * @since 0.1.0
 */
export const lastValue = (): unknown => sink

/**
 * Runs `fn` in batches of `batch` calls until `durationMs` elapsed or
 * `maxOps` calls were made (the last batch completes, so `ops` may exceed
 * `maxOps` by less than one batch).
 *
 * @category measuring
 * @since 0.1.0
 */
export const timed = (fn: () => unknown, durationMs: number, maxOps: number, batch: number): Round => {
  const start = performance.now()
  const deadline = start + durationMs
  let ops = 0
  let now = start
  while (ops < maxOps) {
    for (let i = 0; i < batch; i++) sink = fn()
    ops += batch
    now = performance.now()
    if (now >= deadline) break
  }
  const elapsedMs = now - start
  return { ops, elapsedMs, opsPerSec: elapsedMs > 0 ? (ops * 1000) / elapsedMs : Number.NaN }
}

/** The batch size that makes one batch last about `targetMs`. */
const calibrate = (fn: () => unknown, targetMs: number): number => {
  let batch = 1
  for (let i = 0; i < 30; i++) {
    const start = performance.now()
    for (let j = 0; j < batch; j++) sink = fn()
    const elapsed = performance.now() - start
    if (elapsed >= targetMs / 4 || batch >= 1 << 20) {
      return Math.max(1, Math.min(1 << 20, Math.round((batch * targetMs) / Math.max(elapsed, 1e-3))))
    }
    batch *= 4
  }
  return batch
}

/**
 * Measures every case in interleaved rounds and returns one result per case,
 * in the order given. The case order is rotated every round.
 *
 * @category measuring
 * @since 0.1.0
 */
export const run = (cases: ReadonlyArray<Case>, options: Options): Array<Result> => {
  const batches = cases.map((c) => {
    options.onStep?.(`warm-up ${c.group} ${c.name}`)
    const batch = calibrate(c.fn, 0.5)
    timed(c.fn, options.warmupMs, options.maxOpsPerRound, batch)
    return batch
  })
  const rounds: Array<Array<Round>> = cases.map(() => [])
  for (let r = 0; r < options.rounds; r++) {
    if (r > 0 && performance.now() >= options.deadline) break
    for (let k = 0; k < cases.length; k++) {
      const i = (k + r) % cases.length
      const c = cases[i]
      options.onStep?.(`round ${r + 1}/${options.rounds} ${c.group} ${c.name}`)
      rounds[i].push(timed(c.fn, options.roundMs, options.maxOpsPerRound, batches[i]))
    }
  }
  return cases.map((c, i) => summarize(c, rounds[i]))
}

/**
 * The result of a case from its rounds (pure).
 *
 * @category measuring
 * @since 0.1.0
 */
export const summarize = (c: Pick<Case, "name" | "group" | "bytes">, rounds: ReadonlyArray<Round>): Result => {
  const rates = rounds.map((r) => r.opsPerSec)
  const opsPerSec = Stats.median(rates)
  const [min, max] = Stats.range(rates)
  return {
    name: c.name,
    group: c.group,
    bytes: c.bytes,
    rounds,
    opsPerSec,
    nsPerOp: 1e9 / opsPerSec,
    mbPerSec: (opsPerSec * c.bytes) / 1e6,
    min,
    max
  }
}
