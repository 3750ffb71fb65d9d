/**
 * The connection pool: configuration and the crate's validation messages,
 * the crate's tests (SPEC §13.1 service/pool.rs), and what the crate only
 * documents: max_size enforced, bounded waiters, eviction by idle_timeout and
 * max_lifetime, health checks, a circuit breaker with real states, and
 * failed uses discarding their connection. Time is TestClock's throughout.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Daemon from "../src/Daemon.ts"
import * as Pool from "../src/Pool.ts"

interface Conn {
  readonly id: number
  closed: boolean
  healthy: boolean
}

/** A factory of fake connections that records what it did; `down` makes it fail. */
const makeFactory = () => {
  const state = {
    attempts: 0,
    created: [] as Array<Conn>,
    down: false,
    gate: undefined as Deferred.Deferred<void> | undefined
  }
  const acquire = Effect.acquireRelease(
    Effect.gen(function*() {
      state.attempts++
      if (state.gate !== undefined) yield* Deferred.await(state.gate)
      if (state.down) return yield* Effect.fail(new Error("connection refused"))
      const conn: Conn = { id: state.created.length + 1, closed: false, healthy: true }
      state.created.push(conn)
      return conn
    }),
    (conn) => Effect.sync(() => conn.closed = true)
  )
  return { state, acquire }
}

/** Lets forked fibers and the pool's scheduled tasks run until `done` holds (bounded, no clock). */
const settle = (done: Effect.Effect<boolean> | (() => boolean)) =>
  Effect.gen(function*() {
    const check = typeof done === "function" ? Effect.sync(done) : done
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.yieldNow
    }
    assert.fail("condition not reached")
  })

const waitersAre = <A, E>(pool: Pool.Pool<A, E>, n: number) => Effect.map(pool.metrics, (m) => m.waiters === n)

const reasonOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") return undefined
  return ProtocolError.isProtocolError(error.error) ? error.error.reason._tag : String(error.error)
}

/** Holds a connection in its own scope until `release` is called (or the test ends). */
const hold = <A, E>(pool: Pool.Pool<A, E>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope)
    const connection = yield* Scope.provide(pool.get, scope)
    return { connection, release: Scope.close(scope, Exit.void), fail: Scope.close(scope, Exit.fail("boom")) }
  })

const quiet = { min_size: 0, max_size: 4, idle_timeout: "60 seconds", max_lifetime: "600 seconds" } as const

describe("Pool configuration", () => {
  it("has the crate's defaults", () => {
    assert.strictEqual(Pool.defaultConfig.min_size, 5)
    assert.strictEqual(Pool.defaultConfig.max_size, 50)
    assert.strictEqual(Duration.toSeconds(Pool.defaultConfig.idle_timeout), 300)
    assert.strictEqual(Duration.toSeconds(Pool.defaultConfig.max_lifetime), 3600)
    assert.strictEqual(Pool.defaultConfig.max_waiters, 1000)
    assert.strictEqual(Pool.defaultConfig.circuit_breaker_threshold, 5)
    assert.strictEqual(Duration.toSeconds(Pool.defaultConfig.circuit_breaker_timeout), 10)
    assert.deepStrictEqual(Pool.validate(Pool.defaultConfig), []) // test_config_validation_valid_config
  })

  it("test_config_validation_zero_max_size / _zero_timeouts / _idle_exceeds_lifetime / _circuit_breaker", () => {
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ max_size: 0, min_size: 0 })), [
      "Pool max_size must be greater than 0"
    ])
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ idle_timeout: 0 })), [
      "Pool idle_timeout must be greater than 0"
    ])
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ max_lifetime: 0 })), [
      "Pool max_lifetime must be greater than 0",
      "Pool idle_timeout (300s) should be less than max_lifetime (0ns)"
    ])
    assert.deepStrictEqual(
      Pool.validate(Pool.makeConfig({ idle_timeout: "600 seconds", max_lifetime: "300 seconds" })),
      ["Pool idle_timeout (600s) should be less than max_lifetime (300s)"]
    )
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ circuit_breaker_threshold: 0 })), [
      "Circuit breaker threshold must be greater than 0"
    ])
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ circuit_breaker_timeout: 0 })), [
      "Circuit breaker timeout must be greater than 0"
    ])
  })

  it("reports every limit with the crate's wording, in its order", () => {
    const config = Pool.makeConfig({
      min_size: 20_000,
      max_size: 10_001,
      max_waiters: 1_000_001,
      idle_timeout: "3601 seconds",
      max_lifetime: "86401 seconds",
      circuit_breaker_threshold: 101,
      circuit_breaker_timeout: "301 seconds"
    })
    assert.deepStrictEqual(Pool.validate(config), [
      "Pool min_size (20000) cannot exceed max_size (10001)",
      "Pool max_size (10001) exceeds recommended limit (10,000)",
      "Pool max_waiters (1000001) exceeds recommended limit (1,000,000)",
      "Pool idle_timeout (3601 seconds) is unusually long (recommended: < 1 hour)",
      "Pool max_lifetime (86401 seconds) is unusually long (recommended: < 24 hours)",
      "Circuit breaker threshold (101) is unusually high (recommended: < 100)",
      "Circuit breaker timeout (301 seconds) is unusually long (recommended: < 5 minutes)"
    ])
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ max_waiters: 0 })), [
      "Pool max_waiters must be greater than 0"
    ])
    assert.deepStrictEqual(Pool.validate(Pool.makeConfig({ min_size: 1.5 })), [
      "Pool min_size (1.5) must be a non-negative integer"
    ])
  })

  it("formats durations like Rust's Debug", () => {
    assert.strictEqual(Pool.formatRustDuration(Duration.seconds(300)), "300s")
    assert.strictEqual(Pool.formatRustDuration(Duration.millis(1500)), "1.5s")
    assert.strictEqual(Pool.formatRustDuration(Duration.millis(250)), "250ms")
    assert.strictEqual(Pool.formatRustDuration(Duration.micros(1500n)), "1.5ms")
    assert.strictEqual(Pool.formatRustDuration(Duration.nanos(12n)), "12ns")
    assert.strictEqual(Pool.formatRustDuration(Duration.zero), "0ns")
  })

  it.effect("test_config_validation: make fails with the aggregated ConfigError", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const error = yield* Effect.flip(Pool.make({
        acquire,
        config: { min_size: 100, max_size: 10, idle_timeout: "60 seconds", max_lifetime: "600 seconds" }
      }))
      assert.strictEqual(error.reason._tag, "ConfigError")
      assert.strictEqual(
        error.message,
        "Configuration error: Pool configuration validation failed:\n" +
          "  - Pool min_size (100) cannot exceed max_size (10)"
      )
    }))
})

describe("Pool", () => {
  it.effect("test_pool_creation: min 2 keeps two connections warm", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { min_size: 2, max_size: 10, idle_timeout: "60 seconds", max_lifetime: "600 seconds" }
      })
      yield* settle(() => state.created.length === 2)
      assert.strictEqual(yield* pool.size, 2)
      // warm connections are not evicted for being idle: they are the minimum
      yield* TestClock.adjust("120 seconds")
      assert.strictEqual(yield* pool.size, 2)
      assert.isFalse(state.created.some((c) => c.closed))
    }))

  it.effect("test_pool_acquire_creates_connection: the first acquire calls the factory once", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: { min_size: 0 } })
      const conn = yield* Effect.scoped(pool.get)
      assert.strictEqual(conn.id, 1)
      assert.strictEqual(state.attempts, 1)
      const again = yield* Effect.scoped(pool.get)
      assert.strictEqual(again, conn, "a returned connection is reused")
      const metrics = yield* pool.metrics
      assert.strictEqual(metrics.connectionsCreated, 1)
      assert.strictEqual(metrics.connectionsReused, 1)
      assert.strictEqual(metrics.totalAcquisitions, 2)
      assert.strictEqual(metrics.idleConnections, 1)
    }))

  it.effect("enforces max_size: acquirers wait for a connection to be returned", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: { ...quiet, max_size: 2 } })
      const a = yield* hold(pool)
      const b = yield* hold(pool)
      const third = yield* Effect.forkChild(Effect.scoped(pool.get))
      yield* settle(waitersAre(pool, 1))
      assert.isUndefined(third.pollUnsafe())
      const waiting = yield* pool.metrics
      assert.strictEqual(waiting.waiters, 1)
      assert.strictEqual(waiting.activeConnections, 2)
      assert.strictEqual(state.created.length, 2, "no third connection is opened")
      yield* b.release
      const got = yield* Fiber.join(third)
      assert.strictEqual(got, b.connection)
      assert.strictEqual(state.created.length, 2)
      yield* a.release
      assert.strictEqual((yield* pool.metrics).waiters, 0)
    }))

  it.effect("bounds waiters: beyond max_waiters an acquire fails with PoolExhausted", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: { ...quiet, max_size: 1, max_waiters: 2 } })
      const held = yield* hold(pool)
      const w1 = yield* Effect.forkChild(Effect.scoped(pool.get))
      const w2 = yield* Effect.forkChild(Effect.scoped(pool.get))
      yield* settle(waitersAre(pool, 2))
      assert.isUndefined(w1.pollUnsafe())
      assert.isUndefined(w2.pollUnsafe())
      const third = yield* Effect.exit(Effect.scoped(pool.get))
      assert.strictEqual(reasonOf(third), "PoolExhausted")
      assert.strictEqual((yield* pool.metrics).acquisitionErrors, 1)
      yield* held.release
      assert.strictEqual(yield* Fiber.join(w1), held.connection)
      assert.strictEqual(yield* Fiber.join(w2), held.connection)
    }))

  it.effect("an idle connection is available even when waiters are at the limit", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: { ...quiet, max_size: 2, max_waiters: 1 } })
      const conn = yield* Effect.scoped(pool.get)
      const again = yield* Effect.scoped(pool.get)
      assert.strictEqual(again, conn)
    }))

  it.effect("evicts connections idle for idle_timeout beyond min_size, least recently used first", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { min_size: 1, max_size: 5, idle_timeout: "60 seconds", max_lifetime: "600 seconds" }
      })
      yield* settle(() => state.created.length === 1)
      const a = yield* hold(pool)
      const b = yield* hold(pool)
      const c = yield* hold(pool)
      assert.strictEqual(state.created.length, 3)
      yield* a.release
      yield* TestClock.adjust("10 seconds")
      yield* b.release
      yield* TestClock.adjust("10 seconds")
      yield* c.release
      yield* TestClock.adjust("45 seconds") // a idle 65 s, b 55 s, c 45 s
      assert.isTrue(a.connection.closed)
      assert.isFalse(b.connection.closed)
      yield* TestClock.adjust("10 seconds") // b 65 s, c 55 s
      assert.isTrue(b.connection.closed)
      yield* TestClock.adjust("60 seconds")
      assert.isFalse(c.connection.closed, "min_size connections stay")
      assert.strictEqual(yield* pool.size, 1)
      assert.strictEqual((yield* pool.metrics).connectionsEvicted, 2)
    }))

  it.effect("max_lifetime counts from creation: returning a connection does not reset it", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { min_size: 0, max_size: 2, idle_timeout: "60 seconds", max_lifetime: "120 seconds" }
      })
      const first = yield* Effect.scoped(pool.get)
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* Effect.scoped(pool.get), first, `reused at ${30 * (i + 1)} s`)
      }
      assert.isFalse(first.closed)
      yield* TestClock.adjust("30 seconds") // 120 s after creation, used 30 s ago
      assert.isTrue(first.closed)
      const next = yield* Effect.scoped(pool.get)
      assert.notStrictEqual(next, first)
      assert.strictEqual(state.created.length, 2)
    }))

  it.effect("a connection past max_lifetime while in use is closed when returned, and replaced", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { min_size: 0, max_size: 2, idle_timeout: "60 seconds", max_lifetime: "120 seconds" }
      })
      const held = yield* hold(pool)
      yield* TestClock.adjust("150 seconds")
      assert.isFalse(held.connection.closed, "not closed under its user")
      yield* held.release
      assert.isTrue(held.connection.closed)
      const next = yield* Effect.scoped(pool.get)
      assert.notStrictEqual(next, held.connection)
      assert.isFalse(next.closed)
      assert.strictEqual(state.created.length, 2)
      assert.strictEqual((yield* pool.metrics).connectionsEvicted, 1)
    }))

  it.effect("checks health on acquire and replaces an unhealthy connection", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const checked: Array<number> = []
      const pool = yield* Pool.make({
        acquire,
        isHealthy: (conn) => Effect.sync(() => (checked.push(conn.id), conn.healthy)),
        config: quiet
      })
      const first = yield* Effect.scoped(pool.get)
      assert.deepStrictEqual(checked, [], "a connection opened for this acquire is not checked")
      first.healthy = false
      const second = yield* Effect.scoped(pool.get)
      assert.deepStrictEqual(checked, [1])
      assert.notStrictEqual(second, first)
      assert.isTrue(first.closed)
      assert.strictEqual(state.created.length, 2)
      assert.strictEqual((yield* pool.metrics).connectionsEvicted, 1)
    }))

  it.effect("a failing health check counts as unhealthy", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        isHealthy: (conn) => conn.healthy ? Effect.succeed(true) : Effect.fail("probe failed"),
        config: quiet
      })
      const first = yield* Effect.scoped(pool.get)
      first.healthy = false
      assert.notStrictEqual(yield* Effect.scoped(pool.get), first)
      assert.isTrue(first.closed)
    }))

  it.effect("checks idle connections in the background and keeps min_size", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        isHealthy: (conn) => Effect.succeed(conn.healthy),
        healthCheckInterval: "10 seconds",
        config: { ...quiet, min_size: 1 }
      })
      yield* settle(() => state.created.length === 1)
      const conn = state.created[0]
      conn.healthy = false
      yield* TestClock.adjust("9 seconds")
      assert.isFalse(conn.closed)
      yield* TestClock.adjust("1 second")
      assert.isTrue(conn.closed)
      yield* settle(() => state.created.length === 2)
      assert.strictEqual(yield* pool.size, 1)
    }))

  it.effect("a failed use discards the connection; a successful one returns it", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: quiet })
      const ok = yield* pool.use((conn) => Effect.succeed(conn))
      assert.isFalse(ok.closed)
      const failed = yield* Effect.flip(pool.use((conn) => Effect.fail(conn)))
      assert.strictEqual(failed, ok)
      assert.isTrue(ok.closed, "closed after the failed use")
      const next = yield* pool.use((conn) => Effect.succeed(conn))
      assert.notStrictEqual(next, ok)
      assert.strictEqual(state.created.length, 2)
      // a scope closed with a failure discards too
      const held = yield* hold(pool)
      yield* held.fail
      assert.isTrue(held.connection.closed)
      assert.strictEqual((yield* pool.metrics).connectionsEvicted, 2)
    }))

  it.effect("an interrupted use discards the connection", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: quiet })
      const started = yield* Deferred.make<Conn>()
      const fiber = yield* Effect.forkChild(
        pool.use((conn) => Effect.andThen(Deferred.succeed(started, conn), Effect.never))
      )
      const conn = yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(conn.closed)
    }))

  it.effect("circuit breaker: closed → open → half-open → open → half-open → closed", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { ...quiet, circuit_breaker_threshold: 3, circuit_breaker_timeout: "10 seconds" }
      })
      state.down = true
      for (let i = 0; i < 3; i++) {
        assert.strictEqual((yield* pool.circuitBreaker).state, "closed")
        const exit = yield* Effect.exit(Effect.scoped(pool.get))
        assert.strictEqual(reasonOf(exit), "Error: connection refused")
      }
      assert.deepStrictEqual(yield* pool.circuitBreaker, { state: "open", consecutiveFailures: 3, trialRunning: false })
      assert.strictEqual(state.attempts, 3)
      // open: fails fast without calling the factory
      assert.strictEqual(reasonOf(yield* Effect.exit(Effect.scoped(pool.get))), "CircuitBreakerOpen")
      assert.strictEqual(state.attempts, 3)
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* pool.circuitBreaker).state, "open")
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* pool.circuitBreaker).state, "half-open")
      // the trial fails: open again for another timeout
      assert.strictEqual(reasonOf(yield* Effect.exit(Effect.scoped(pool.get))), "Error: connection refused")
      assert.strictEqual(state.attempts, 4)
      assert.strictEqual((yield* pool.circuitBreaker).state, "open")
      assert.strictEqual(reasonOf(yield* Effect.exit(Effect.scoped(pool.get))), "CircuitBreakerOpen")
      assert.strictEqual(state.attempts, 4)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* pool.circuitBreaker).state, "half-open")
      // the trial succeeds: closed
      state.down = false
      const conn = yield* Effect.scoped(pool.get)
      assert.strictEqual(conn.id, 1)
      assert.deepStrictEqual(yield* pool.circuitBreaker, {
        state: "closed",
        consecutiveFailures: 0,
        trialRunning: false
      })
      assert.strictEqual((yield* pool.metrics).acquisitionErrors, 6)
    }))

  it.effect("circuit breaker: half-open admits one trial; others wait for its outcome", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { ...quiet, circuit_breaker_threshold: 1, circuit_breaker_timeout: "5 seconds" }
      })
      const openBreaker = Effect.gen(function*() {
        state.down = true
        state.gate = undefined
        yield* Effect.exit(Effect.scoped(pool.get))
        assert.strictEqual((yield* pool.circuitBreaker).state, "open")
        yield* TestClock.adjust("5 seconds")
        state.gate = yield* Deferred.make<void>()
        return state.gate
      })
      // the trial fails: the waiting acquirer fails fast, the breaker is open again
      let gate = yield* openBreaker
      let attempts = state.attempts
      const failingTrial = yield* Effect.forkChild(Effect.exit(Effect.scoped(pool.get)))
      yield* settle(() => state.attempts === attempts + 1)
      assert.deepStrictEqual(yield* pool.circuitBreaker, {
        state: "half-open",
        consecutiveFailures: 1,
        trialRunning: true
      })
      const behind = yield* Effect.forkChild(Effect.exit(Effect.scoped(pool.get)))
      yield* settle(waitersAre(pool, 2))
      assert.strictEqual(state.attempts, attempts + 1, "no second creation while the trial runs")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(reasonOf(yield* Fiber.join(failingTrial)), "Error: connection refused")
      assert.strictEqual(reasonOf(yield* Fiber.join(behind)), "CircuitBreakerOpen")
      assert.strictEqual(state.attempts, attempts + 1)
      assert.strictEqual((yield* pool.circuitBreaker).state, "open")
      // the trial succeeds: the breaker closes and the acquirer behind it gets a connection too
      gate = yield* openBreaker
      attempts = state.attempts
      state.down = false
      const trial = yield* Effect.forkChild(Effect.scoped(pool.get))
      yield* settle(() => state.attempts === attempts + 1)
      const next = yield* Effect.forkChild(Effect.scoped(pool.get))
      yield* settle(waitersAre(pool, 2))
      assert.strictEqual(state.attempts, attempts + 1, "no second creation while the trial runs")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual((yield* Fiber.join(trial)).id, 1)
      assert.isFalse((yield* Fiber.join(next)).closed)
      assert.strictEqual((yield* pool.circuitBreaker).state, "closed")
    }))

  it.effect("circuit breaker: while open, idle connections are still handed out", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const pool = yield* Pool.make({
        acquire,
        config: { ...quiet, circuit_breaker_threshold: 2, circuit_breaker_timeout: "10 seconds" }
      })
      const held = yield* hold(pool)
      state.down = true
      yield* Effect.exit(Effect.scoped(pool.get))
      yield* Effect.exit(Effect.scoped(pool.get))
      assert.strictEqual((yield* pool.circuitBreaker).state, "open")
      yield* held.release
      assert.strictEqual(yield* Effect.scoped(pool.get), held.connection, "idle connection reused while open")
      const again = yield* hold(pool)
      assert.strictEqual(reasonOf(yield* Effect.exit(Effect.scoped(pool.get))), "CircuitBreakerOpen")
      yield* again.release
    }))

  it.effect("clear closes idle connections; closing the pool closes every connection", () =>
    Effect.gen(function*() {
      const { state, acquire } = makeFactory()
      const scope = yield* Scope.make()
      const pool = yield* Scope.provide(Pool.make({ acquire, config: quiet }), scope)
      const a = yield* hold(pool)
      const b = yield* hold(pool)
      yield* a.release
      yield* pool.clear
      assert.isTrue(a.connection.closed)
      assert.isFalse(b.connection.closed)
      yield* b.release
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(state.created.every((c) => c.closed))
    }))

  it.effect("metrics: active, idle, utilization and wait time", () =>
    Effect.gen(function*() {
      const { acquire } = makeFactory()
      const pool = yield* Pool.make({ acquire, config: quiet })
      const a = yield* hold(pool)
      const b = yield* hold(pool)
      yield* a.release
      const m = yield* pool.metrics
      assert.strictEqual(m.activeConnections, 1)
      assert.strictEqual(m.idleConnections, 1)
      assert.strictEqual(m.utilizationPercent, 50)
      assert.strictEqual(m.connectionsCreated, 2)
      assert.strictEqual(m.totalAcquisitions, 2)
      assert.strictEqual(m.averageWaitTimeMicros, 0, "TestClock does not move by itself")
      yield* b.release
    }))
})

describe("Pool.clients", () => {
  it.live("pools secure clients to one daemon, at most max_size of them", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: { tcp: { host: "127.0.0.1", port: 0 } } })
      const pool = yield* Pool.clients({
        client: { connect: { tcp: { host: "127.0.0.1", port: daemon.port ?? 0 } } },
        config: { min_size: 1, max_size: 2 },
        healthCheck: "ping"
      })
      const replies = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => pool.use((client) => client.request(Message.Echo({ text: `m${i}` }))),
        { concurrency: 8 }
      )
      assert.deepStrictEqual(replies, Array.from({ length: 20 }, (_, i) => Message.Echo({ text: `m${i}` })))
      const metrics = yield* pool.metrics
      assert.isAtMost(metrics.connectionsCreated, 2)
      assert.strictEqual(metrics.totalAcquisitions, 20)
      assert.isAtMost(yield* daemon.connections, 2)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
