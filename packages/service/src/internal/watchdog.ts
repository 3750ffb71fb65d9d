/**
 * One timer for many sessions: each watched session says when it next needs
 * to be looked at (a heartbeat to send, a dead or idle peer to drop), and a
 * single fiber sleeps until the earliest of those times, on the `Clock` (so
 * `TestClock` drives it in tests). A session costs one heap entry, not a
 * fiber and a timer of its own.
 *
 * Deadlines only move later as traffic flows, so entries are re-checked
 * lazily: when an entry comes due, its session is asked again and either acts
 * or gives its new deadline.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * Something the watchdog looks at.
 *
 * @internal
 */
export interface Watched {
  /**
   * Called when its deadline has come: does what is due and returns the next
   * deadline (epoch milliseconds), or `undefined` to be dropped.
   */
  readonly tick: (now: number) => number | undefined
}

interface Entry {
  readonly at: number
  readonly target: Watched
}

/**
 * The watchdog: `add` a target with its first deadline; `run` is the fiber.
 *
 * @internal
 */
export interface Watchdog {
  readonly add: (target: Watched, at: number) => void
  readonly run: Effect.Effect<never>
}

const siftUp = (heap: Array<Entry>, index: number): void => {
  const entry = heap[index]
  while (index > 0) {
    const parent = (index - 1) >> 1
    if (heap[parent].at <= entry.at) break
    heap[index] = heap[parent]
    index = parent
  }
  heap[index] = entry
}

const siftDown = (heap: Array<Entry>, index: number): void => {
  const entry = heap[index]
  const length = heap.length
  while (true) {
    const left = 2 * index + 1
    if (left >= length) break
    const right = left + 1
    const child = right < length && heap[right].at < heap[left].at ? right : left
    if (heap[child].at >= entry.at) break
    heap[index] = heap[child]
    index = child
  }
  heap[index] = entry
}

const pop = (heap: Array<Entry>): Entry | undefined => {
  const top = heap[0]
  const last = heap.pop()
  if (top !== undefined && last !== undefined && heap.length > 0) {
    heap[0] = last
    siftDown(heap, 0)
  }
  return top
}

/**
 * A watchdog. Run its `run` effect in a fiber for as long as targets are
 * added (a target's `tick` returning `undefined` removes it).
 *
 * @internal
 */
export const make = (): Watchdog => {
  const heap: Array<Entry> = []
  /** When the fiber will next wake up on its own (`Infinity` when it waits for an `add`). */
  let wakeAt = Infinity
  let wake: Deferred.Deferred<void> | undefined

  const add = (target: Watched, at: number): void => {
    heap.push({ at, target })
    siftUp(heap, heap.length - 1)
    if (at < wakeAt && wake !== undefined) {
      const signal = wake
      wake = undefined
      Deferred.doneUnsafe(signal, Effect.void)
    }
  }

  const run: Effect.Effect<never> = Effect.gen(function*() {
    const clock = yield* Clock.Clock
    while (true) {
      const now = clock.currentTimeMillisUnsafe()
      while (heap.length > 0 && heap[0].at <= now) {
        const entry = pop(heap) as Entry
        const next = entry.target.tick(now)
        if (next !== undefined) {
          heap.push({ at: Math.max(next, now + 1), target: entry.target })
          siftUp(heap, heap.length - 1)
        }
      }
      const signal = Deferred.makeUnsafe<void>()
      wake = signal
      if (heap.length === 0) {
        wakeAt = Infinity
        yield* Deferred.await(signal)
      } else {
        wakeAt = heap[0].at
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(wakeAt - now)), Deferred.await(signal))
      }
      wake = undefined
      wakeAt = Infinity
    }
  })

  return { add, run }
}
