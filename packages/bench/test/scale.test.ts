/**
 * The scale benchmarks' pieces: the even send schedule, the CPU-profile
 * summary, and the lean load connections against real servers on loopback
 * (our daemon for `secure`, the baselines' framed echo for `net`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as Crypto from "@network-protocol/core/Crypto"
import * as CryptoNoble from "@network-protocol/core/CryptoNoble"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Framing from "../src/baselines/Framing.ts"
import type * as Driver from "../src/harness/Driver.ts"
import * as Connections from "../src/scale/Connections.ts"
import * as Profile from "../src/scale/Profile.ts"
import * as Schedule from "../src/scale/Schedule.ts"

describe("scale schedule", () => {
  it("spreads the sends of every process evenly over each second", () => {
    const clients = 3
    const count = 4
    const seconds = 2
    const times: Array<number> = []
    for (let index = 0; index < clients; index++) {
      const schedule = { count, index, clients, seconds }
      const planned = Schedule.planned(schedule)
      assert.strictEqual(planned, count * seconds)
      assert.strictEqual(Schedule.dueAt(schedule, -1), 0)
      assert.strictEqual(Schedule.dueAt(schedule, seconds * 1000), planned)
      let previous = -1
      for (let r = 0; r < planned; r++) {
        const at = Schedule.scheduledAt(schedule, r)
        assert.isAbove(at, previous, `request ${r} of process ${index} after the one before`)
        previous = at
        assert.isAtLeast(Schedule.dueAt(schedule, at + 1e-6), r + 1, `request ${r} due at its time`)
        assert.isAtMost(Schedule.dueAt(schedule, at - 1e-6), r, `request ${r} not due before its time`)
        times.push(at)
      }
    }
    // all processes together: one send every 1000 / 12 ms, each second
    const sorted = times.sort((a, b) => a - b)
    const step = 1000 / (count * clients)
    sorted.forEach((at, i) => assert.approximately(at, i * step, 1e-9))
  })
})

describe("scale profile summary", () => {
  it("adds self time per function and per area, without idle time", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9, columnNumber: 0 })
    const profile = {
      startTime: 1000,
      nodes: [
        { id: 1, callFrame: frame("(idle)", "") },
        { id: 2, callFrame: frame("seal", "file:///w/packages/core/src/SecureChannel.ts") },
        { id: 3, callFrame: frame("runLoop", "file:///w/node_modules/effect/dist/internal/fiber.js") },
        { id: 4, callFrame: frame("writeBuffer", "node:internal/stream_base_commons") }
      ],
      samples: [1, 2, 3, 2, 4, 1],
      timeDeltas: [5000, 1000, 2000, 2000, 5000, 5000]
    }
    const summary = Profile.summarize(profile)
    assert.strictEqual(summary.totalMs, 20)
    assert.strictEqual(summary.busyMs, 10)
    assert.deepStrictEqual(summary.functions.map((f) => [f.name, f.ms]), [
      ["writeBuffer node:internal/stream_base_commons:10", 5],
      ["seal packages/core/src/SecureChannel.ts:10", 3],
      ["runLoop effect/dist/internal/fiber.js:10", 2]
    ])
    assert.deepStrictEqual(summary.areas.map((a) => [a.name, a.share]), [
      ["node internals", 0.5],
      ["@network-protocol/core", 0.3],
      ["effect", 0.2]
    ])
    // samples at 6000, 7000, 9000, 11000, 16000, 21000 µs: the range keeps the 2nd to 4th
    const ranged = Profile.summarize(profile, 20, { fromMicros: 6500, toMicros: 11000 })
    assert.strictEqual(ranged.totalMs, 5)
    assert.deepStrictEqual(ranged.functions.map((f) => [f.name, f.ms]), [
      ["seal packages/core/src/SecureChannel.ts:10", 3],
      ["runLoop effect/dist/internal/fiber.js:10", 2]
    ])
    assert.throws(() => Profile.summarize({ nodes: [] }))
  })
})

/** Opens a connection, sends `requests`, and resolves with the replies counted once all came back. */
const exchange = (target: Connections.Target, requests: number) =>
  Effect.promise(async () => {
    let replies = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      done = resolve
    })
    let closed: () => void = () => {}
    const gone = new Promise<void>((resolve) => {
      closed = resolve
    })
    const connection = await Connections.open(target, {
      onReplies: (count, now) => {
        assert.isAtMost(now, performance.now())
        replies += count
        if (replies >= requests) done()
      },
      onClosed: () => closed()
    })
    for (let i = 0; i < requests; i++) connection.send()
    await all
    connection.close()
    await gone
    return replies
  })

describe("scale load connections", () => {
  it.live("a secure connection handshakes with the daemon and gets every Echo back", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: { tcp: { host: "127.0.0.1", port: 0 } } }).pipe(
        Effect.provideService(Crypto.Crypto, CryptoNoble.make)
      )
      const address: Driver.Address = { kind: "tcp", host: "127.0.0.1", port: daemon.port ?? 0 }
      const replies = yield* exchange({ kind: "secure", address, crypto: CryptoNoble.make }, 5)
      assert.strictEqual(replies, 5)
    }).pipe(Effect.scoped))

  it.live("a net connection gets every framed reply back", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Net.Server>((resolve) => {
            const server = Net.createServer((socket) => {
              const replier = new Framing.Replier((frame) => void socket.write(frame))
              socket.on("data", (chunk: Buffer) => void replier.feed(chunk))
              socket.on("end", () => socket.end())
            })
            server.listen({ host: "127.0.0.1", port: 0 }, () => resolve(server))
          })
        ),
        (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const bound = server.address()
      const port = typeof bound === "object" && bound !== null ? bound.port : 0
      const replies = yield* exchange({ kind: "net", address: { kind: "tcp", host: "127.0.0.1", port } }, 7)
      assert.strictEqual(replies, 7)
      assert.throws(() => Connections.open({ kind: "secure", address: { kind: "tcp", host: "127.0.0.1", port } }, {
        onReplies: () => {},
        onClosed: () => {}
      }))
    }).pipe(Effect.scoped))
})
