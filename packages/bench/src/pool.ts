/**
 * Pool benchmark: the cost of `pool.use` (acquire an idle connection, run a
 * no-op, return it) against a bare `Effect.scoped`, uncontended and with 64
 * fibers sharing 8 connections. (Multiplexing is measured by `npm run bench`,
 * scenario `multiplex-64`.)
 *
 * ```sh
 * ./node_modules/.bin/node packages/bench/src/pool.ts [--quick]
 * ```
 *
 * Each case runs for a fixed time after a warm-up and reports operations per
 * second and the mean time per operation. Bounded: about 10 s, `--quick`
 * about 3 s.
 *
 * @since 0.1.0
 */
import * as Util from "node:util"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Pool from "@network-protocol/service/Pool"

const { values } = Util.parseArgs({ options: { quick: { type: "boolean", default: false } } })

const settings = values.quick === true
  ? { warmupMs: 200, measureMs: 700 }
  : { warmupMs: 500, measureMs: 2500 }

interface Figure {
  readonly opsPerSecond: number
  readonly microsPerOp: number
}

/** Runs `concurrency` loops of `op` for the warm-up, then counts completions for `measureMs`. */
const measure = <E>(name: string, concurrency: number, op: Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    let count = 0
    let running = true
    const loop = Effect.whileLoop({ while: () => running, body: () => op, step: () => count++ })
    const fibers = yield* Effect.forEach(Array.from({ length: concurrency }), () => Effect.forkChild(loop))
    yield* Effect.sleep(settings.warmupMs)
    count = 0
    const start = performance.now()
    yield* Effect.sleep(settings.measureMs)
    const done = count
    const seconds = (performance.now() - start) / 1000
    running = false
    yield* Fiber.joinAll(fibers)
    const opsPerSecond = done / seconds
    const figure: Figure = { opsPerSecond, microsPerOp: 1e6 / opsPerSecond }
    console.log(
      `${name.padEnd(44)} ${String(concurrency).padStart(4)}  ${
        Math.round(opsPerSecond).toLocaleString("en-US").padStart(12)
      } ops/s  ${(concurrency * figure.microsPerOp).toFixed(1).padStart(9)} µs/op latency`
    )
    return figure
  })

const main = Effect.gen(function*() {
  const started = performance.now()
  console.log(`pool bench (${values.quick === true ? "quick" : "full"}), Node ${process.version}`)
  console.log(`${"case".padEnd(44)} ${"conc".padStart(4)}  ${"throughput".padStart(18)}  ${"latency".padStart(15)}`)
  let opened = 0
  const pool = yield* Pool.make({
    acquire: Effect.sync(() => ({ id: ++opened })),
    config: { min_size: 8, max_size: 8 }
  })
  const use = pool.use(() => Effect.void)
  const baseline = yield* measure("baseline: Effect.scoped(Effect.void)", 1, Effect.scoped(Effect.void))
  const single = yield* measure("pool.use (idle connection available)", 1, use)
  yield* measure("pool.use, 64 fibers on 8 connections", 64, Effect.andThen(use, Effect.yieldNow))
  const metrics = yield* pool.metrics
  console.log(
    `  → acquire + release overhead ≈ ${(single.microsPerOp - baseline.microsPerOp).toFixed(2)} µs; ` +
      `${metrics.connectionsCreated} connections created for ` +
      `${metrics.totalAcquisitions.toLocaleString("en-US")} acquisitions`
  )
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}).pipe(Effect.scoped)

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
