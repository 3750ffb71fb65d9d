import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as ReplayCache from "../src/ReplayCache.ts"

/** A distinct 16-byte nonce per integer. */
const nonce = (n: number): Uint8Array => {
  const bytes = new Uint8Array(16)
  new DataView(bytes.buffer).setUint32(0, n)
  bytes[15] = 0xa5
  return bytes
}

const T = 1_700_000_000_000n

describe("ReplayCache (crate tests, SPEC §13.1)", () => {
  it.effect("test_replay_detection: the same nonce and timestamp a second time is a replay", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "60 seconds", maxEntries: 100 })
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
      assert.isTrue(yield* cache.isReplay(nonce(1), T))
      assert.isTrue(yield* cache.isReplay(nonce(1), T))
      assert.strictEqual((yield* cache.stats).entries, 1)
    }))

  it.effect("test_different_nonce_allowed: two nonces with the same timestamp are both new", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "60 seconds", maxEntries: 100 })
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
      assert.isFalse(yield* cache.isReplay(nonce(2), T))
      assert.strictEqual((yield* cache.stats).entries, 2)
    }))

  it.effect("same nonce, different timestamp: a replay (our policy; the crate allows it)", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "60 seconds", maxEntries: 100 })
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
      // an attacker rewriting the unauthenticated timestamp must not get through
      assert.isTrue(yield* cache.isReplay(nonce(1), T + 1n))
      assert.isTrue(yield* cache.isReplay(nonce(1), T - 5_000n))
      assert.strictEqual((yield* cache.stats).entries, 1)
    }))

  it.effect("test_expiration: after the TTL the same pair is new again (TestClock)", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "10 millis", maxEntries: 100 })
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
      yield* TestClock.adjust("10 millis")
      // remembered for the whole TTL, inclusive
      assert.isTrue(yield* cache.isReplay(nonce(1), T))
      yield* TestClock.adjust("10 millis")
      assert.strictEqual((yield* cache.stats).entries, 0)
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
      assert.isTrue(yield* cache.isReplay(nonce(1), T))
      assert.strictEqual((yield* cache.stats).entries, 1)
    }))

  it.effect("test_max_entries_limit: max 5, 10 inserts → 5 entries, the newest", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "60 seconds", maxEntries: 5 })
      for (let i = 0; i < 10; i++) assert.isFalse(yield* cache.isReplay(nonce(i), T))
      const stats = yield* cache.stats
      assert.strictEqual(stats.entries, 5)
      assert.strictEqual(stats.evictions, 5)
      // FIFO: 5..9 are remembered, 0..4 were evicted (checking 5..9 does not insert)
      for (let i = 5; i < 10; i++) assert.isTrue(yield* cache.isReplay(nonce(i), T), `nonce ${i}`)
      assert.isFalse(yield* cache.isReplay(nonce(0), T))
      assert.isFalse(yield* cache.isReplay(nonce(5), T), "5 was the oldest, evicted by re-adding 0")
    }))

  it.effect("stats: entries, maxEntries, ttl; clear forgets everything", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make({ ttl: "90 seconds", maxEntries: 7 })
      yield* cache.isReplay(nonce(1), T)
      yield* cache.isReplay(nonce(2), T)
      const stats = yield* cache.stats
      assert.strictEqual(stats.entries, 2)
      assert.strictEqual(stats.maxEntries, 7)
      assert.strictEqual(Duration.toMillis(stats.ttl), 90_000)
      assert.strictEqual(cache.ttlMillis, 90_000)
      yield* cache.clear
      assert.strictEqual((yield* cache.stats).entries, 0)
      assert.isFalse(yield* cache.isReplay(nonce(1), T))
    }))

  it.effect("defaults: 300 s and 10,000 entries", () =>
    Effect.gen(function*() {
      const stats = yield* (yield* ReplayCache.make()).stats
      assert.strictEqual(stats.maxEntries, 10_000)
      assert.strictEqual(Duration.toSeconds(stats.ttl), 300)
    }))

  it("rejects invalid options as programming errors", () => {
    assert.throws(() => ReplayCache.makeUnsafe({ maxEntries: 0 }), RangeError)
    assert.throws(() => ReplayCache.makeUnsafe({ maxEntries: 1.5 }), RangeError)
    assert.throws(() => ReplayCache.makeUnsafe({ ttl: 0 }), RangeError)
    assert.throws(() => ReplayCache.makeUnsafe({ ttl: -5 }), RangeError)
  })

  it.effect("the layer provides one cache shared by every user", () =>
    Effect.gen(function*() {
      const a = yield* ReplayCache.ReplayCache
      const b = yield* ReplayCache.ReplayCache
      assert.strictEqual(a, b)
      assert.isTrue(ReplayCache.isReplayCache(a))
      assert.isFalse(yield* a.isReplay(nonce(1), T))
      assert.isTrue(yield* b.isReplay(nonce(1), T))
    }).pipe(Effect.provide(ReplayCache.layer({ maxEntries: 3 }))))
})

describe("ReplayCache eviction", () => {
  it("FIFO with re-inserts after expiry: eviction removes the oldest live entry, never a newer one", () => {
    const cache = ReplayCache.makeUnsafe({ ttl: 10, maxEntries: 3 })
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 0)) // A
    assert.isFalse(cache.isReplayUnsafe(nonce(2), T, 5)) // B
    // A expires and comes back: it is now newer than B
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 11))
    assert.isFalse(cache.isReplayUnsafe(nonce(3), T, 12)) // C
    assert.isFalse(cache.isReplayUnsafe(nonce(4), T, 13)) // D evicts B, the oldest live
    assert.strictEqual(cache.statsUnsafe(13).evictions, 1)
    assert.isTrue(cache.isReplayUnsafe(nonce(1), T, 13))
    assert.isTrue(cache.isReplayUnsafe(nonce(3), T, 13))
    assert.isTrue(cache.isReplayUnsafe(nonce(4), T, 13))
    assert.strictEqual(cache.statsUnsafe(13).entries, 3)
    assert.isFalse(cache.isReplayUnsafe(nonce(2), T, 13)) // B was the one evicted (and evicts A now)
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 13))
  })

  it("the crate's duplicate-queue scenario: a repeated nonce leaves no second queue slot", () => {
    // crate: A(ts1), B, A(ts2) re-inserted → queue [A, B, A]; two more inserts pop both A slots
    // and its FIFO evicts in the wrong order. Here A(ts2) is a replay and changes nothing.
    const cache = ReplayCache.makeUnsafe({ ttl: 60_000, maxEntries: 3 })
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 0))
    assert.isFalse(cache.isReplayUnsafe(nonce(2), T, 1))
    assert.isTrue(cache.isReplayUnsafe(nonce(1), T + 1n, 2))
    assert.isFalse(cache.isReplayUnsafe(nonce(3), T, 3))
    assert.isFalse(cache.isReplayUnsafe(nonce(4), T, 4)) // evicts A (oldest)
    assert.isFalse(cache.isReplayUnsafe(nonce(5), T, 5)) // evicts B
    assert.strictEqual(cache.statsUnsafe(5).entries, 3)
    assert.strictEqual(cache.statsUnsafe(5).evictions, 2)
    for (const n of [3, 4, 5]) assert.isTrue(cache.isReplayUnsafe(nonce(n), T, 6), `nonce ${n}`)
  })

  it("a wall clock going backwards leaves stale slots that are skipped, not evicted in place of live entries", () => {
    const cache = ReplayCache.makeUnsafe({ ttl: 10, maxEntries: 3 })
    assert.isFalse(cache.isReplayUnsafe(nonce(2), T, 100)) // B at 100
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 50)) // A at 50 (clock went back), queued after B
    // at 61 A has expired but sits behind live B; it is treated as absent and re-inserted
    assert.isFalse(cache.isReplayUnsafe(nonce(1), T, 61))
    assert.strictEqual(cache.statsUnsafe(61).entries, 2)
    assert.isFalse(cache.isReplayUnsafe(nonce(3), T, 62)) // C
    assert.isFalse(cache.isReplayUnsafe(nonce(4), T, 63)) // D: evicts B (first slot)
    assert.isFalse(cache.isReplayUnsafe(nonce(5), T, 64)) // E: skips A's stale slot, evicts A(61)
    assert.strictEqual(cache.statsUnsafe(64).evictions, 2)
    for (const n of [3, 4, 5]) assert.isTrue(cache.isReplayUnsafe(nonce(n), T, 64), `nonce ${n}`)
    assert.strictEqual(cache.statsUnsafe(64).entries, 3)
  })

  it("property: matches a reference FIFO model under random checks and clock advances", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("check" as const), n: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant("advance" as const), by: fc.integer({ min: 0, max: 15 }) })
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 200 }), (
        maxEntries,
        ttl,
        ops
      ) => {
        const cache = ReplayCache.makeUnsafe({ ttl, maxEntries })
        let model: Array<{ readonly n: number; readonly at: number }> = []
        let now = 0
        for (const o of ops) {
          if (o.kind === "advance") {
            now += o.by
            continue
          }
          model = model.filter((e) => now - e.at <= ttl)
          const expected = model.some((e) => e.n === o.n)
          if (!expected) {
            if (model.length >= maxEntries) model.shift()
            model.push({ n: o.n, at: now })
          }
          assert.strictEqual(cache.isReplayUnsafe(nonce(o.n), T, now), expected)
          assert.strictEqual(cache.statsUnsafe(now).entries, model.length)
        }
      })
    )
  })

  it("stays bounded under 100k distinct inserts, keeping the newest", () => {
    const cache = ReplayCache.makeUnsafe({ ttl: 300_000, maxEntries: 1_000 })
    let replays = 0
    for (let i = 0; i < 100_000; i++) if (cache.isReplayUnsafe(nonce(i), T, 0)) replays++
    assert.strictEqual(replays, 0)
    const stats = cache.statsUnsafe(0)
    assert.strictEqual(stats.entries, 1_000)
    assert.strictEqual(stats.evictions, 99_000)
    let remembered = 0
    for (let i = 99_000; i < 100_000; i++) if (cache.isReplayUnsafe(nonce(i), T, 0)) remembered++
    assert.strictEqual(remembered, 1_000)
    assert.isFalse(cache.isReplayUnsafe(nonce(98_999), T, 0))
  })

  it("stays bounded under 100k inserts while time passes, expiring instead of evicting", () => {
    const cache = ReplayCache.makeUnsafe({ ttl: 1_000, maxEntries: 5_000 })
    // 10 inserts per ms: about 10,010 would be live within the TTL, so some are evicted
    let replays = 0
    let largest = 0
    for (let i = 0; i < 100_000; i++) {
      const now = Math.floor(i / 10)
      if (cache.isReplayUnsafe(nonce(i), T, now)) replays++
      if (i % 1_000 === 0) largest = Math.max(largest, cache.statsUnsafe(now).entries)
    }
    assert.strictEqual(replays, 0)
    assert.strictEqual(largest, 5_000)
    assert.strictEqual(cache.statsUnsafe(9_999).entries, 5_000)
    // once everything is older than the TTL, nothing is left
    assert.strictEqual(cache.statsUnsafe(9_999 + 1_001).entries, 0)
  })
})
