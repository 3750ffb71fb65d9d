/**
 * Pure statistics for benchmark results: medians, percentiles of latency
 * samples, per-round paired ratios, and the number formats the reports use.
 *
 * Everything here is deterministic and allocation-light, so it is unit-tested
 * (`test/harness.test.ts`) while the timing code around it is not.
 *
 * @since 0.1.0
 */

/**
 * The median of `values` (the mean of the two middle values for an even
 * count). `NaN` for an empty input; non-finite values are ignored.
 *
 * @category statistics
 * @since 0.1.0
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return Number.NaN
  const mid = n >> 1
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * The smallest and largest finite value, `[NaN, NaN]` if there is none.
 *
 * @category statistics
 * @since 0.1.0
 */
export const range = (values: ReadonlyArray<number>): readonly [min: number, max: number] => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of values) {
    if (!Number.isFinite(v)) continue
    if (v < min) min = v
    if (v > max) max = v
  }
  return min === Number.POSITIVE_INFINITY ? [Number.NaN, Number.NaN] : [min, max]
}

/**
 * The `p`-th percentile (0 ≤ p ≤ 100) of samples that are **already sorted
 * ascending**, by linear interpolation between closest ranks (NumPy's
 * default definition). `NaN` for no samples.
 *
 * @category statistics
 * @since 0.1.0
 */
export const percentileSorted = (sorted: ArrayLike<number>, p: number): number => {
  const n = sorted.length
  if (n === 0) return Number.NaN
  if (n === 1) return sorted[0]
  const clamped = p <= 0 ? 0 : p >= 100 ? 100 : p
  const rank = (clamped / 100) * (n - 1)
  const lo = Math.floor(rank)
  const hi = Math.min(lo + 1, n - 1)
  const fraction = rank - lo
  return sorted[lo] + (sorted[hi] - sorted[lo]) * fraction
}

/**
 * A latency summary: percentiles, mean and extremes of one run's samples.
 *
 * @category models
 * @since 0.1.0
 */
export interface LatencySummary {
  readonly count: number
  readonly mean: number
  readonly min: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * Summarizes latency samples (any unit). Sorts a copy of the first `count`
 * samples (default: all of them), so a preallocated `Float64Array` can be
 * passed with the number of slots actually filled.
 *
 * @category statistics
 * @since 0.1.0
 */
export const latency = (samples: ArrayLike<number>, count: number = samples.length): LatencySummary => {
  const n = Math.max(0, Math.min(count, samples.length))
  const sorted = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    sorted[i] = samples[i]
    sum += samples[i]
  }
  sorted.sort()
  return {
    count: n,
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : sorted[0],
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: n === 0 ? Number.NaN : sorted[n - 1]
  }
}

/**
 * Per-round paired ratios `value[r] / base[r]`, for the rounds where both
 * values are finite and the base is not zero. Rounds are paired by index:
 * index `r` of both arrays must come from the same interleaved round.
 *
 * @category statistics
 * @since 0.1.0
 */
export const pairedRatios = (values: ReadonlyArray<number>, base: ReadonlyArray<number>): Array<number> => {
  const out: Array<number> = []
  const n = Math.min(values.length, base.length)
  for (let r = 0; r < n; r++) {
    const v = values[r]
    const b = base[r]
    if (Number.isFinite(v) && Number.isFinite(b) && b !== 0) out.push(v / b)
  }
  return out
}

/**
 * The median of the per-round paired ratios: the figure to compare two
 * contenders by, because both values of a pair were measured next to each
 * other under the same machine conditions. `NaN` when no round pairs up.
 *
 * @category statistics
 * @since 0.1.0
 */
export const pairedRatio = (values: ReadonlyArray<number>, base: ReadonlyArray<number>): number =>
  median(pairedRatios(values, base))

// -----------------------------------------------------------------------------
// formatting
// -----------------------------------------------------------------------------

/**
 * A count with an SI suffix and about three significant digits:
 * `1234` → `"1.23k"`, `1_900_000` → `"1.90M"`, `37.5` → `"37.5"`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatCount = (value: number): string => {
  if (!Number.isFinite(value)) return "–"
  const abs = Math.abs(value)
  if (abs >= 1e9) return `${sig3(value / 1e9)}G`
  if (abs >= 1e6) return `${sig3(value / 1e6)}M`
  if (abs >= 1e3) return `${sig3(value / 1e3)}k`
  return sig3(value)
}

/**
 * A number with about three significant digits, no exponent:
 * `0.012345` → `"0.0123"`, `12.345` → `"12.3"`, `1234.5` → `"1235"`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const sig3 = (value: number): string => {
  if (!Number.isFinite(value)) return "–"
  const abs = Math.abs(value)
  if (abs === 0) return "0"
  if (abs >= 1000) return Math.round(value).toString()
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  const digits = Math.min(12, 2 - Math.floor(Math.log10(abs)))
  return value.toFixed(digits)
}

/**
 * A duration given in nanoseconds, in the most readable unit:
 * `37` → `"37.0 ns"`, `2045` → `"2.05 µs"`, `2.5e6` → `"2.50 ms"`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatNanos = (nanos: number): string => {
  if (!Number.isFinite(nanos)) return "–"
  const abs = Math.abs(nanos)
  if (abs >= 1e9) return `${sig3(nanos / 1e9)} s`
  if (abs >= 1e6) return `${sig3(nanos / 1e6)} ms`
  if (abs >= 1e3) return `${sig3(nanos / 1e3)} µs`
  return `${sig3(nanos)} ns`
}

/**
 * A ratio as `"×0.75"` (or `"–"` when unknown).
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatRatio = (ratio: number): string => Number.isFinite(ratio) ? `×${ratio.toFixed(2)}` : "–"

/**
 * A byte size in binary units as used in scenario names: `64` → `"64 B"`,
 * `1024` → `"1 KiB"`, `65536` → `"64 KiB"`, `1048576` → `"1 MiB"`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatSize = (bytes: number): string => {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} B`
}
