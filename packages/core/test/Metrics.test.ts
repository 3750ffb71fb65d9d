import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as References from "effect/References"
import * as TestClock from "effect/testing/TestClock"
import * as Metrics from "../src/Metrics.ts"

/** Runs `self` against a fresh metric registry, so tests do not see each other's values. */
const isolated = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => Effect.provideService(self, Metric.MetricRegistry, new Map()))

/** The crate's counters (SPEC §12.3), in its order. */
const crateCounters = [
  "connections_total",
  "connections_active",
  "handshakes_total",
  "handshakes_success",
  "handshakes_failed",
  "messages_sent",
  "messages_received",
  "bytes_sent",
  "bytes_received",
  "compression_total",
  "compression_success",
  "encryption_total",
  "encryption_success",
  "replay_cache_hits",
  "replay_cache_misses",
  "connection_errors",
  "protocol_errors"
]

const recordEverything = Effect.gen(function*() {
  yield* Metrics.connectionOpened
  yield* Metrics.connectionOpened
  yield* Metrics.connectionClosed
  yield* Metrics.handshake("success", 12)
  yield* Metrics.handshake("failure", "30 millis")
  yield* Metrics.handshake("success")
  yield* Metrics.messagesSent(3, 300)
  yield* Metrics.messageSent(50)
  yield* Metrics.messagesReceived(10, 4096)
  yield* Metrics.messageReceived(4)
  yield* Metrics.compression(5, 4)
  yield* Metrics.encryption(7, 7)
  yield* Metrics.replayCache(1, 9)
  yield* Metrics.connectionError
  yield* Metrics.protocolError
  yield* Metrics.protocolError
  yield* Metrics.requestRoundTrip(2)
  yield* Metrics.requestRoundTrip(6)
})

describe("Metrics", () => {
  it.effect("records every crate counter, visible in snapshot and Metric.value", () =>
    isolated(Effect.gen(function*() {
      yield* recordEverything
      const s = yield* Metrics.snapshot
      assert.deepStrictEqual(
        {
          connectionsTotal: s.connectionsTotal,
          connectionsActive: s.connectionsActive,
          handshakesTotal: s.handshakesTotal,
          handshakesSuccess: s.handshakesSuccess,
          handshakesFailed: s.handshakesFailed,
          messagesSent: s.messagesSent,
          messagesReceived: s.messagesReceived,
          bytesSent: s.bytesSent,
          bytesReceived: s.bytesReceived,
          compressionTotal: s.compressionTotal,
          compressionSuccess: s.compressionSuccess,
          encryptionTotal: s.encryptionTotal,
          encryptionSuccess: s.encryptionSuccess,
          replayCacheHits: s.replayCacheHits,
          replayCacheMisses: s.replayCacheMisses,
          connectionErrors: s.connectionErrors,
          protocolErrors: s.protocolErrors
        },
        {
          connectionsTotal: 2,
          connectionsActive: 1,
          handshakesTotal: 3,
          handshakesSuccess: 2,
          handshakesFailed: 1,
          messagesSent: 4,
          messagesReceived: 11,
          bytesSent: 350,
          bytesReceived: 4100,
          compressionTotal: 5,
          compressionSuccess: 4,
          encryptionTotal: 7,
          encryptionSuccess: 7,
          replayCacheHits: 1,
          replayCacheMisses: 9,
          connectionErrors: 1,
          protocolErrors: 2
        }
      )
      assert.deepStrictEqual(s.handshakeDuration, {
        count: 2,
        sumMillis: 42,
        minMillis: 12,
        maxMillis: 30,
        meanMillis: 21
      })
      assert.deepStrictEqual(s.requestRtt, { count: 2, sumMillis: 8, minMillis: 2, maxMillis: 6, meanMillis: 4 })

      assert.strictEqual((yield* Metric.value(Metrics.metrics.bytesReceived)).count, 4100)
      assert.strictEqual((yield* Metric.value(Metrics.metrics.connectionsActive)).value, 1)
      assert.strictEqual((yield* Metric.value(Metrics.metrics.handshakeDuration)).count, 2)
    })))

  it.effect("names every metric network_protocol_<crate counter>, plus two histograms", () =>
    isolated(Effect.gen(function*() {
      yield* recordEverything
      const ids = new Set((yield* Metric.snapshot).map((series) => series.id))
      assert.deepStrictEqual(
        [...ids].sort(),
        [
          ...crateCounters.map((name) => `network_protocol_${name}`),
          "network_protocol_handshake_duration_ms",
          "network_protocol_request_rtt_ms"
        ].sort()
      )
      const types = new Map((yield* Metric.snapshot).map((series) => [series.id, series.type]))
      assert.strictEqual(types.get("network_protocol_connections_active"), "Gauge")
      assert.strictEqual(types.get("network_protocol_bytes_sent"), "Counter")
      assert.strictEqual(types.get("network_protocol_request_rtt_ms"), "Histogram")
    })))

  it.effect("starts at zero and ignores zero and negative amounts", () =>
    isolated(Effect.gen(function*() {
      const empty = yield* Metrics.snapshot
      assert.strictEqual(empty.bytesSent, 0)
      assert.strictEqual(empty.connectionsActive, 0)
      assert.deepStrictEqual(empty.handshakeDuration, {
        count: 0,
        sumMillis: 0,
        minMillis: 0,
        maxMillis: 0,
        meanMillis: 0
      })
      yield* Metrics.messagesSent(0, 0)
      yield* Metrics.messagesSent(-5, -100)
      yield* Metrics.compression(2, 0)
      const s = yield* Metrics.snapshot
      assert.strictEqual(s.messagesSent, 0)
      assert.strictEqual(s.bytesSent, 0)
      assert.strictEqual(s.compressionTotal, 2)
      assert.strictEqual(s.compressionSuccess, 0)
    })))

  it.effect("splits series by attributes; snapshot sums them, snapshotWhere selects", () =>
    isolated(Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* Metrics.connectionOpened
        yield* Metrics.messagesReceived(2, 100)
      }).pipe(Metrics.withAttributes({ role: "server", transport: "tcp" }))
      yield* Effect.gen(function*() {
        yield* Metrics.connectionOpened
        yield* Metrics.messagesReceived(5, 1000)
        yield* Metrics.connectionClosed
      }).pipe(Metrics.withAttributes({ role: "server", transport: "unix" }))
      yield* Metrics.withAttributes(Metrics.messagesReceived(1, 7), { role: "client", transport: "tls" })

      const all = yield* Metrics.snapshot
      assert.strictEqual(all.messagesReceived, 8)
      assert.strictEqual(all.bytesReceived, 1107)
      assert.strictEqual(all.connectionsTotal, 2)
      assert.strictEqual(all.connectionsActive, 1)

      const server = yield* Metrics.snapshotWhere({ role: "server" })
      assert.strictEqual(server.messagesReceived, 7)
      assert.strictEqual(server.bytesReceived, 1100)
      const unix = yield* Metrics.snapshotWhere({ role: "server", transport: "unix" })
      assert.strictEqual(unix.messagesReceived, 5)
      assert.strictEqual(unix.connectionsActive, 0)
      const client = yield* Metrics.snapshotWhere({ role: "client" })
      assert.strictEqual(client.bytesReceived, 7)
      assert.strictEqual(client.connectionsTotal, 0)

      const tcp = Metric.withAttributes(Metrics.metrics.bytesReceived, { role: "server", transport: "tcp" })
      assert.strictEqual((yield* Metric.value(tcp)).count, 100)
      const series = (yield* Metric.snapshot).filter((s) => s.id === "network_protocol_bytes_received")
      assert.deepStrictEqual(
        series.map((s) => s.attributes).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [
          { role: "client", transport: "tls" },
          { role: "server", transport: "tcp" },
          { role: "server", transport: "unix" }
        ]
      )
    })))

  it.effect("nested attributes merge, and layerAttributes tags everything built on it", () =>
    isolated(Effect.gen(function*() {
      yield* Metrics.messageSent(10).pipe(
        Metrics.withAttributes({ transport: "tls" }),
        Metrics.withAttributes({ role: "client" })
      )
      const both = yield* Metrics.snapshotWhere({ role: "client", transport: "tls" })
      assert.strictEqual(both.bytesSent, 10)

      yield* Metrics.messageSent(20).pipe(Effect.provide(Metrics.layerAttributes({ role: "server" })))
      assert.strictEqual((yield* Metrics.snapshotWhere({ role: "server" })).bytesSent, 20)
      assert.strictEqual((yield* Metrics.snapshot).bytesSent, 30)
    })))

  it.effect("trackHandshake times the handshake and counts success, failure and interruption", () =>
    isolated(Effect.gen(function*() {
      const ok = yield* Effect.sleep("250 millis").pipe(Effect.as("session"), Metrics.trackHandshake, Effect.forkChild)
      yield* TestClock.adjust("250 millis")
      assert.strictEqual(yield* Fiber.join(ok), "session")

      const failed = yield* Effect.sleep("40 millis").pipe(
        Effect.andThen(Effect.fail("bad signature")),
        Metrics.trackHandshake,
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust("40 millis")
      assert.isTrue(Exit.isFailure(yield* Fiber.join(failed)))

      const timedOut = yield* Effect.never.pipe(
        Metrics.trackHandshake,
        Effect.timeout("5 seconds"),
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust("5 seconds")
      assert.isTrue(Exit.isFailure(yield* Fiber.join(timedOut)))

      const s = yield* Metrics.snapshot
      assert.strictEqual(s.handshakesTotal, 3)
      assert.strictEqual(s.handshakesSuccess, 1)
      assert.strictEqual(s.handshakesFailed, 2)
      assert.strictEqual(s.handshakeDuration.count, 3)
      assert.strictEqual(s.handshakeDuration.minMillis, 40)
      assert.strictEqual(s.handshakeDuration.maxMillis, 5000)
      assert.strictEqual(s.handshakeDuration.sumMillis, 5290)
    })))

  it.effect("trackRequest records the round trip of successful requests only", () =>
    isolated(Effect.gen(function*() {
      const ok = yield* Effect.sleep("15 millis").pipe(Effect.as("pong"), Metrics.trackRequest, Effect.forkChild)
      yield* TestClock.adjust("15 millis")
      assert.strictEqual(yield* Fiber.join(ok), "pong")
      const failed = yield* Effect.fail("timeout").pipe(Metrics.trackRequest, Effect.exit)
      assert.isTrue(Exit.isFailure(failed))
      const s = yield* Metrics.snapshot
      assert.deepStrictEqual(s.requestRtt, { count: 1, sumMillis: 15, minMillis: 15, maxMillis: 15, meanMillis: 15 })
    })))

  it.effect("reports uptime from the registry's first use", () =>
    isolated(Effect.gen(function*() {
      yield* TestClock.adjust("1 hour")
      yield* Metrics.init
      yield* TestClock.adjust("2500 millis")
      yield* Metrics.connectionOpened
      yield* TestClock.adjust("3 seconds")
      const s = yield* Metrics.snapshot
      assert.strictEqual(s.uptimeMillis, 5500)
      assert.strictEqual(s.uptimeSeconds, 5)
    })))

  it.effect("log writes one info line carrying the values", () =>
    isolated(Effect.gen(function*() {
      const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
      const capture = Logger.make((options) => {
        lines.push({
          level: options.logLevel,
          message: options.message,
          annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
        })
      })
      yield* Metrics.messagesSent(4, 400)
      yield* Metrics.protocolError
      yield* Metrics.log.pipe(Effect.provide(Logger.layer([capture])))
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(lines[0].level, "Info")
      assert.deepStrictEqual(lines[0].message, ["Network protocol metrics"])
      assert.strictEqual(lines[0].annotations.messages_sent, 4)
      assert.strictEqual(lines[0].annotations.bytes_sent, 400)
      assert.strictEqual(lines[0].annotations.protocol_errors, 1)
      assert.strictEqual(lines[0].annotations.connections_active, 0)
      assert.property(lines[0].annotations, "uptime_seconds")
    })))

  it.effect("recorders are plain effects usable from a layer-built program", () =>
    isolated(Effect.gen(function*() {
      const program = Layer.effectDiscard(Metrics.connectionOpened)
      yield* Effect.provide(Effect.void, program)
      assert.strictEqual((yield* Metrics.snapshot).connectionsTotal, 1)
    })))
})
