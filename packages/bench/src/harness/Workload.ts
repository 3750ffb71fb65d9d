/**
 * The client-side workloads every contender is measured with. They run in the
 * client process (see `src/client.ts`) against any {@link Driver.ClientDriver}:
 *
 * - `pingpong`: one connection, one request in flight; every round-trip time
 *   is sampled (percentiles) and round trips per second counted.
 * - `window`: one connection, `window` requests in flight, topped back up on
 *   every read (one batched send per read); replies per second and MB/s.
 * - `connect`: a new connection, one round trip and a graceful close, over and
 *   over; connections per second and the latency of each cycle.
 *
 * Each run warms up for `warmupMs`, then measures for `measureMs`, bounded by
 * `maxOps` operations too; a run that stalls fails after a grace period.
 *
 * @since 0.1.0
 */
import type * as Data from "./Data.ts"
import type * as Driver from "./Driver.ts"
import * as Stats from "./Stats.ts"

/**
 * What to run.
 *
 * @category models
 * @since 0.1.0
 */
export type Workload =
  | { readonly kind: "pingpong"; readonly size: number }
  | {
    readonly kind: "window"
    readonly size: number
    readonly window: number
    /** Set: `size` is the application payload (see `Driver.ConnectionOptions`), MB/s counts payload bytes. */
    readonly payload?: Data.Payload | undefined
  }
  | { readonly kind: "connect"; readonly size: number }

/**
 * How long and how much.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  readonly warmupMs: number
  readonly measureMs: number
  /** Upper bound of measured operations (round trips, replies, connections). */
  readonly maxOps: number
  /** Upper bound of latency samples kept (default 1,000,000). */
  readonly maxSamples?: number | undefined
}

/**
 * The outcome of one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunResult {
  /** Measured operations: round trips (`pingpong`), replies (`window`) or connections (`connect`). */
  readonly ops: number
  readonly elapsedMs: number
  readonly opsPerSec: number
  /** Reply bytes per second in one direction, `ops × size / elapsed`, decimal MB. */
  readonly mbPerSec: number
  /** Per operation, in microseconds (`pingpong` and `connect` only). */
  readonly latencyUs?: Stats.LatencySummary | undefined
  readonly warmupOps: number
  readonly info?: Readonly<Record<string, string>> | undefined
}

const STALL_GRACE_MS = 10_000

const result = (
  ops: number,
  elapsedMs: number,
  size: number,
  warmupOps: number,
  info: Readonly<Record<string, string>> | undefined,
  latencyUs?: Stats.LatencySummary
): RunResult => {
  const opsPerSec = elapsedMs > 0 ? (ops * 1000) / elapsedMs : Number.NaN
  return {
    ops,
    elapsedMs,
    opsPerSec,
    mbPerSec: (opsPerSec * size) / 1e6,
    ...(latencyUs === undefined ? {} : { latencyUs }),
    warmupOps,
    ...(info === undefined ? {} : { info })
  }
}

/** Sequential request/reply on one connection, sampling every round trip. */
const pingPong = async (
  driver: Driver.ClientDriver,
  address: Driver.Address,
  size: number,
  limits: Limits
): Promise<RunResult> => {
  const samples = new Float64Array(Math.min(limits.maxSamples ?? 1_000_000, limits.maxOps))
  let filled = 0
  let ops = 0
  let warmupOps = 0
  let measuring = false
  let sentAt = 0
  let t0 = 0
  let t1 = 0
  const started = performance.now()
  const warmEnd = started + limits.warmupMs
  let end = Number.POSITIVE_INFINITY
  let finish: () => void = () => {}
  let fail: (error: Error) => void = () => {}
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  let done = false
  const connection = await driver.connect(address, { size }, {
    onReplies: (count) => {
      if (done) return
      const now = performance.now()
      if (measuring) {
        ops += count
        if (filled < samples.length) samples[filled++] = (now - sentAt) * 1000
        if (now >= end || ops >= limits.maxOps) {
          done = true
          t1 = now
          finish()
          return
        }
      } else {
        warmupOps += count
        if (now >= warmEnd) {
          measuring = true
          t0 = performance.now()
          end = t0 + limits.measureMs
        }
      }
      sentAt = performance.now()
      connection.send(1)
    },
    onError: (error) => {
      if (!done) fail(error)
    }
  })
  const stall = setTimeout(
    () => fail(new Error("pingpong stalled")),
    limits.warmupMs + limits.measureMs + STALL_GRACE_MS
  )
  try {
    sentAt = performance.now()
    connection.send(1)
    await finished
  } finally {
    done = true
    clearTimeout(stall)
    await connection.close().catch(() => undefined)
  }
  return result(ops, t1 - t0, size, warmupOps, connection.info, Stats.latency(samples, filled))
}

/** `window` requests in flight on one connection, topped up on every read. */
const windowed = async (
  driver: Driver.ClientDriver,
  address: Driver.Address,
  size: number,
  window: number,
  payload: Data.Payload | undefined,
  limits: Limits
): Promise<RunResult> => {
  let inFlight = 0
  let ops = 0
  let warmupOps = 0
  let measuring = false
  let stopping = false
  let t0 = 0
  let t1 = 0
  const started = performance.now()
  const warmEnd = started + limits.warmupMs
  let end = Number.POSITIVE_INFINITY
  let drained: () => void = () => {}
  let fail: (error: Error) => void = () => {}
  const finished = new Promise<void>((resolve, reject) => {
    drained = resolve
    fail = reject
  })
  let closed = false
  const connection = await driver.connect(address, payload === undefined ? { size } : { size, payload }, {
    onReplies: (count) => {
      inFlight -= count
      if (stopping) {
        if (inFlight <= 0) drained()
        return
      }
      const now = performance.now()
      if (measuring) {
        ops += count
        if (now >= end || ops >= limits.maxOps) {
          t1 = now
          stopping = true
          if (inFlight <= 0) drained()
          return
        }
      } else {
        warmupOps += count
        if (now >= warmEnd) {
          measuring = true
          t0 = now
          end = t0 + limits.measureMs
        }
      }
      const refill = window - inFlight
      if (refill > 0) {
        inFlight += refill
        connection.send(refill)
      }
    },
    onError: (error) => {
      if (!closed) fail(error)
    }
  })
  const stall = setTimeout(
    () => fail(new Error(`window stalled with ${inFlight} in flight`)),
    limits.warmupMs + limits.measureMs + STALL_GRACE_MS
  )
  try {
    inFlight = window
    connection.send(window)
    await finished
  } finally {
    closed = true
    clearTimeout(stall)
    await connection.close().catch(() => undefined)
  }
  return result(ops, t1 - t0, size, warmupOps, connection.info)
}

/** Rejects after `ms` unless `promise` settles first. */
const within = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/** Connect, one round trip, close — repeatedly. */
const connectCycle = async (
  driver: Driver.ClientDriver,
  address: Driver.Address,
  size: number,
  limits: Limits
): Promise<RunResult> => {
  const samples = new Float64Array(Math.min(limits.maxSamples ?? 1_000_000, limits.maxOps))
  let filled = 0
  let info: Readonly<Record<string, string>> | undefined = undefined
  const once = async (): Promise<void> => {
    let replied: () => void = () => {}
    let failed: (error: Error) => void = () => {}
    let closing = false
    const reply = new Promise<void>((resolve, reject) => {
      replied = resolve
      failed = reject
    })
    const connection = await driver.connect(address, { size }, {
      onReplies: () => replied(),
      onError: (error) => {
        if (!closing) failed(error)
      }
    })
    info ??= connection.info
    connection.send(1)
    try {
      await reply
    } finally {
      closing = true
      await connection.close()
    }
  }
  const started = performance.now()
  const warmEnd = started + limits.warmupMs
  let warmupOps = 0
  while (performance.now() < warmEnd && warmupOps < limits.maxOps) {
    await within(once(), STALL_GRACE_MS, "connect cycle")
    warmupOps++
  }
  const t0 = performance.now()
  const end = t0 + limits.measureMs
  let ops = 0
  let now = t0
  while (now < end && ops < limits.maxOps) {
    const before = now
    await within(once(), STALL_GRACE_MS, "connect cycle")
    now = performance.now()
    if (filled < samples.length) samples[filled++] = (now - before) * 1000
    ops++
  }
  return result(ops, now - t0, size, warmupOps, info, Stats.latency(samples, filled))
}

/**
 * Runs one workload against a driver.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (
  driver: Driver.ClientDriver,
  address: Driver.Address,
  workload: Workload,
  limits: Limits
): Promise<RunResult> => {
  switch (workload.kind) {
    case "pingpong":
      return pingPong(driver, address, workload.size, limits)
    case "window":
      return windowed(driver, address, workload.size, workload.window, workload.payload, limits)
    case "connect":
      return connectCycle(driver, address, workload.size, limits)
  }
}
