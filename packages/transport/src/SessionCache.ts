/**
 * A bounded, expiring cache of TLS client sessions, for session resumption
 * (SPEC §5.13 describes the crate's cache, which nothing ever feeds or reads).
 *
 * `Tls.connect` with a `sessionCache` looks a session up before dialing (key:
 * host, port and server name), passes it to `tls.connect` as `session`, and
 * stores the sessions the server issues (Node's `session` event) once the
 * connection has passed verification. `Connection.info.tls.resumed` then says
 * whether the server accepted it.
 *
 * Use one cache per client configuration: a session is only as trustworthy
 * as the verification of the connection that produced it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/transport/SessionCache" as const

/**
 * Counters of a cache.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly entries: number
  readonly maxEntries: number
  readonly hits: number
  readonly misses: number
  readonly inserts: number
  /** Entries dropped because they were older than the time to live. */
  readonly expired: number
  /** Entries dropped to stay within `maxEntries`. */
  readonly evicted: number
}

/**
 * A session cache.
 *
 * **Details**
 *
 * The `…Unsafe` methods are synchronous (for Node event handlers) and read
 * the `Clock` captured when the cache was made.
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionCache {
  readonly [TypeId]: typeof TypeId
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>>
  readonly set: (key: string, session: Uint8Array) => Effect.Effect<void>
  readonly invalidate: (key: string) => Effect.Effect<void>
  readonly clear: Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  readonly getUnsafe: (key: string) => Uint8Array | undefined
  readonly setUnsafe: (key: string, session: Uint8Array) => void
  readonly invalidateUnsafe: (key: string) => void
}

/**
 * Options of a cache.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Most sessions kept; the least recently used goes first. Default 256. */
  readonly maxEntries?: number | undefined
  /** How long a session stays usable. Default 5 minutes (Node's server default `sessionTimeout`). */
  readonly timeToLive?: Duration.Input | undefined
}

/**
 * Tells whether a value is a `SessionCache`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isSessionCache = (u: unknown): u is SessionCache => Predicate.hasProperty(u, TypeId)

/**
 * The cache key of a server: `host:port` and the SNI server name.
 *
 * @category keys
 * @since 0.1.0
 */
export const key = (host: string, port: number, serverName: string | undefined): string =>
  `${host.includes(":") ? `[${host}]` : host}:${port}/${serverName ?? ""}`

interface Entry {
  readonly session: Uint8Array
  readonly expiresAt: number
}

/**
 * Makes a cache with the current `Clock` (virtual under `TestClock`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<SessionCache> =>
  Effect.clockWith((clock) => Effect.sync(() => makeWith(clock, options)))

const makeWith = (clock: Clock.Clock, options: Options): SessionCache => {
  const maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 256))
  const ttl = Duration.toMillis(Duration.fromInputUnsafe(options.timeToLive ?? Duration.minutes(5)))
  // a Map iterates in insertion order: re-inserting on use keeps it in LRU order
  const entries = new Map<string, Entry>()
  let hits = 0
  let misses = 0
  let inserts = 0
  let expired = 0
  let evicted = 0

  const sweep = (now: number) => {
    for (const [k, entry] of entries) {
      if (entry.expiresAt <= now) {
        entries.delete(k)
        expired++
      }
    }
  }
  const getUnsafe = (k: string): Uint8Array | undefined => {
    const entry = entries.get(k)
    if (entry === undefined) {
      misses++
      return undefined
    }
    entries.delete(k)
    if (entry.expiresAt <= clock.currentTimeMillisUnsafe()) {
      expired++
      misses++
      return undefined
    }
    entries.set(k, entry)
    hits++
    return entry.session
  }
  const setUnsafe = (k: string, session: Uint8Array): void => {
    const now = clock.currentTimeMillisUnsafe()
    sweep(now)
    entries.delete(k)
    entries.set(k, { session, expiresAt: now + ttl })
    inserts++
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next()
      if (oldest.done === true) break
      entries.delete(oldest.value)
      evicted++
    }
  }
  const invalidateUnsafe = (k: string): void => {
    entries.delete(k)
  }
  return {
    [TypeId]: TypeId,
    get: (k) => Effect.sync(() => Option.fromUndefinedOr(getUnsafe(k))),
    set: (k, session) => Effect.sync(() => setUnsafe(k, session)),
    invalidate: (k) => Effect.sync(() => invalidateUnsafe(k)),
    clear: Effect.sync(() => entries.clear()),
    stats: Effect.sync(() => {
      sweep(clock.currentTimeMillisUnsafe())
      return { entries: entries.size, maxEntries, hits, misses, inserts, expired, evicted }
    }),
    getUnsafe,
    setUnsafe,
    invalidateUnsafe
  }
}
