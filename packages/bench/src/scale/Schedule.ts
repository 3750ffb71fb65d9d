/**
 * The send schedule of the scale load: every connection sends once per
 * second, and the sends of all connections — across all client processes —
 * are spread evenly over the second.
 *
 * Client process `index` of `clients` holds `count` connections; its
 * connection `j` has the global slot `j × clients + index` among
 * `total = count × clients`, and sends at `slot / total` of every second.
 * Requests are numbered in send order: request `r` goes to connection
 * `r mod count` in second `⌊r / count⌋`.
 *
 * @since 0.1.0
 */

/**
 * One client process's share of the load.
 *
 * @category models
 * @since 0.1.0
 */
export interface Schedule {
  /** Connections of this process. */
  readonly count: number
  /** This process's number, `0 ≤ index < clients`. */
  readonly index: number
  /** Client processes in the run. */
  readonly clients: number
  /** Seconds every connection sends for. */
  readonly seconds: number
}

/**
 * The requests of a process over the whole load.
 *
 * @category schedule
 * @since 0.1.0
 */
export const planned = (schedule: Schedule): number => schedule.count * schedule.seconds

/**
 * How many requests of the process are due `t` ms after the start.
 *
 * @category schedule
 * @since 0.1.0
 */
export const dueAt = (schedule: Schedule, t: number): number => {
  const { clients, count, index, seconds } = schedule
  if (t < 0) return 0
  const second = Math.floor(t / 1000)
  if (second >= seconds) return count * seconds
  const slot = ((t - second * 1000) * count * clients) / 1000
  const within = Math.min(count, Math.max(0, Math.floor((slot - index) / clients) + 1))
  return second * count + within
}

/**
 * When request `r` of the process is due, ms after the start.
 *
 * @category schedule
 * @since 0.1.0
 */
export const scheduledAt = (schedule: Schedule, r: number): number => {
  const { clients, count, index } = schedule
  const j = r % count
  return Math.floor(r / count) * 1000 + ((j * clients + index) * 1000) / (count * clients)
}
