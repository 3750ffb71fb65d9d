/**
 * A connection pool: the crate's `ConnectionPool` (`src/service/pool.rs`,
 * SPEC §7) with its `PoolConfig`, defaults and validation messages, built on
 * Effect's `Pool` and working as its documentation promises.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Pool from "@network-protocol/service/Pool"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* Pool.make({
 *     acquire: openConnection,                 // Effect<Conn, E, Scope>: the scope is the connection's life
 *     isHealthy: (conn) => conn.ping,          // optional, Effect<boolean>
 *     config: { min_size: 2, max_size: 10 }
 *   })
 *   const reply = yield* pool.use((conn) => conn.request(bytes))
 * })
 * ```
 *
 * What the crate documents and this module does (SPEC §15.2 #22 lists how the
 * crate falls short):
 *
 * - **`max_size` is enforced.** At most `max_size` connections exist; an
 *   acquirer finding them all in use waits for one to be returned. At most
 *   `max_waiters` acquirers wait at a time; one more fails at once with
 *   `PoolExhausted`.
 * - **`min_size` is kept warm**: that many connections are opened when the
 *   pool starts and re-opened after evictions. (Failures while warming up
 *   count toward the circuit breaker, unlike the crate's.)
 * - **Eviction by a background schedule.** Every `reapInterval` (default: a
 *   tenth of the shorter of `idle_timeout` and `max_lifetime`, at most 30 s),
 *   connections older than `max_lifetime` are closed (an idle one at once, one
 *   in use when it is returned) and connections idle for `idle_timeout` are
 *   closed while more than `min_size` exist (the least recently used first).
 *   The lifetime is measured from the connection's creation and never reset by
 *   returning it (the crate restarts it on every return). An acquire never
 *   hands out a connection past either limit, even between two sweeps. A
 *   connection retired while in use stops counting toward `max_size` at once,
 *   so a replacement may be opened before it is returned and closed.
 * - **Health checks** with the user's `isHealthy` Effect: on acquire, for a
 *   connection that existed before the acquire began (not for one opened for
 *   it), and every `healthCheckInterval` for idle connections. Unhealthy, or
 *   a check that fails or dies, means the connection is closed.
 * - **A circuit breaker with real states.** `circuit_breaker_threshold`
 *   consecutive failures of the factory open it; while open, creating a
 *   connection fails at once with `CircuitBreakerOpen`, but idle connections
 *   are still handed out (the crate blocks those too). After
 *   `circuit_breaker_timeout` it is half-open: exactly one trial creation
 *   runs; acquirers needing a connection meanwhile wait for its outcome (a
 *   creation attempted concurrently with it fails fast). The trial's success
 *   closes the breaker and the waiting acquirers proceed; its failure opens
 *   the breaker again for another `circuit_breaker_timeout` and they fail
 *   with `CircuitBreakerOpen`.
 * - **Return or discard.** A connection acquired with `get` is returned when
 *   the scope closes, and closed instead if the scope closed with a failure
 *   (the use failed, was interrupted or died): a connection whose use failed
 *   is not trusted again. `use` does the same around one function.
 * - **Metrics**: created, reused, evicted, acquisition errors, active, idle,
 *   waiters, wait time.
 *
 * **Built on Effect's `Pool`.** `effect/Pool` (`makeWithStrategy`) owns the
 * connections: sizing between `min_size` and `max_size`, the waiting queue,
 * leases tied to scopes, invalidation, warm-up and the release of everything
 * when the pool's scope closes. This module adds what `effect/Pool` cannot
 * express: the factory is wrapped by the breaker; a custom `Strategy` runs the
 * eviction and health sweeps; `get` wraps `Pool.get` with the `max_waiters`
 * bound, the acquire-time checks, the discard-on-failure finalizer and the
 * metrics. Like Effect's pool it hands out the most recently returned
 * connection first (the crate's docs say LRU, its code is LIFO too), which
 * lets surplus connections go idle and be evicted.
 *
 * **Gotchas.** Connections are told apart by identity (`===`), so the factory
 * must return a distinct value for every connection (objects, not
 * primitives). `Pool.clients` pools our secure `Client`s to one daemon.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as EffectPool from "effect/Pool"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Client from "./Client.ts"

// -----------------------------------------------------------------------------
// configuration
// -----------------------------------------------------------------------------

/**
 * The crate's `PoolConfig`, with its field names.
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolConfig {
  /** Connections kept open even when unused. Default 5. */
  readonly min_size: number
  /** Connections that may exist at once (enforced). Default 50. */
  readonly max_size: number
  /** How long a connection beyond `min_size` may stay unused. Default 300 s. */
  readonly idle_timeout: Duration.Duration
  /** How long a connection may live, from its creation. Default 3600 s. */
  readonly max_lifetime: Duration.Duration
  /** Acquirers that may wait for a connection at once. Default 1000. */
  readonly max_waiters: number
  /** Consecutive factory failures that open the circuit breaker. Default 5. */
  readonly circuit_breaker_threshold: number
  /** How long the breaker stays open before a trial. Default 10 s. */
  readonly circuit_breaker_timeout: Duration.Duration
}

/**
 * A `PoolConfig` to fill in: missing fields take the crate's defaults, and
 * durations may be given in any `Duration.Input` form (`"30 seconds"`, millis).
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolConfigInput {
  readonly min_size?: number | undefined
  readonly max_size?: number | undefined
  readonly idle_timeout?: Duration.Input | undefined
  readonly max_lifetime?: Duration.Input | undefined
  readonly max_waiters?: number | undefined
  readonly circuit_breaker_threshold?: number | undefined
  readonly circuit_breaker_timeout?: Duration.Input | undefined
}

/**
 * The crate's `PoolConfig::default()`.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultConfig: PoolConfig = {
  min_size: 5,
  max_size: 50,
  idle_timeout: Duration.seconds(300),
  max_lifetime: Duration.seconds(3600),
  max_waiters: 1000,
  circuit_breaker_threshold: 5,
  circuit_breaker_timeout: Duration.seconds(10)
}

const durationOr = (input: Duration.Input | undefined, fallback: Duration.Duration): Duration.Duration =>
  input === undefined ? fallback : Duration.fromInputUnsafe(input)

/**
 * Fills in a configuration with the crate's defaults. Does not validate.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeConfig = (input: PoolConfigInput = {}): PoolConfig => ({
  min_size: input.min_size ?? defaultConfig.min_size,
  max_size: input.max_size ?? defaultConfig.max_size,
  idle_timeout: durationOr(input.idle_timeout, defaultConfig.idle_timeout),
  max_lifetime: durationOr(input.max_lifetime, defaultConfig.max_lifetime),
  max_waiters: input.max_waiters ?? defaultConfig.max_waiters,
  circuit_breaker_threshold: input.circuit_breaker_threshold ?? defaultConfig.circuit_breaker_threshold,
  circuit_breaker_timeout: durationOr(input.circuit_breaker_timeout, defaultConfig.circuit_breaker_timeout)
})

/**
 * Formats a duration like Rust's `Debug` for `std::time::Duration` (`300s`,
 * `1.5s`, `250ms`, `0ns`), as the crate's messages print them.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatRustDuration = (duration: Duration.Duration): string => {
  if (!Duration.isFinite(duration)) return "inf"
  const nanos = Duration.toNanosUnsafe(duration)
  const magnitude = nanos < 0n ? -nanos : nanos
  const sign = nanos < 0n ? "-" : ""
  const decimal = (whole: bigint, fraction: bigint, digits: number, unit: string) => {
    const text = fraction === 0n ? "" : "." + fraction.toString().padStart(digits, "0").replace(/0+$/, "")
    return `${sign}${whole}${text}${unit}`
  }
  if (magnitude >= 1_000_000_000n) return decimal(magnitude / 1_000_000_000n, magnitude % 1_000_000_000n, 9, "s")
  if (magnitude >= 1_000_000n) return decimal(magnitude / 1_000_000n, magnitude % 1_000_000n, 6, "ms")
  if (magnitude >= 1_000n) return decimal(magnitude / 1_000n, magnitude % 1_000n, 3, "µs")
  return `${sign}${magnitude}ns`
}

/** Rust's `Duration::as_secs` (whole seconds, truncated). */
const wholeSeconds = (duration: Duration.Duration): number => Math.floor(Duration.toMillis(duration) / 1000)

const isPositive = (duration: Duration.Duration): boolean => Duration.isPositive(duration)

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/**
 * Checks a configuration and returns the crate's messages, verbatim and in
 * its order; empty when valid. Sizes that are not non-negative integers are
 * reported too (the crate's `usize` cannot hold them).
 *
 * @category validation
 * @since 0.1.0
 */
export const validate = (config: PoolConfig): ReadonlyArray<string> => {
  const errors: Array<string> = []
  for (const field of ["min_size", "max_size", "max_waiters", "circuit_breaker_threshold"] as const) {
    if (!isCount(config[field])) errors.push(`Pool ${field} (${config[field]}) must be a non-negative integer`)
  }
  if (config.max_size === 0) errors.push("Pool max_size must be greater than 0")
  if (config.min_size > config.max_size) {
    errors.push(`Pool min_size (${config.min_size}) cannot exceed max_size (${config.max_size})`)
  }
  if (config.max_size > 10_000) {
    errors.push(`Pool max_size (${config.max_size}) exceeds recommended limit (10,000)`)
  }
  if (config.max_waiters === 0) errors.push("Pool max_waiters must be greater than 0")
  if (config.max_waiters > 1_000_000) {
    errors.push(`Pool max_waiters (${config.max_waiters}) exceeds recommended limit (1,000,000)`)
  }
  if (!isPositive(config.idle_timeout)) errors.push("Pool idle_timeout must be greater than 0")
  if (!isPositive(config.max_lifetime)) errors.push("Pool max_lifetime must be greater than 0")
  if (Duration.isGreaterThanOrEqualTo(config.idle_timeout, config.max_lifetime)) {
    errors.push(
      `Pool idle_timeout (${formatRustDuration(config.idle_timeout)}) should be less than max_lifetime (${
        formatRustDuration(config.max_lifetime)
      })`
    )
  }
  if (wholeSeconds(config.idle_timeout) > 3600) {
    errors.push(
      `Pool idle_timeout (${wholeSeconds(config.idle_timeout)} seconds) is unusually long (recommended: < 1 hour)`
    )
  }
  if (wholeSeconds(config.max_lifetime) > 86400) {
    errors.push(
      `Pool max_lifetime (${wholeSeconds(config.max_lifetime)} seconds) is unusually long (recommended: < 24 hours)`
    )
  }
  if (config.circuit_breaker_threshold === 0) errors.push("Circuit breaker threshold must be greater than 0")
  if (config.circuit_breaker_threshold > 100) {
    errors.push(
      `Circuit breaker threshold (${config.circuit_breaker_threshold}) is unusually high (recommended: < 100)`
    )
  }
  if (!isPositive(config.circuit_breaker_timeout)) errors.push("Circuit breaker timeout must be greater than 0")
  if (wholeSeconds(config.circuit_breaker_timeout) > 300) {
    errors.push(
      `Circuit breaker timeout (${
        wholeSeconds(config.circuit_breaker_timeout)
      } seconds) is unusually long (recommended: < 5 minutes)`
    )
  }
  return errors
}

/**
 * Succeeds with the configuration when it is valid, otherwise fails with a
 * `ConfigError` whose detail is the crate's: `"Pool configuration validation
 * failed:\n  - "` followed by the messages joined with `"\n  - "`.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateStrict = (config: PoolConfig): Effect.Effect<PoolConfig, ProtocolError.ProtocolError> =>
  Effect.suspend(() => {
    const errors = validate(config)
    return errors.length === 0
      ? Effect.succeed(config)
      : Effect.fail(
        ProtocolError.make(
          new ProtocolError.ConfigError({
            detail: `Pool configuration validation failed:\n  - ${errors.join("\n  - ")}`
          })
        )
      )
  })

// -----------------------------------------------------------------------------
// circuit breaker
// -----------------------------------------------------------------------------

/**
 * The state of a pool's circuit breaker.
 *
 * - `"closed"`: connections are created normally.
 * - `"open"`: creating a connection fails at once with `CircuitBreakerOpen`.
 * - `"half-open"`: the open period is over; the next creation is a trial
 *   (while it runs, other creations still fail fast).
 *
 * @category models
 * @since 0.1.0
 */
export type CircuitState = "closed" | "open" | "half-open"

/**
 * A snapshot of a pool's circuit breaker.
 *
 * @category models
 * @since 0.1.0
 */
export interface CircuitBreakerStatus {
  readonly state: CircuitState
  /** Consecutive factory failures since the last success. */
  readonly consecutiveFailures: number
  /** Whether a half-open trial is running. */
  readonly trialRunning: boolean
}

class Breaker {
  state: CircuitState = "closed"
  failures = 0
  openedAt = 0
  trial = false
  readonly threshold: number
  readonly timeoutMillis: number

  constructor(threshold: number, timeout: Duration.Duration) {
    this.threshold = threshold
    this.timeoutMillis = Duration.toMillis(timeout)
  }

  /** Moves an expired open breaker to half-open. */
  refresh(now: number): void {
    if (this.state === "open" && now - this.openedAt >= this.timeoutMillis) {
      this.state = "half-open"
      this.trial = false
    }
  }

  /** Whether a creation may start now; a half-open breaker admits one trial. */
  enter(now: number): boolean {
    this.refresh(now)
    if (this.state === "closed") return true
    if (this.state === "half-open" && !this.trial) {
      this.trial = true
      return true
    }
    return false
  }

  succeeded(): void {
    this.state = "closed"
    this.failures = 0
    this.trial = false
  }

  failed(now: number): void {
    this.failures++
    if (this.state === "half-open" || this.failures >= this.threshold) {
      this.state = "open"
      this.openedAt = now
      this.trial = false
    }
  }

  /** A creation ended without an outcome (interrupted): free the trial slot. */
  abandoned(): void {
    if (this.state === "half-open") this.trial = false
  }

  status(now: number): CircuitBreakerStatus {
    this.refresh(now)
    return { state: this.state, consecutiveFailures: this.failures, trialRunning: this.trial }
  }
}

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The pool's counters and gauges, after the crate's `PoolMetrics`
 * (`connections_created` → `connectionsCreated`, …), plus `waiters`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolMetrics {
  /** Connections the factory opened. */
  readonly connectionsCreated: number
  /** Acquisitions served by a connection that existed when the acquire began. */
  readonly connectionsReused: number
  /** Connections closed by the pool: expired, unhealthy, idle beyond `min_size`, or discarded after a failed use. */
  readonly connectionsEvicted: number
  /** Acquisitions that failed (factory error, `CircuitBreakerOpen`, `PoolExhausted`). */
  readonly acquisitionErrors: number
  /** Connections checked out now. */
  readonly activeConnections: number
  /** Connections waiting in the pool now. */
  readonly idleConnections: number
  /** Acquirers inside `get` that have no connection yet. */
  readonly waiters: number
  /** Total time successful acquisitions took, in microseconds. */
  readonly totalWaitTimeMicros: number
  /** Successful acquisitions. */
  readonly totalAcquisitions: number
  /** `totalWaitTimeMicros / totalAcquisitions` (0 when none). */
  readonly averageWaitTimeMicros: number
  /** `active / (active + idle) × 100` (0 when empty). */
  readonly utilizationPercent: number
}

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/Pool" as const

/**
 * A connection pool.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pool<A, E = never> {
  readonly [TypeId]: typeof TypeId
  /** The validated configuration. */
  readonly config: PoolConfig
  /**
   * Acquires a connection for the current scope. It is returned to the pool
   * when the scope closes successfully, and closed if the scope closes with a
   * failure. Fails with the factory's error, `CircuitBreakerOpen` (no idle
   * connection and the breaker is open) or `PoolExhausted` (`max_waiters`
   * acquirers already waiting).
   */
  readonly get: Effect.Effect<A, E | ProtocolError.ProtocolError, Scope.Scope>
  /** Runs `f` with a connection; a failure of `f` discards the connection. */
  readonly use: <B, E2, R2>(
    f: (connection: A) => Effect.Effect<B, E2, R2>
  ) => Effect.Effect<B, E | E2 | ProtocolError.ProtocolError, R2>
  /** Closes a connection now if idle, or when it is returned. */
  readonly invalidate: (connection: A) => Effect.Effect<void>
  /** Closes every idle connection (the pool then re-opens `min_size`). */
  readonly clear: Effect.Effect<void>
  /** Idle connections (the crate's `size()`). */
  readonly size: Effect.Effect<number>
  readonly metrics: Effect.Effect<PoolMetrics>
  readonly circuitBreaker: Effect.Effect<CircuitBreakerStatus>
}

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<A, E, R> {
  /**
   * Opens a connection (the crate's `ConnectionFactory::create`). It runs in
   * the connection's own scope, which closes when the pool closes the
   * connection: add its finalizers there (`Effect.acquireRelease`).
   */
  readonly acquire: Effect.Effect<A, E, R>
  /** Whether a connection is still usable (the crate's `is_healthy`, but effectful). Default: always. */
  readonly isHealthy?: ((connection: A) => Effect.Effect<boolean, unknown, R>) | undefined
  /** The crate's `PoolConfig`; missing fields take its defaults. */
  readonly config?: PoolConfigInput | undefined
  /** How often idle connections are health-checked. Default 30 s; only with `isHealthy`. */
  readonly healthCheckInterval?: Duration.Input | undefined
  /**
   * How often expired connections are looked for. Default: a tenth of the
   * shorter of `idle_timeout` and `max_lifetime`, at most 30 s.
   */
  readonly reapInterval?: Duration.Input | undefined
}

/**
 * Tells whether a value is a `Pool`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isPool = (u: unknown): u is Pool<unknown, unknown> => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

interface Meta {
  /** Creation order, to tell connections opened during an acquire. */
  readonly seq: number
  readonly createdAt: number
  lastReturned: number
}

const circuitOpen = () => ProtocolError.make(new ProtocolError.CircuitBreakerOpen())
const exhausted = () => ProtocolError.make(new ProtocolError.PoolExhausted())

/**
 * Creates a pool in the current scope. The configuration is validated first
 * (failing with the crate's `ConfigError`); `min_size` connections are then
 * opened in the background. Closing the scope closes every connection, after
 * waiting for those checked out to be returned.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*<A, E, R>(
  options: Options<A, E, R>
): Effect.fn.Return<Pool<A, E>, ProtocolError.ProtocolError, R | Scope.Scope> {
  const config = yield* validateStrict(makeConfig(options.config))
  const clock = yield* Clock.Clock
  const context = yield* Effect.context<R>()
  const breaker = new Breaker(config.circuit_breaker_threshold, config.circuit_breaker_timeout)
  const meta = new Map<A, Meta>()
  const idleMillis = Duration.toMillis(config.idle_timeout)
  const lifetimeMillis = Duration.toMillis(config.max_lifetime)
  const reapInterval = options.reapInterval === undefined
    ? Duration.millis(Math.max(1, Math.min(30_000, Math.min(idleMillis, lifetimeMillis) / 10)))
    : Duration.fromInputUnsafe(options.reapInterval)
  const healthInterval = Duration.fromInputUnsafe(options.healthCheckInterval ?? "30 seconds")
  const isHealthy = options.isHealthy
  let seq = 0
  let waiting = 0
  const counters = { created: 0, reused: 0, evicted: 0, errors: 0, waitMicros: 0, acquisitions: 0 }

  const nowMicros = () => Number(clock.currentTimeNanosUnsafe() / 1000n)

  type Failure = E | ProtocolError.ProtocolError

  /** The factory, behind the breaker; runs in the connection's scope. */
  const factory: Effect.Effect<A, Failure, R | Scope.Scope> = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      if (!breaker.enter(clock.currentTimeMillisUnsafe())) return yield* Effect.fail(circuitOpen())
      const exit = yield* Effect.exit(restore(options.acquire))
      if (Exit.isFailure(exit)) {
        if (Exit.hasInterrupts(exit)) breaker.abandoned()
        else breaker.failed(clock.currentTimeMillisUnsafe())
        return yield* Effect.failCause(exit.cause)
      }
      breaker.succeeded()
      const connection = exit.value
      const now = clock.currentTimeMillisUnsafe()
      meta.set(connection, { seq: ++seq, createdAt: now, lastReturned: now })
      counters.created++
      yield* Effect.addFinalizer(() => Effect.sync(() => meta.delete(connection)))
      return connection
    })
  )

  const healthy = (connection: A): Effect.Effect<boolean> =>
    isHealthy === undefined ? Effect.succeed(true) : isHealthy(connection).pipe(
      Effect.catchCause(() => Effect.succeed(false)),
      Effect.provideContext(context)
    )

  const expired = (m: Meta, now: number) => now - m.createdAt >= lifetimeMillis

  let pool: EffectPool.Pool<A, Failure>

  const evict = (connection: A) =>
    Effect.suspend(() => {
      counters.evicted++
      return EffectPool.invalidate(pool, connection)
    })

  const liveItems = () => {
    const out: Array<{ readonly connection: A; readonly idle: boolean; readonly meta: Meta }> = []
    for (const item of pool.state.items) {
      if (item.exit._tag !== "Success" || pool.state.invalidated.has(item)) continue
      const m = meta.get(item.exit.value)
      if (m !== undefined) out.push({ connection: item.exit.value, idle: item.refCount === 0, meta: m })
    }
    return out
  }

  /** Closes expired connections, and idle ones beyond `min_size`. */
  const reap = Effect.suspend(() => {
    const now = clock.currentTimeMillisUnsafe()
    const doomed: Array<A> = []
    const idle: Array<{ readonly connection: A; readonly meta: Meta }> = []
    for (const item of liveItems()) {
      if (expired(item.meta, now)) doomed.push(item.connection)
      else if (item.idle && now - item.meta.lastReturned >= idleMillis) idle.push(item)
    }
    idle.sort((a, b) => a.meta.lastReturned - b.meta.lastReturned)
    let surplus = liveItems().length - doomed.length - config.min_size
    for (let i = 0; i < idle.length && surplus > 0; i++, surplus--) doomed.push(idle[i].connection)
    return Effect.forEach(doomed, evict, { discard: true })
  })

  /** Checks idle connections and closes the unhealthy ones. */
  const sweepHealth = Effect.suspend(() =>
    Effect.forEach(
      liveItems().filter((item) => item.idle),
      (item) => Effect.flatMap(healthy(item.connection), (ok) => ok ? Effect.void : evict(item.connection)),
      { discard: true }
    )
  )

  const every = (interval: Duration.Duration, sweep: Effect.Effect<void>) =>
    Effect.repeat(Effect.delay(sweep, interval), Schedule.forever)

  const background = Effect.all([
    every(reapInterval, reap),
    isHealthy === undefined ? Effect.void : every(healthInterval, sweepHealth)
  ], { concurrency: "unbounded", discard: true })

  pool = yield* EffectPool.makeWithStrategy({
    acquire: factory,
    min: config.min_size,
    max: config.max_size,
    strategy: {
      run: () => Effect.asVoid(background),
      onAcquire: () => Effect.void,
      reclaim: () => Effect.undefined
    }
  })

  /** Whether an acquirer arriving now would have to wait. */
  const mustWait = () => {
    const head = pool.state.availableHead
    const idleReady = head !== undefined && head.exit._tag === "Success" && pool.state.waiters.size === 0
    return !idleReady && liveItems().length >= config.max_size
  }

  /** Puts a leased connection back now (rejected by a check, or the acquire was interrupted). */
  const giveBack = (lease: Scope.Closeable) => Scope.close(lease, Exit.void)

  const returned = (connection: A, m: Meta) => (exit: Exit.Exit<unknown, unknown>) =>
    Effect.suspend(() => {
      m.lastReturned = clock.currentTimeMillisUnsafe()
      return Exit.isFailure(exit) ? evict(connection) : Effect.void
    })

  /**
   * One acquisition: lease a connection from Effect's pool into a scope of
   * its own, check it, and either keep it (a finalizer of the caller's scope
   * then returns or discards it, with that scope's exit) or close it and
   * lease again. Written with combinators rather than a generator: this is
   * the hot path.
   */
  const get: Effect.Effect<A, Failure, Scope.Scope> = Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.scope, (parent) => {
      if (waiting >= config.max_waiters && mustWait()) {
        counters.errors++
        return Effect.fail(exhausted())
      }
      const started = nowMicros()
      const seqAtStart = seq
      waiting++
      const fail = (lease: Scope.Closeable, cause: Cause.Cause<Failure>) => {
        waiting--
        return Effect.andThen(giveBack(lease), Effect.failCause(cause))
      }
      const accept = (lease: Scope.Closeable, connection: A, m: Meta, existed: boolean) => {
        waiting--
        if (existed) counters.reused++
        counters.acquisitions++
        counters.waitMicros += Math.max(0, nowMicros() - started)
        return Effect.as(
          Scope.addFinalizerExit(parent, (exit) => Effect.andThen(returned(connection, m)(exit), giveBack(lease))),
          connection
        )
      }
      const reject = (lease: Scope.Closeable, connection: A) =>
        Effect.andThen(evict(connection), Effect.andThen(giveBack(lease), attempt))
      const attempt: Effect.Effect<A, Failure> = Effect.flatMap(
        Scope.make(),
        (lease) =>
          Effect.flatMap(Effect.exit(restore(Scope.provide(EffectPool.get(pool), lease))), (leased) => {
            if (Exit.isFailure(leased)) {
              if (!Exit.hasInterrupts(leased)) counters.errors++
              return fail(lease, leased.cause)
            }
            const connection = leased.value
            const m = meta.get(connection)
            if (m === undefined || expired(m, clock.currentTimeMillisUnsafe())) return reject(lease, connection)
            const existed = m.seq <= seqAtStart
            if (!existed || isHealthy === undefined) return accept(lease, connection, m, existed)
            return Effect.flatMap(Effect.exit(restore(healthy(connection))), (checked) => {
              // interrupted while checking: hand the connection back untouched
              if (Exit.isFailure(checked)) return fail(lease, checked.cause)
              return checked.value ? accept(lease, connection, m, existed) : reject(lease, connection)
            })
          })
      )
      return attempt
    })
  )

  const metrics = Effect.sync((): PoolMetrics => {
    let active = 0
    let idle = 0
    for (const item of liveItems()) {
      if (item.idle) idle++
      else active++
    }
    const total = active + idle
    return {
      connectionsCreated: counters.created,
      connectionsReused: counters.reused,
      connectionsEvicted: counters.evicted,
      acquisitionErrors: counters.errors,
      activeConnections: active,
      idleConnections: idle,
      waiters: waiting,
      totalWaitTimeMicros: counters.waitMicros,
      totalAcquisitions: counters.acquisitions,
      averageWaitTimeMicros: counters.acquisitions === 0 ? 0 : counters.waitMicros / counters.acquisitions,
      utilizationPercent: total === 0 ? 0 : (active / total) * 100
    }
  })

  return {
    [TypeId]: TypeId,
    config,
    get,
    use: (f) => Effect.scoped(Effect.flatMap(get, f)),
    invalidate: (connection) => EffectPool.invalidate(pool, connection),
    clear: Effect.suspend(() =>
      Effect.forEach(
        liveItems().filter((item) => item.idle),
        (item) => EffectPool.invalidate(pool, item.connection),
        { discard: true }
      )
    ),
    size: Effect.sync(() => liveItems().filter((item) => item.idle).length),
    metrics,
    circuitBreaker: Effect.sync(() => breaker.status(clock.currentTimeMillisUnsafe()))
  }
})

// -----------------------------------------------------------------------------
// pools of clients
// -----------------------------------------------------------------------------

/**
 * Options of {@link clients}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientsOptions {
  /** How each client connects (all to the same daemon). */
  readonly client?: Client.Options | undefined
  /** The crate's `PoolConfig`; missing fields take its defaults. */
  readonly config?: PoolConfigInput | undefined
  /**
   * How a pooled client is checked. Default `"connected"`: the client has a
   * live connection. `"ping"`: it also answers a `Ping` with `Pong`.
   */
  readonly healthCheck?: "connected" | "ping" | undefined
  /** How often idle clients are checked. Default 30 s. */
  readonly healthCheckInterval?: Duration.Input | undefined
  /** See {@link Options}. */
  readonly reapInterval?: Duration.Input | undefined
}

const clientHealthy = (mode: "connected" | "ping") => (client: Client.Client): Effect.Effect<boolean> =>
  Effect.flatMap(client.info, (info) => {
    if (info === undefined) return Effect.succeed(false)
    if (mode === "connected") return Effect.succeed(true)
    return client.request(Message.Ping()).pipe(
      Effect.map((reply) => reply._tag === "Pong"),
      Effect.orElseSucceed(() => false)
    )
  })

/**
 * A pool of our secure `Client`s (`Client.make`) to one daemon. Each pooled
 * client is one connection with its own handshake; a client is closed
 * (`Disconnect`) when evicted or when the pool closes. Needs a `Crypto`
 * provider.
 *
 * ```ts
 * const pool = yield* Pool.clients({
 *   client: { connect: { tcp: { host: "127.0.0.1", port: 9000 } } },
 *   config: { min_size: 1, max_size: 8 }
 * })
 * const reply = yield* pool.use((client) => client.request(Message.Echo({ text: "hi" })))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const clients = (
  options: ClientsOptions = {}
): Effect.Effect<
  Pool<Client.Client, ProtocolError.ProtocolError>,
  ProtocolError.ProtocolError,
  Crypto.Crypto | Scope.Scope
> =>
  make({
    acquire: Client.make(options.client),
    isHealthy: clientHealthy(options.healthCheck ?? "connected"),
    config: options.config,
    healthCheckInterval: options.healthCheckInterval,
    reapInterval: options.reapInterval
  })

/**
 * A pool of clients as a service.
 *
 * @category services
 * @since 0.1.0
 */
export class ClientPool extends Context.Service<ClientPool, Pool<Client.Client, ProtocolError.ProtocolError>>()(
  "network-protocol/Pool/ClientPool"
) {}

/**
 * {@link clients} as a layer providing {@link ClientPool}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClients = (
  options: ClientsOptions = {}
): Layer.Layer<ClientPool, ProtocolError.ProtocolError, Crypto.Crypto> => Layer.effect(ClientPool, clients(options))
