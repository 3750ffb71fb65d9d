/**
 * The daemon's shared timer (internal/watchdog.ts), on TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Watchdog from "../src/internal/watchdog.ts"

/** A target ticking every `period` ms, `times` times, recording when it ran. */
const periodic = (name: string, period: number, times: number, log: Array<string>): Watchdog.Watched => {
  let left = times
  return {
    tick: (now) => {
      log.push(`${name}@${now}`)
      left--
      return left > 0 ? now + period : undefined
    }
  }
}

describe("watchdog", () => {
  it.effect("ticks each target at its own deadlines, in time order, and drops finished ones", () =>
    Effect.gen(function*() {
      const watchdog = Watchdog.make()
      const fiber = yield* Effect.forkChild(watchdog.run)
      const log: Array<string> = []
      watchdog.add(periodic("a", 300, 3, log), 300)
      watchdog.add(periodic("b", 200, 2, log), 200)
      yield* TestClock.adjust("199 millis")
      assert.deepStrictEqual(log, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(log, ["b@200"])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(log, ["b@200", "a@300", "b@400", "a@600", "a@900"])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a target added while the timer sleeps with a later deadline wakes it at the earlier one", () =>
    Effect.gen(function*() {
      const watchdog = Watchdog.make()
      const fiber = yield* Effect.forkChild(watchdog.run)
      const log: Array<string> = []
      watchdog.add(periodic("late", 10_000, 1, log), 10_000)
      yield* TestClock.adjust("10 millis")
      watchdog.add(periodic("early", 1, 1, log), 50)
      yield* TestClock.adjust("40 millis")
      assert.deepStrictEqual(log, ["early@50"])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(log, ["early@50", "late@10000"])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("with no targets the timer waits for one, and many targets each tick once per period", () =>
    Effect.gen(function*() {
      const watchdog = Watchdog.make()
      const fiber = yield* Effect.forkChild(watchdog.run)
      yield* TestClock.adjust("1 hour")
      const counts = new Array<number>(1000).fill(0)
      for (let i = 0; i < counts.length; i++) {
        const start = 3_600_000 + 1 + (i % 100)
        watchdog.add({
          tick: (now) => {
            counts[i]++
            return now + 1000
          }
        }, start)
      }
      yield* TestClock.adjust("10 seconds")
      // 10 s at one tick per second, starting within the first 100 ms
      assert.isTrue(counts.every((n) => n === 10), `ticks: ${Array.from(new Set(counts)).join(", ")}`)
      yield* Fiber.interrupt(fiber)
    }))
})
