/**
 * A bounded cache of the handshake nonces a server has accepted, shared by
 * every connection of that server, so that a recorded `SecureHandshakeInit`
 * replayed on a new connection is refused (SPEC §3.3 step 2, §3.5).
 *
 * **Key policy — the nonce alone.** The crate keys its cache by
 * (`ip:port`, nonce) and builds a fresh cache per connection, so it never
 * detects anything (SPEC §3.5, §15.1 #3): a replayed Init necessarily arrives
 * on another connection, from another source port, usually from another
 * address. Here the peer id is deliberately **not** part of the key: the
 * 16-byte client nonce is 128 random bits, so two honest handshakes share a
 * nonce with negligible probability (birthday bound ≈ 2⁻⁶⁴ for 2³² entries),
 * and a repeated nonce means a repeated Init whoever sends it.
 *
 * **Timestamps do not rescue a repeated nonce.** The crate lets the same nonce
 * through when the timestamp differs. Nothing authenticates the Init — the
 * timestamp is a plain field an attacker can rewrite — so that rule would let
 * anyone bypass the cache by adding 1 ms to a recorded Init. Here the same
 * nonce within the TTL is a replay whatever its timestamp. Honest clients draw
 * a fresh nonce for every handshake, so this never refuses them.
 *
 * **Bounds.** Entries live for `ttl` (default 300 s) after insertion and at
 * most `maxEntries` (default 10,000) are held; when full, the oldest entry is
 * evicted (FIFO). For the cache to be complete, the TTL must cover the
 * handshake's acceptance window (30 s past + 2 s future by default): an Init
 * whose entry has expired is then refused by the timestamp check instead.
 * Eviction of a live entry (more than `maxEntries` handshakes inside the TTL)
 * re-opens the window for that nonce, so size `maxEntries` for the expected
 * handshake rate × window; `stats` counts evictions.
 *
 * **Time** is the wall clock in milliseconds from Effect's `Clock` (so
 * `TestClock` drives it), the same clock the handshake compares timestamps
 * with. Every operation is O(1) amortized: a `Map` from nonce to entry plus an
 * insertion-ordered queue of entries; queue slots whose key has been
 * re-inserted are recognised by identity and skipped, so eviction never
 * removes a newer entry (the crate's duplicate-key bug).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/ReplayCache" as const

/**
 * The default time an accepted nonce is remembered: 300 seconds (as the crate).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_TTL: Duration.Duration = Duration.seconds(300)

/**
 * The default maximum number of remembered nonces: 10,000 (as the crate).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_MAX_ENTRIES = 10_000

/**
 * Options of a replay cache.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How long an accepted nonce is remembered. Default 300 s. Must be positive. */
  readonly ttl?: Duration.Input | undefined
  /** The most nonces held at once; the oldest is evicted beyond. Default 10,000. Must be ≥ 1. */
  readonly maxEntries?: number | undefined
}

/**
 * A snapshot of a cache.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /**
   * Entries held, after dropping the expired ones. Exact while the wall clock
   * moves forward; after it has gone back, entries that expired behind a
   * newer one are counted until they reach the front of the queue.
   */
  readonly entries: number
  readonly maxEntries: number
  readonly ttl: Duration.Duration
  /** Live entries dropped because the cache was full, since creation or the last `clear`. */
  readonly evictions: number
}

/**
 * A replay cache. One value is shared by all connections of a server.
 *
 * The `…Unsafe` methods are synchronous and take the current wall-clock time
 * in milliseconds explicitly (the pure handshake state machine uses them);
 * the others read it from `Clock`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplayCache extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The time-to-live of an entry, in milliseconds. */
  readonly ttlMillis: number
  readonly maxEntries: number
  /**
   * Records `nonce` and tells whether it was already recorded within the TTL
   * (`true`: a replay, nothing changes). `timestamp` is the Init's timestamp,
   * as in the crate's `is_replay`; by this module's policy it does not take
   * part in the decision (see the module documentation).
   */
  readonly isReplay: (nonce: Uint8Array, timestamp: bigint) => Effect.Effect<boolean>
  /** {@link ReplayCache.isReplay} at an explicit time `nowMillis`. */
  readonly isReplayUnsafe: (nonce: Uint8Array, timestamp: bigint, nowMillis: number) => boolean
  /** Expired entries are dropped first, so `entries` counts live ones. */
  readonly stats: Effect.Effect<Stats>
  /** {@link ReplayCache.stats} at an explicit time `nowMillis`. */
  readonly statsUnsafe: (nowMillis: number) => Stats
  /** Forgets every entry. */
  readonly clear: Effect.Effect<void>
}

/**
 * The server's replay cache as a service, shared by all its connections.
 *
 * @category services
 * @since 0.1.0
 */
export const ReplayCache: Context.Service<ReplayCache, ReplayCache> = Context.Service<ReplayCache>(
  "network-protocol/ReplayCache"
)

/**
 * Tells whether a value is a `ReplayCache`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isReplayCache = (u: unknown): u is ReplayCache => Predicate.hasProperty(u, TypeId)

interface Entry {
  readonly key: string
  readonly insertedAt: number
}

/** A 16-byte nonce as a 16-character one-byte string: a cheap, exact Map key. */
const keyOf = (nonce: Uint8Array): string => String.fromCharCode.apply(null, nonce as unknown as Array<number>)

class ReplayCacheImpl implements ReplayCache {
  pipe() {
    return Pipeable.pipeArguments(this, arguments)
  }

  readonly [TypeId] = TypeId
  readonly ttlMillis: number
  readonly maxEntries: number
  readonly ttl: Duration.Duration
  private readonly entries = new Map<string, Entry>()
  // Insertion-ordered entries; `queue[head]` is the oldest slot still queued.
  private queue: Array<Entry> = []
  private head = 0
  private evictions = 0

  constructor(ttl: Duration.Duration, maxEntries: number) {
    this.ttl = ttl
    this.ttlMillis = Duration.toMillis(ttl)
    this.maxEntries = maxEntries
  }

  readonly isReplay = (nonce: Uint8Array, timestamp: bigint): Effect.Effect<boolean> =>
    Effect.clockWith((clock) =>
      Effect.sync(() => this.isReplayUnsafe(nonce, timestamp, clock.currentTimeMillisUnsafe()))
    )

  readonly isReplayUnsafe = (nonce: Uint8Array, _timestamp: bigint, nowMillis: number): boolean => {
    this.prune(nowMillis)
    const key = keyOf(nonce)
    const existing = this.entries.get(key)
    // `prune` stops at the first live slot, so an expired entry can remain
    // behind it if the wall clock went backwards: treat it as absent.
    if (existing !== undefined) {
      if (!this.expired(existing, nowMillis)) return true
      this.entries.delete(key)
    }
    while (this.entries.size >= this.maxEntries) this.evictOldest()
    const entry: Entry = { key, insertedAt: nowMillis }
    // A replaced expired entry leaves a stale queue slot; `isCurrent` skips it.
    this.entries.set(key, entry)
    this.queue.push(entry)
    this.compact()
    return false
  }

  readonly stats: Effect.Effect<Stats> = Effect.clockWith((clock) =>
    Effect.sync(() => this.statsUnsafe(clock.currentTimeMillisUnsafe()))
  )

  readonly statsUnsafe = (nowMillis: number): Stats => {
    this.prune(nowMillis)
    return { entries: this.entries.size, maxEntries: this.maxEntries, ttl: this.ttl, evictions: this.evictions }
  }

  readonly clear: Effect.Effect<void> = Effect.sync(() => {
    this.entries.clear()
    this.queue = []
    this.head = 0
    this.evictions = 0
  })

  private expired(entry: Entry, nowMillis: number): boolean {
    return nowMillis - entry.insertedAt > this.ttlMillis
  }

  private isCurrent(entry: Entry): boolean {
    return this.entries.get(entry.key) === entry
  }

  /** Drops expired entries from the front of the queue. */
  private prune(nowMillis: number): void {
    const queue = this.queue
    while (this.head < queue.length) {
      const entry = queue[this.head]
      if (this.isCurrent(entry)) {
        if (!this.expired(entry, nowMillis)) break
        this.entries.delete(entry.key)
      }
      this.head++
    }
    this.compact()
  }

  /** Removes the oldest live entry. */
  private evictOldest(): void {
    const queue = this.queue
    while (this.head < queue.length) {
      const entry = queue[this.head++]
      if (this.isCurrent(entry)) {
        this.entries.delete(entry.key)
        this.evictions++
        return
      }
    }
  }

  /** Keeps the queue's memory proportional to the live entries. */
  private compact(): void {
    const queued = this.queue.length - this.head
    if (queued === 0) {
      if (this.queue.length > 0) {
        this.queue = []
        this.head = 0
      }
    } else if (queued > 2 * this.entries.size + 16) {
      // Many stale slots (only after the wall clock went backwards): drop them.
      this.queue = this.queue.slice(this.head).filter((entry) => this.isCurrent(entry))
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}

/**
 * Makes a cache synchronously. Throws a `RangeError` for a non-positive TTL or
 * a `maxEntries` that is not a positive integer (programming errors).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: Options): ReplayCache => {
  const ttl = Duration.fromInputUnsafe(options?.ttl ?? DEFAULT_TTL)
  if (!Duration.isPositive(ttl)) throw new RangeError(`ReplayCache ttl must be positive, got ${Duration.format(ttl)}`)
  const maxEntries = options?.maxEntries ?? DEFAULT_MAX_ENTRIES
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`ReplayCache maxEntries must be a positive integer, got ${maxEntries}`)
  }
  return new ReplayCacheImpl(ttl, maxEntries)
}

/**
 * Makes a cache. Create one per server and share it between its connections
 * (see {@link layer}). Dies with a `RangeError` on invalid options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<ReplayCache> => Effect.sync(() => makeUnsafe(options))

/**
 * Provides one {@link ReplayCache} for a server.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ReplayCache> => Layer.effect(ReplayCache, make(options))
