/**
 * Multiplexer and pool benchmarks.
 *
 * ```sh
 * ./node_modules/.bin/node packages/bench/src/multiplex.ts [--quick]
 * ```
 *
 * - **Multiplexing.** Request/response round trips of 64-byte payloads on one
 *   loopback TCP connection, with 64 requests in flight versus one at a time,
 *   for the raw frame (the crate's wire format) and for the encrypted form
 *   (`MUX` messages in the secure session, served by
 *   `Multiplexer.serveSession`, which replies out of order). The server runs
 *   in a child process (an echo handler), so client and server do not share
 *   one event loop.
 * - **Pool.** The cost of `pool.use` (acquire an idle connection, run a no-op,
 *   return it) against a bare `Effect.scoped`, uncontended and with 64
 *   fibers sharing 8 connections.
 *
 * Each case runs for a fixed time after a warm-up and reports operations per
 * second and the mean time per operation. Bounded: about 30 s, `--quick`
 * about 10 s.
 *
 * @since 0.1.0
 */
import * as ChildProcess from "node:child_process"
import * as Readline from "node:readline"
import * as Util from "node:util"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Crypto from "@network-protocol/core/Crypto"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Multiplexer from "@network-protocol/service/Multiplexer"
import * as Pool from "@network-protocol/service/Pool"
import * as Session from "@network-protocol/service/Session"

const { values } = Util.parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    serve: { type: "string" }
  }
})

const settings = values.quick === true
  ? { warmupMs: 200, measureMs: 700 }
  : { warmupMs: 500, measureMs: 2500 }

// -----------------------------------------------------------------------------
// server process
// -----------------------------------------------------------------------------

const echo = (payload: Uint8Array) => Effect.succeed(payload)

/** `--serve raw|secure`: listens on loopback, prints `PORT n`, serves until killed. */
const serve = (kind: string) =>
  Effect.gen(function*() {
    if (kind === "raw") {
      const server = yield* Multiplexer.listen({ tcp: { host: "127.0.0.1", port: 0 } }, echo)
      console.log(`PORT ${server.port}`)
    } else {
      const cache = yield* ReplayCache.make()
      const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((connection) =>
        Effect.scoped(Effect.flatMap(Session.secureServer(connection), (session) =>
          Multiplexer.serveSession(session, echo))).pipe(
            Effect.provideService(ReplayCache.ReplayCache, cache),
            Effect.ignore
          )
      ))
      console.log(`PORT ${server.port}`)
    }
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault))

/** Starts a server child process; it is killed when the scope closes. */
const spawnServer = (kind: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly child: ChildProcess.ChildProcess; readonly port: number }, Error>((resume) => {
      const child = ChildProcess.spawn(process.execPath, [import.meta.filename, "--serve", kind], {
        stdio: ["pipe", "pipe", "inherit"]
      })
      const lines = Readline.createInterface({ input: child.stdout })
      lines.once("line", (line) => {
        const port = Number(line.replace(/^PORT /, ""))
        resume(Number.isInteger(port) ? Effect.succeed({ child, port }) : Effect.fail(new Error(`bad line ${line}`)))
      })
      child.once("exit", (code) => resume(Effect.fail(new Error(`server exited with ${code}`))))
    }),
    ({ child }) => Effect.sync(() => child.kill())
  )

// -----------------------------------------------------------------------------
// measuring
// -----------------------------------------------------------------------------

interface Figure {
  readonly name: string
  readonly opsPerSecond: number
  readonly microsPerOp: number
  readonly concurrency: number
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
    const figure: Figure = { name, opsPerSecond, microsPerOp: 1e6 / opsPerSecond, concurrency }
    console.log(
      `${name.padEnd(52)} ${String(concurrency).padStart(4)}  ${
        Math.round(opsPerSecond).toLocaleString("en-US").padStart(12)
      } ops/s  ${(concurrency * figure.microsPerOp).toFixed(1).padStart(9)} µs/op latency`
    )
    return figure
  })

const payload = new Uint8Array(64).map((_, i) => i)

const multiplexing = (kind: "raw" | "secure") =>
  Effect.gen(function*() {
    const { port } = yield* spawnServer(kind)
    const mux = kind === "raw"
      ? yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      : yield* Multiplexer.connectSecure({ connect: { tcp: { host: "127.0.0.1", port } } })
    const request = mux.request(payload)
    const label = kind === "raw" ? "raw frames" : "encrypted (MUX in secure session)"
    const one = yield* measure(`${label}, one at a time`, 1, request)
    const many = yield* measure(`${label}, 64 in flight`, 64, request)
    console.log(`  → 64 in flight is ${(many.opsPerSecond / one.opsPerSecond).toFixed(1)}× one at a time`)
    return [one, many]
  }).pipe(Effect.scoped)

const pooling = Effect.gen(function*() {
  let opened = 0
  const pool = yield* Pool.make({
    acquire: Effect.sync(() => ({ id: ++opened })),
    config: { min_size: 8, max_size: 8 }
  })
  const use = pool.use(() => Effect.void)
  const baseline = yield* measure("baseline: Effect.scoped(Effect.void)", 1, Effect.scoped(Effect.void))
  const single = yield* measure("pool.use (idle connection available)", 1, use)
  const contended = yield* measure("pool.use, 64 fibers on 8 connections", 64, Effect.andThen(use, Effect.yieldNow))
  const metrics = yield* pool.metrics
  console.log(
    `  → acquire + release overhead ≈ ${(single.microsPerOp - baseline.microsPerOp).toFixed(2)} µs; ` +
      `${metrics.connectionsCreated} connections created for ` +
      `${metrics.totalAcquisitions.toLocaleString("en-US")} acquisitions`
  )
  return [baseline, single, contended]
}).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const started = performance.now()
  console.log(`multiplex bench (${values.quick === true ? "quick" : "full"}), Node ${process.version}`)
  console.log(`${"case".padEnd(52)} ${"conc".padStart(4)}  ${"throughput".padStart(18)}  ${"latency".padStart(15)}`)
  const figures: Array<Figure> = []
  figures.push(...yield* multiplexing("raw"))
  figures.push(...yield* multiplexing("secure"))
  figures.push(...yield* pooling)
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return figures
}).pipe(Effect.provide(Crypto.layerDefault))

if (values.serve !== undefined) {
  const kind = values.serve
  Effect.runFork(serve(kind))
  // the parent going away (even abruptly) closes our stdin: leave with it
  process.stdin.on("end", () => process.exit(0))
  process.stdin.resume()
} else {
  Effect.runPromise(main).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
