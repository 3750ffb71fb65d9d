/**
 * Round-trip statistics and number formatting for the `np` commands.
 *
 * @since 0.1.0
 */

/**
 * A summary of round-trip times, in milliseconds (all `0` when there are none).
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly count: number
  readonly min: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * The `q` quantile (0 < q ≤ 1) of sorted values, by the nearest-rank method.
 *
 * @category statistics
 * @since 0.1.0
 */
export const quantile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]
}

/**
 * Summarizes values (they need not be sorted; they are not modified).
 *
 * @category statistics
 * @since 0.1.0
 */
export const summarize = (values: ArrayLike<number>): Summary => {
  const sorted = Float64Array.from(values).sort()
  const count = sorted.length
  if (count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }
  let sum = 0
  for (let i = 0; i < count; i++) sum += sorted[i]
  return {
    count,
    min: sorted[0],
    mean: sum / count,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[count - 1]
  }
}

/**
 * Milliseconds with three decimals, like `ping(8)`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const millis = (value: number): string => value.toFixed(3)

/**
 * An integer with thousands separators.
 *
 * @category formatting
 * @since 0.1.0
 */
export const count = (value: number): string => Math.round(value).toLocaleString("en-US")

/**
 * A byte count in B, KiB or MiB.
 *
 * @category formatting
 * @since 0.1.0
 */
export const bytes = (value: number): string =>
  value < 1024
    ? `${value} B`
    : value < 1024 * 1024
    ? `${(value / 1024).toFixed(1)} KiB`
    : `${(value / (1024 * 1024)).toFixed(1)} MiB`

/**
 * Rounds a number of milliseconds to microseconds, for JSON output.
 *
 * @category formatting
 * @since 0.1.0
 */
export const round3 = (value: number): number => Math.round(value * 1000) / 1000

/**
 * A summary rounded for JSON output.
 *
 * @category formatting
 * @since 0.1.0
 */
export const toJson = (summary: Summary): Summary => ({
  count: summary.count,
  min: round3(summary.min),
  mean: round3(summary.mean),
  p50: round3(summary.p50),
  p90: round3(summary.p90),
  p99: round3(summary.p99),
  max: round3(summary.max)
})
