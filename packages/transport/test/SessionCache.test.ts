import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { TestClock } from "effect/testing"
import * as SessionCache from "../src/SessionCache.ts"

const bytes = (n: number) => Uint8Array.of(n)

describe("SessionCache", () => {
  it.effect("keys by host, port and server name", () =>
    Effect.sync(() => {
      assert.strictEqual(SessionCache.key("127.0.0.1", 443, "example.org"), "127.0.0.1:443/example.org")
      assert.strictEqual(SessionCache.key("::1", 443, undefined), "[::1]:443/")
      assert.notStrictEqual(SessionCache.key("h", 1, "a"), SessionCache.key("h", 1, "b"))
    }))

  it.effect("evicts the least recently used entry beyond maxEntries", () =>
    Effect.gen(function*() {
      const cache = yield* SessionCache.make({ maxEntries: 2 })
      assert.isTrue(SessionCache.isSessionCache(cache))
      yield* cache.set("a", bytes(1))
      yield* cache.set("b", bytes(2))
      // using "a" makes "b" the oldest
      assert.deepStrictEqual(yield* cache.get("a"), Option.some(bytes(1)))
      yield* cache.set("c", bytes(3))
      assert.isTrue(Option.isNone(yield* cache.get("b")))
      assert.deepStrictEqual(yield* cache.get("a"), Option.some(bytes(1)))
      assert.deepStrictEqual(yield* cache.get("c"), Option.some(bytes(3)))
      const stats = yield* cache.stats
      assert.strictEqual(stats.entries, 2)
      assert.strictEqual(stats.evicted, 1)
      assert.strictEqual(stats.inserts, 3)
      assert.strictEqual(stats.hits, 3)
      assert.strictEqual(stats.misses, 1)
    }))

  it.effect("expires entries after their time to live (Clock)", () =>
    Effect.gen(function*() {
      const cache = yield* SessionCache.make({ timeToLive: "10 minutes" })
      yield* cache.set("a", bytes(1))
      yield* TestClock.adjust("9 minutes")
      yield* cache.set("b", bytes(2))
      assert.isTrue(Option.isSome(yield* cache.get("a")))
      yield* TestClock.adjust("1 minute")
      assert.isTrue(Option.isNone(yield* cache.get("a")))
      assert.isTrue(Option.isSome(yield* cache.get("b")))
      yield* TestClock.adjust("9 minutes")
      assert.strictEqual((yield* cache.stats).entries, 0)
      assert.strictEqual((yield* cache.stats).expired, 2)
    }))

  it.effect("replaces, invalidates and clears", () =>
    Effect.gen(function*() {
      const cache = yield* SessionCache.make()
      yield* cache.set("a", bytes(1))
      yield* cache.set("a", bytes(9))
      assert.deepStrictEqual(yield* cache.get("a"), Option.some(bytes(9)))
      yield* cache.invalidate("a")
      assert.isTrue(Option.isNone(yield* cache.get("a")))
      yield* cache.set("b", bytes(2))
      yield* cache.clear
      assert.strictEqual((yield* cache.stats).entries, 0)
    }))
})
