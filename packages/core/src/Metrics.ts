/**
 * The protocol's metrics: the counters of the Rust crate `network-protocol`
 * 1.2.1 (`src/utils/metrics.rs`, SPEC §12.3) as Effect `Metric`s, plus a
 * handshake-duration and a request round-trip histogram.
 *
 * Every metric id starts with `network_protocol_`. The values live in the
 * `Metric.MetricRegistry` of the running program (the default registry unless
 * one is provided), so any Effect metrics exporter sees them, and tests can
 * isolate them by providing a fresh registry.
 *
 * The daemon and the client record through the small recorder effects of this
 * module (`connectionOpened`, `handshake`, `messagesReceived`, ...). Each
 * recorder is one effect whatever the number of metrics it touches, and the
 * counting ones take a count, so a batch of frames costs one update.
 *
 * Series are split by attributes: run a connection's work under
 * `Metrics.withAttributes({ role: "server", transport: "tcp" })` and every
 * recording inside it lands in that series. `snapshot` sums all series, like
 * the crate's single global `Metrics::snapshot()`; `snapshotWhere` sums only
 * the series carrying given attributes.
 *
 * Unlike the crate, whose metrics are never recorded by any of its code
 * (SPEC §15.2 #26), these are meant to be wired into the data path.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"

// -----------------------------------------------------------------------------
// Metrics
// -----------------------------------------------------------------------------

/**
 * The prefix of every metric id of this module.
 *
 * @category constants
 * @since 0.1.0
 */
export const prefix = "network_protocol_" as const

const counter = (name: string, description: string): Metric.Counter<number> =>
  Metric.counter(`${prefix}${name}`, { description, incremental: true })

/**
 * The protocol's metrics, one field per counter of the crate's `Metrics`
 * struct (ids `network_protocol_<snake_case name>`), plus two histograms.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProtocolMetrics {
  /** Connections accepted (server) or established (client). */
  readonly connectionsTotal: Metric.Counter<number>
  /** Connections currently open. */
  readonly connectionsActive: Metric.Gauge<number>
  /** Handshakes that ended, successfully or not. */
  readonly handshakesTotal: Metric.Counter<number>
  /** Handshakes that established a session. */
  readonly handshakesSuccess: Metric.Counter<number>
  /** Handshakes that failed, timed out or were interrupted. */
  readonly handshakesFailed: Metric.Counter<number>
  /** Messages sent. */
  readonly messagesSent: Metric.Counter<number>
  /** Messages received. */
  readonly messagesReceived: Metric.Counter<number>
  /** Bytes sent on the wire. */
  readonly bytesSent: Metric.Counter<number>
  /** Bytes received from the wire. */
  readonly bytesReceived: Metric.Counter<number>
  /** Compressions attempted. */
  readonly compressionTotal: Metric.Counter<number>
  /** Compressions that succeeded. */
  readonly compressionSuccess: Metric.Counter<number>
  /** Encryptions attempted. */
  readonly encryptionTotal: Metric.Counter<number>
  /** Encryptions that succeeded. */
  readonly encryptionSuccess: Metric.Counter<number>
  /** Replay-cache look-ups that found the nonce (a replay). */
  readonly replayCacheHits: Metric.Counter<number>
  /** Replay-cache look-ups that did not find the nonce. */
  readonly replayCacheMisses: Metric.Counter<number>
  /** Connection-level failures (accept, connect, read, write). */
  readonly connectionErrors: Metric.Counter<number>
  /** Protocol violations (bad frames, failed decryption, unexpected messages). */
  readonly protocolErrors: Metric.Counter<number>
  /** Handshake durations in milliseconds (buckets from 0.25 ms to 16 s). */
  readonly handshakeDuration: Metric.Histogram<number>
  /** Request round-trip times in milliseconds (buckets from 0.05 ms to 52 s). */
  readonly requestRtt: Metric.Histogram<number>
}

/**
 * The protocol's metrics. Read one with `Metric.value(Metrics.metrics.bytesSent)`,
 * or all of them with `snapshot`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics: ProtocolMetrics = {
  connectionsTotal: counter("connections_total", "Connections accepted or established"),
  connectionsActive: Metric.gauge(`${prefix}connections_active`, { description: "Connections currently open" }),
  handshakesTotal: counter("handshakes_total", "Handshakes attempted"),
  handshakesSuccess: counter("handshakes_success", "Handshakes that succeeded"),
  handshakesFailed: counter("handshakes_failed", "Handshakes that failed"),
  messagesSent: counter("messages_sent", "Messages sent"),
  messagesReceived: counter("messages_received", "Messages received"),
  bytesSent: counter("bytes_sent", "Bytes sent"),
  bytesReceived: counter("bytes_received", "Bytes received"),
  compressionTotal: counter("compression_total", "Compressions attempted"),
  compressionSuccess: counter("compression_success", "Compressions that succeeded"),
  encryptionTotal: counter("encryption_total", "Encryptions attempted"),
  encryptionSuccess: counter("encryption_success", "Encryptions that succeeded"),
  replayCacheHits: counter("replay_cache_hits", "Replay cache hits (replays)"),
  replayCacheMisses: counter("replay_cache_misses", "Replay cache misses"),
  connectionErrors: counter("connection_errors", "Connection errors"),
  protocolErrors: counter("protocol_errors", "Protocol errors"),
  handshakeDuration: Metric.histogram(`${prefix}handshake_duration_ms`, {
    description: "Handshake duration in milliseconds",
    boundaries: Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 18 })
  }),
  requestRtt: Metric.histogram(`${prefix}request_rtt_ms`, {
    description: "Request round-trip time in milliseconds",
    boundaries: Metric.exponentialBoundaries({ start: 0.05, factor: 2, count: 22 })
  })
}

const m = metrics

// -----------------------------------------------------------------------------
// Attributes
// -----------------------------------------------------------------------------

/**
 * Attributes splitting the metrics into series. `transport` and `role` are the
 * ones the daemon and the client set; any other string attribute is allowed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Attributes {
  readonly transport?: "tcp" | "unix" | "tls" | (string & {}) | undefined
  readonly role?: "server" | "client" | undefined
  readonly [key: string]: string | undefined
}

const toAttributeSet = (attributes: Attributes): Metric.Metric.AttributeSet => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) {
      out[key] = value
    }
  }
  return out
}

const mergeAttributes = (
  current: Metric.Metric.AttributeSet,
  attributes: Attributes
): Metric.Metric.AttributeSet => ({ ...current, ...toAttributeSet(attributes) })

/**
 * Runs an effect with metric attributes added to every recording made inside
 * it (merged over the attributes already in place).
 *
 * **Example** (Tagging a server connection)
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Metrics } from "@network-protocol/core"
 *
 * const handleConnection = Effect.gen(function*() {
 *   yield* Metrics.connectionOpened
 *   yield* Metrics.messagesReceived(3, 1200)
 * }).pipe(Metrics.withAttributes({ role: "server", transport: "tcp" }))
 * ```
 *
 * @category attributes
 * @since 0.1.0
 */
export const withAttributes: {
  (attributes: Attributes): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, attributes: Attributes): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, attributes: Attributes): Effect.Effect<A, E, R> =>
    Effect.updateService(self, Metric.CurrentMetricAttributes, (current) => mergeShared(current, attributes))
)

/**
 * `mergeAttributes`, with one merged object per pair, shared by every fiber
 * that adds the same attributes over the same ones: a metric resolves its
 * series once per attributes object (by identity), so per-connection copies
 * would make every recording rebuild its key.
 */
const mergeShared = (
  current: Metric.Metric.AttributeSet,
  attributes: Attributes
): Metric.Metric.AttributeSet => {
  let merged = mergedAttributes.get(current)
  if (merged === undefined) {
    merged = new WeakMap()
    mergedAttributes.set(current, merged)
  }
  let result = merged.get(attributes)
  if (result === undefined) {
    result = mergeAttributes(current, attributes)
    merged.set(attributes, result)
  }
  return result
}

const mergedAttributes = new WeakMap<object, WeakMap<Attributes, Metric.Metric.AttributeSet>>()

/**
 * A layer adding metric attributes to everything built on top of it.
 *
 * @category attributes
 * @since 0.1.0
 */
export const layerAttributes = (attributes: Attributes): Layer.Layer<never> =>
  Layer.effect(
    Metric.CurrentMetricAttributes,
    Effect.map(Effect.service(Metric.CurrentMetricAttributes), (current) => mergeAttributes(current, attributes))
  )

// -----------------------------------------------------------------------------
// Start time (uptime)
// -----------------------------------------------------------------------------

const startTimes = new WeakMap<Metric.MetricRegistry, number>()

const startTime = (context: Context.Context<never>): number => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let start = startTimes.get(registry)
  if (start === undefined) {
    start = Context.get(context, Clock.Clock).currentTimeMillisUnsafe()
    startTimes.set(registry, start)
  }
  return start
}

// one primitive per recording (no `contextWith` + `sync` pair): it runs on
// every batch of every connection
const record = (f: (context: Context.Context<never>) => void): Effect.Effect<void> =>
  Effect.withFiberSucceed((fiber) => {
    const context = fiber.context
    startTime(context)
    f(context)
  })

const add = (metric: Metric.Metric<number, unknown>, amount: number, context: Context.Context<never>): void => {
  if (amount > 0) {
    metric.updateUnsafe(amount, context)
  }
}

/**
 * Starts the uptime clock of the current metric registry, like the crate's
 * `init_metrics()`. Optional: the first recording or snapshot starts it too.
 *
 * @category recorders
 * @since 0.1.0
 */
export const init: Effect.Effect<void> = record(() => undefined)

// -----------------------------------------------------------------------------
// Recorders
// -----------------------------------------------------------------------------

/**
 * Records an opened connection: `connections_total` + 1 and
 * `connections_active` + 1 (crate: `connection_established`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const connectionOpened: Effect.Effect<void> = record((context) => {
  m.connectionsTotal.updateUnsafe(1, context)
  m.connectionsActive.modifyUnsafe(1, context)
})

/**
 * Records a closed connection: `connections_active` - 1 (crate:
 * `connection_closed`). Run it under the same attributes as the matching
 * `connectionOpened`, e.g. with `Effect.ensuring`.
 *
 * @category recorders
 * @since 0.1.0
 */
export const connectionClosed: Effect.Effect<void> = record((context) => {
  m.connectionsActive.modifyUnsafe(-1, context)
})

/**
 * Records a connection error (crate: `connection_error`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const connectionError: Effect.Effect<void> = record((context) => {
  m.connectionErrors.updateUnsafe(1, context)
})

/**
 * Records a protocol error (crate: `protocol_error`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const protocolError: Effect.Effect<void> = record((context) => {
  m.protocolErrors.updateUnsafe(1, context)
})

/**
 * How a handshake ended.
 *
 * @category models
 * @since 0.1.0
 */
export type HandshakeOutcome = "success" | "failure"

/**
 * Records a finished handshake: `handshakes_total` + 1, then
 * `handshakes_success` or `handshakes_failed` + 1, and the duration in the
 * handshake histogram when given (crate: `handshake_attempt` followed by
 * `handshake_success` / `handshake_failed`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const handshake = (outcome: HandshakeOutcome, duration?: Duration.Input): Effect.Effect<void> =>
  record((context) => {
    m.handshakesTotal.updateUnsafe(1, context)
    if (outcome === "success") {
      m.handshakesSuccess.updateUnsafe(1, context)
    } else {
      m.handshakesFailed.updateUnsafe(1, context)
    }
    if (duration !== undefined) {
      m.handshakeDuration.updateUnsafe(Duration.toMillis(duration), context)
    }
  })

/**
 * Runs a handshake effect and records it with its duration: a success when it
 * succeeds, a failure when it fails, dies or is interrupted (e.g. by a
 * timeout).
 *
 * @category recorders
 * @since 0.1.0
 */
export const trackHandshake = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) => {
    const start = clock.currentTimeNanosUnsafe()
    return Effect.onExit(
      self,
      (exit) =>
        handshake(Exit.isSuccess(exit) ? "success" : "failure", clock.currentTimeNanosUnsafe() - start)
    )
  })

/**
 * Records a batch of sent messages and their total size on the wire:
 * `messages_sent` + count, `bytes_sent` + bytes (crate: `message_sent(bytes)`
 * per message).
 *
 * @category recorders
 * @since 0.1.0
 */
export const messagesSent = (count: number, bytes: number): Effect.Effect<void> =>
  record((context) => messagesSentUnsafe(context, count, bytes))

/**
 * {@link messagesSent} outside an effect, with the context (metric registry,
 * attributes) of the fiber it belongs to: for code driven by socket events.
 *
 * @category recorders
 * @since 0.1.0
 */
export const messagesSentUnsafe = (context: Context.Context<never>, count: number, bytes: number): void => {
  startTime(context)
  add(m.messagesSent, count, context)
  add(m.bytesSent, bytes, context)
}

/**
 * Records one sent message of `bytes` bytes.
 *
 * @category recorders
 * @since 0.1.0
 */
export const messageSent = (bytes: number): Effect.Effect<void> => messagesSent(1, bytes)

/**
 * Records a batch of received messages and their total size on the wire:
 * `messages_received` + count, `bytes_received` + bytes (crate:
 * `message_received(bytes)` per message).
 *
 * @category recorders
 * @since 0.1.0
 */
export const messagesReceived = (count: number, bytes: number): Effect.Effect<void> =>
  record((context) => messagesReceivedUnsafe(context, count, bytes))

/**
 * {@link messagesReceived} outside an effect, with the context of the fiber it
 * belongs to: for code driven by socket events.
 *
 * @category recorders
 * @since 0.1.0
 */
export const messagesReceivedUnsafe = (context: Context.Context<never>, count: number, bytes: number): void => {
  startTime(context)
  add(m.messagesReceived, count, context)
  add(m.bytesReceived, bytes, context)
}

/**
 * Records one received message of `bytes` bytes.
 *
 * @category recorders
 * @since 0.1.0
 */
export const messageReceived = (bytes: number): Effect.Effect<void> => messagesReceived(1, bytes)

/**
 * Records compressions: `compression_total` + attempts,
 * `compression_success` + successes (crate: `compression_attempt` /
 * `compression_success`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const compression = (attempts: number, successes: number): Effect.Effect<void> =>
  record((context) => {
    add(m.compressionTotal, attempts, context)
    add(m.compressionSuccess, successes, context)
  })

/**
 * Records encryptions: `encryption_total` + attempts, `encryption_success` +
 * successes (crate: `encryption_attempt` / `encryption_success`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const encryption = (attempts: number, successes: number): Effect.Effect<void> =>
  record((context) => {
    add(m.encryptionTotal, attempts, context)
    add(m.encryptionSuccess, successes, context)
  })

/**
 * Records replay-cache look-ups: `replay_cache_hits` + hits,
 * `replay_cache_misses` + misses (crate: `replay_cache_hit` /
 * `replay_cache_miss`).
 *
 * @category recorders
 * @since 0.1.0
 */
export const replayCache = (hits: number, misses: number): Effect.Effect<void> =>
  record((context) => {
    add(m.replayCacheHits, hits, context)
    add(m.replayCacheMisses, misses, context)
  })

/**
 * Records one request round-trip time.
 *
 * @category recorders
 * @since 0.1.0
 */
export const requestRoundTrip = (duration: Duration.Input): Effect.Effect<void> =>
  record((context) => {
    m.requestRtt.updateUnsafe(Duration.toMillis(duration), context)
  })

/**
 * Runs a request effect and, when it succeeds, records its round-trip time.
 *
 * @category recorders
 * @since 0.1.0
 */
export const trackRequest = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) => {
    const start = clock.currentTimeNanosUnsafe()
    return Effect.tap(self, () => requestRoundTrip(clock.currentTimeNanosUnsafe() - start))
  })

// -----------------------------------------------------------------------------
// Snapshot
// -----------------------------------------------------------------------------

/**
 * Summary of a duration histogram, in milliseconds (`min`, `max` and `mean`
 * are `0` while `count` is `0`).
 *
 * @category models
 * @since 0.1.0
 */
export interface DurationSummary {
  readonly count: number
  readonly sumMillis: number
  readonly minMillis: number
  readonly maxMillis: number
  readonly meanMillis: number
}

/**
 * The current values, summed over all selected series, with the uptime of the
 * registry (the crate's `MetricsSnapshot`, plus the histograms).
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly connectionsTotal: number
  readonly connectionsActive: number
  readonly handshakesTotal: number
  readonly handshakesSuccess: number
  readonly handshakesFailed: number
  readonly messagesSent: number
  readonly messagesReceived: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly compressionTotal: number
  readonly compressionSuccess: number
  readonly encryptionTotal: number
  readonly encryptionSuccess: number
  readonly replayCacheHits: number
  readonly replayCacheMisses: number
  readonly connectionErrors: number
  readonly protocolErrors: number
  readonly handshakeDuration: DurationSummary
  readonly requestRtt: DurationSummary
  /** Whole seconds since the registry's first recording, snapshot or `init`. */
  readonly uptimeSeconds: number
  readonly uptimeMillis: number
}

type ScalarKey = Exclude<keyof Snapshot, "handshakeDuration" | "requestRtt" | "uptimeSeconds" | "uptimeMillis">

const scalars: ReadonlyArray<readonly [ScalarKey, Metric.Metric<number, unknown>]> = [
  ["connectionsTotal", m.connectionsTotal],
  ["connectionsActive", m.connectionsActive],
  ["handshakesTotal", m.handshakesTotal],
  ["handshakesSuccess", m.handshakesSuccess],
  ["handshakesFailed", m.handshakesFailed],
  ["messagesSent", m.messagesSent],
  ["messagesReceived", m.messagesReceived],
  ["bytesSent", m.bytesSent],
  ["bytesReceived", m.bytesReceived],
  ["compressionTotal", m.compressionTotal],
  ["compressionSuccess", m.compressionSuccess],
  ["encryptionTotal", m.encryptionTotal],
  ["encryptionSuccess", m.encryptionSuccess],
  ["replayCacheHits", m.replayCacheHits],
  ["replayCacheMisses", m.replayCacheMisses],
  ["connectionErrors", m.connectionErrors],
  ["protocolErrors", m.protocolErrors]
]

const scalarKeyById: ReadonlyMap<string, ScalarKey> = new Map(scalars.map(([key, metric]) => [metric.id, key]))

interface HistogramAccumulator {
  count: number
  sum: number
  min: number
  max: number
}

const emptyAccumulator = (): HistogramAccumulator => ({ count: 0, sum: 0, min: Infinity, max: -Infinity })

const summarize = (acc: HistogramAccumulator): DurationSummary =>
  acc.count === 0
    ? { count: 0, sumMillis: 0, minMillis: 0, maxMillis: 0, meanMillis: 0 }
    : { count: acc.count, sumMillis: acc.sum, minMillis: acc.min, maxMillis: acc.max, meanMillis: acc.sum / acc.count }

const matches = (series: Metric.Metric.AttributeSet | undefined, filter: Metric.Metric.AttributeSet): boolean => {
  for (const [key, value] of Object.entries(filter)) {
    if (series === undefined || series[key] !== value) {
      return false
    }
  }
  return true
}

const snapshotUnsafe = (context: Context.Context<never>, filter: Metric.Metric.AttributeSet): Snapshot => {
  const start = startTime(context)
  const now = Context.get(context, Clock.Clock).currentTimeMillisUnsafe()
  const values: Record<ScalarKey, number> = {
    connectionsTotal: 0,
    connectionsActive: 0,
    handshakesTotal: 0,
    handshakesSuccess: 0,
    handshakesFailed: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    compressionTotal: 0,
    compressionSuccess: 0,
    encryptionTotal: 0,
    encryptionSuccess: 0,
    replayCacheHits: 0,
    replayCacheMisses: 0,
    connectionErrors: 0,
    protocolErrors: 0
  }
  const handshakes = emptyAccumulator()
  const rtts = emptyAccumulator()
  for (const series of Metric.snapshotUnsafe(context)) {
    if (!series.id.startsWith(prefix) || !matches(series.attributes, filter)) {
      continue
    }
    switch (series.type) {
      case "Counter":
      case "Gauge": {
        const key = scalarKeyById.get(series.id)
        if (key !== undefined) {
          values[key] += Number(series.type === "Counter" ? series.state.count : series.state.value)
        }
        break
      }
      case "Histogram": {
        const acc = series.id === m.handshakeDuration.id ? handshakes : series.id === m.requestRtt.id ? rtts : undefined
        if (acc !== undefined && series.state.count > 0) {
          acc.count += series.state.count
          acc.sum += series.state.sum
          acc.min = Math.min(acc.min, series.state.min)
          acc.max = Math.max(acc.max, series.state.max)
        }
        break
      }
    }
  }
  const uptimeMillis = Math.max(0, now - start)
  return {
    ...values,
    handshakeDuration: summarize(handshakes),
    requestRtt: summarize(rtts),
    uptimeSeconds: Math.floor(uptimeMillis / 1000),
    uptimeMillis
  }
}

/**
 * The current values of every metric of this module, summed over all series,
 * with the uptime (crate: `Metrics::snapshot()`).
 *
 * @category snapshot
 * @since 0.1.0
 */
export const snapshot: Effect.Effect<Snapshot> = Effect.contextWith((context: Context.Context<never>) =>
  Effect.sync(() => snapshotUnsafe(context, {}))
)

/**
 * The current values summed over the series carrying all the given
 * attributes, e.g. `snapshotWhere({ role: "server" })`.
 *
 * @category snapshot
 * @since 0.1.0
 */
export const snapshotWhere = (attributes: Attributes): Effect.Effect<Snapshot> => {
  const filter = toAttributeSet(attributes)
  return Effect.contextWith((context: Context.Context<never>) => Effect.sync(() => snapshotUnsafe(context, filter)))
}

/**
 * Logs the current snapshot at info level, one log line whose annotations
 * are the values (crate: `log_metrics()`).
 *
 * @category snapshot
 * @since 0.1.0
 */
export const log: Effect.Effect<void> = Effect.flatMap(snapshot, (s) =>
  Effect.logInfo("Network protocol metrics").pipe(
    Effect.annotateLogs({
      connections_total: s.connectionsTotal,
      connections_active: s.connectionsActive,
      handshakes_total: s.handshakesTotal,
      handshakes_success: s.handshakesSuccess,
      handshakes_failed: s.handshakesFailed,
      messages_sent: s.messagesSent,
      messages_received: s.messagesReceived,
      bytes_sent: s.bytesSent,
      bytes_received: s.bytesReceived,
      compression_total: s.compressionTotal,
      compression_success: s.compressionSuccess,
      encryption_total: s.encryptionTotal,
      encryption_success: s.encryptionSuccess,
      replay_cache_hits: s.replayCacheHits,
      replay_cache_misses: s.replayCacheMisses,
      connection_errors: s.connectionErrors,
      protocol_errors: s.protocolErrors,
      handshake_count: s.handshakeDuration.count,
      handshake_mean_ms: s.handshakeDuration.meanMillis,
      request_count: s.requestRtt.count,
      request_rtt_mean_ms: s.requestRtt.meanMillis,
      uptime_seconds: s.uptimeSeconds
    })
  ))
