/**
 * The multiplexer: the crate's config, validation messages and raw frame
 * (vectors.json `multiplex_frame`), the crate's tests (SPEC §13.1
 * service/multiplex.rs), and what it lacks: out-of-order responses at scale
 * over a real loopback socket, unknown/duplicate ids dropped and counted, all
 * pending requests failing at once when the connection dies, bounded frame
 * sizes, in-flight limits that make callers wait, the server side, and the
 * encrypted form with our Daemon/Client stack.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Daemon from "../src/Daemon.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Multiplexer from "../src/Multiplexer.ts"
import * as Session from "../src/Session.ts"

const vectors = JSON.parse(
  Fs.readFileSync(Path.resolve(import.meta.dirname, "../../../../shared/wire/vectors.json"), "utf8")
) as { readonly multiplex_frame: { readonly example_id1_hello: string } }

const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const reasonOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") return exit.cause.reasons[0]?._tag
  return ProtocolError.isProtocolError(error.error) ? error.error.reason._tag : String(error.error)
}

const errorOf = (exit: Exit.Exit<unknown, ProtocolError.ProtocolError>): ProtocolError.ProtocolError => {
  assert.isTrue(Exit.isFailure(exit))
  const found = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  if (found === undefined || found._tag !== "Fail") throw new Error("no typed failure")
  return found.error
}

/** Lets forked fibers run until `done` holds (bounded, no clock). */
const settle = (done: Effect.Effect<boolean> | (() => boolean)) =>
  Effect.gen(function*() {
    const check = typeof done === "function" ? Effect.sync(done) : done
    for (let i = 0; i < 2000; i++) {
      if (yield* check) return
      yield* Effect.yieldNow
    }
    assert.fail("condition not reached")
  })

/** A client transport over queues: the test plays the server. */
const memory = Effect.gen(function*() {
  const toServer = yield* Queue.unbounded<Multiplexer.Frame>()
  const toClient = yield* Queue.unbounded<Multiplexer.Frame, ProtocolError.ProtocolError>()
  let closed = 0
  const transport: Multiplexer.FrameTransport = {
    receive: Queue.takeAll(toClient) as Effect.Effect<
      Arr.NonEmptyReadonlyArray<Multiplexer.Frame>,
      ProtocolError.ProtocolError
    >,
    send: (frames) => Effect.asVoid(Queue.offerAll(toServer, frames)),
    close: Effect.sync(() => {
      closed++
    })
  }
  return {
    transport,
    toServer,
    respond: (id: bigint, payload: Uint8Array) => Queue.offer(toClient, { id, payload }),
    die: (error: ProtocolError.ProtocolError) => Queue.fail(toClient, error),
    closedCount: () => closed
  }
})

/** A deterministic xorshift generator for the random delays. */
const prng = (seed: number) => {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

/** A raw `node:net` server (independent of this library), closed with the scope. */
const rawServer = (onConnection: (socket: Net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Net.Server; readonly port: number }>((resume) => {
      const server = Net.createServer(onConnection)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, port: typeof address === "object" && address !== null ? address.port : 0 }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

/** Parses raw frames the plain way, as the crate's test echo server does. */
const rawFrames = (socket: Net.Socket, onFrame: (id: Buffer, payload: Buffer) => void) => {
  let buffered = Buffer.alloc(0)
  socket.on("data", (data) => {
    buffered = Buffer.concat([buffered, data])
    while (buffered.length >= 12) {
      const length = buffered.readUInt32BE(8)
      if (buffered.length < 12 + length) break
      onFrame(buffered.subarray(0, 8), buffered.subarray(12, 12 + length))
      buffered = buffered.subarray(12 + length)
    }
  })
}

const rawEcho = (sockets?: Array<Net.Socket>) =>
  rawServer((socket) => {
    sockets?.push(socket)
    socket.on("error", () => undefined)
    rawFrames(socket, (id, payload) => {
      const header = Buffer.alloc(12)
      id.copy(header, 0)
      header.writeUInt32BE(payload.length, 8)
      socket.write(Buffer.concat([header, payload]))
    })
  })

// -----------------------------------------------------------------------------

describe("Multiplexer configuration", () => {
  it("has the crate's defaults (test_multiplex_config_validation)", () => {
    assert.strictEqual(Multiplexer.defaultConfig.max_in_flight, 10_000)
    assert.strictEqual(Duration.toMillis(Multiplexer.defaultConfig.request_timeout), 30_000)
    assert.strictEqual(Multiplexer.defaultConfig.send_buffer_size, 100)
    assert.deepStrictEqual(Multiplexer.validate(Multiplexer.defaultConfig), [])
  })

  it("rejects each bad field with the crate's messages", () => {
    assert.deepStrictEqual(Multiplexer.validate(Multiplexer.makeConfig({ max_in_flight: 0 })), [
      "max_in_flight must be greater than 0"
    ])
    assert.deepStrictEqual(Multiplexer.validate(Multiplexer.makeConfig({ request_timeout: 0 })), [
      "request_timeout must be greater than 0",
      "request_timeout (0 ms) is too short (minimum: 100ms)"
    ])
    assert.deepStrictEqual(Multiplexer.validate(Multiplexer.makeConfig({ request_timeout: "50 millis" })), [
      "request_timeout (50 ms) is too short (minimum: 100ms)"
    ])
    assert.deepStrictEqual(Multiplexer.validate(Multiplexer.makeConfig({ send_buffer_size: 0 })), [
      "send_buffer_size must be greater than 0"
    ])
    assert.deepStrictEqual(
      Multiplexer.validate(
        Multiplexer.makeConfig({ max_in_flight: 1_000_001, request_timeout: "301 seconds", send_buffer_size: 10_001 })
      ),
      [
        "max_in_flight (1000001) exceeds recommended limit (1,000,000)",
        "request_timeout (301 seconds) is unusually long (recommended: < 5 minutes)",
        "send_buffer_size (10001) is unusually large (recommended: < 10,000)"
      ]
    )
  })

  it.effect("a multiplexer with an invalid config fails with the aggregated ConfigError", () =>
    Effect.gen(function*() {
      const { transport } = yield* memory
      const error = yield* Effect.flip(
        Multiplexer.make(transport, { config: { max_in_flight: 0, send_buffer_size: 0 } })
      )
      assert.strictEqual(
        error.message,
        "Configuration error: Multiplex configuration validation failed:\n" +
          "  - max_in_flight must be greater than 0\n" +
          "  - send_buffer_size must be greater than 0"
      )
    }))
})

describe("Multiplexer frames", () => {
  it("encodes the crate's frame byte for byte (vectors.json multiplex_frame)", () => {
    const frame = Multiplexer.encodeFrame({ id: 1n, payload: text("hello") })
    assert.strictEqual(hex(frame), vectors.multiplex_frame.example_id1_hello)
    assert.strictEqual(hex(frame), "00000000000000010000000568656c6c6f")
    const big = Multiplexer.encodeFrame({ id: 0xffff_ffff_ffff_fffen, payload: new Uint8Array(0) })
    assert.strictEqual(hex(big), "fffffffffffffffe00000000")
  })

  it("decodes the vector in any chunking, whole frames as views", () => {
    const bytes = Buffer.from(vectors.multiplex_frame.example_id1_hello, "hex")
    const twice = new Uint8Array([...bytes, ...bytes])
    for (const size of [1, 2, 5, 11, 12, 13, 17, 34]) {
      const decoder = Multiplexer.makeDecoder()
      const out: Array<Multiplexer.Frame> = []
      for (let i = 0; i < twice.length; i += size) {
        assert.isUndefined(decoder.feed(twice.subarray(i, i + size), out))
      }
      assert.deepStrictEqual(out.map((f) => [f.id, str(f.payload)]), [[1n, "hello"], [1n, "hello"]], `chunk ${size}`)
      assert.strictEqual(decoder.buffered, 0)
    }
    const decoder = Multiplexer.makeDecoder()
    const out: Array<Multiplexer.Frame> = []
    decoder.feed(twice, out)
    assert.strictEqual(out[1].payload.buffer, twice.buffer, "no copy for a frame inside one chunk")
  })

  it("rejects an oversize declared length from the header, before allocating the payload", () => {
    const decoder = Multiplexer.makeDecoder({ maxPayloadSize: 1024 })
    const header = new Uint8Array(12)
    new DataView(header.buffer).setUint32(8, 1025)
    const out: Array<Multiplexer.Frame> = []
    const error = decoder.feed(header, out)
    assert.strictEqual(error?.reason._tag, "OversizedPacket")
    assert.strictEqual(error?.message, "Packet too large: 1025 bytes")
    assert.strictEqual(decoder.buffered, 0, "nothing buffered for the payload")
    assert.strictEqual(decoder.feed(new Uint8Array(10), out), error, "stays failed")
    assert.deepStrictEqual(out, [])
    // the crate would allocate 4 GiB for this one; the default limit is 16 MiB
    const huge = Multiplexer.makeDecoder()
    const header4g = Buffer.from("0000000000000001ffffffff", "hex")
    assert.strictEqual(huge.feed(header4g, out)?.reason._tag, "OversizedPacket")
    // a length exactly at the limit is accepted
    const exact = Multiplexer.makeDecoder({ maxPayloadSize: 3 })
    assert.isUndefined(exact.feed(Buffer.from("000000000000000700000003616263", "hex"), out))
    assert.deepStrictEqual(out.map((f) => [f.id, str(f.payload)]), [[7n, "abc"]])
  })

  it("decodeFrame checks the header against the bytes (MUX payloads)", () => {
    assert.isTrue(Result.isFailure(Multiplexer.decodeFrame(new Uint8Array(11))))
    assert.isTrue(Result.isFailure(Multiplexer.decodeFrame(Buffer.from("000000000000000100000006aa", "hex"))))
    const ok = Multiplexer.decodeFrame(Buffer.from(vectors.multiplex_frame.example_id1_hello, "hex"))
    assert.isTrue(Result.isSuccess(ok) && ok.success.id === 1n && str(ok.success.payload) === "hello")
  })
})

describe("Multiplexer client", () => {
  it.effect("ids start at 1; responses are matched by id in any order", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport)
      const fibers = yield* Effect.forEach(["a", "b", "c"], (p) => Effect.forkChild(mux.request(text(p))))
      const frames: Array<Multiplexer.Frame> = []
      yield* settle(Effect.map(Queue.size(server.toServer), (n) => n === 3))
      frames.push(...(yield* Queue.takeAll(server.toServer)))
      assert.deepStrictEqual(frames.map((f) => [f.id, str(f.payload)]), [[1n, "a"], [2n, "b"], [3n, "c"]])
      yield* server.respond(3n, text("C"))
      yield* server.respond(1n, text("A"))
      yield* server.respond(2n, text("B"))
      assert.deepStrictEqual(yield* Effect.forEach(fibers, (f) => Effect.map(Fiber.join(f), str)), ["A", "B", "C"])
      const m = yield* mux.metrics
      assert.deepStrictEqual([m.requestsSent, m.responsesReceived, m.inFlight, m.unknownResponses], [3, 3, 0, 0])
    }))

  it.effect("unknown and duplicate response ids are dropped and counted", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport)
      const fiber = yield* Effect.forkChild(mux.request(text("q")))
      const [frame] = yield* Queue.takeAll(server.toServer)
      yield* server.respond(999n, text("stranger"))
      yield* server.respond(0n, text("zero"))
      yield* server.respond(0xffff_ffff_ffff_ffffn, text("max u64"))
      yield* server.respond(frame.id, text("first"))
      yield* server.respond(frame.id, text("duplicate"))
      assert.strictEqual(str(yield* Fiber.join(fiber)), "first")
      yield* settle(Effect.map(mux.metrics, (m) => m.unknownResponses === 4))
      const m = yield* mux.metrics
      assert.strictEqual(m.responsesReceived, 1)
      assert.strictEqual(m.unknownResponses, 4)
      // the connection is still fine
      const next = yield* Effect.forkChild(mux.request(text("again")))
      const [second] = yield* Queue.takeAll(server.toServer)
      assert.strictEqual(second.id, 2n)
      yield* server.respond(second.id, text("ok"))
      assert.strictEqual(str(yield* Fiber.join(next)), "ok")
    }))

  it.effect("when the connection dies every pending request fails at once with ConnectionClosed", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) => Effect.forkChild(Effect.exit(mux.request(text(String(i)))))
      )
      yield* settle(Effect.map(mux.metrics, (m) => m.inFlight === 100))
      const reset = ProtocolError.make(new ProtocolError.Io({ detail: "connection reset" }))
      yield* server.die(reset)
      // no clock moves: nothing waits for its timeout
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      for (const exit of exits) {
        const error = errorOf(exit)
        assert.strictEqual(error.reason._tag, "ConnectionClosed")
        assert.strictEqual(error.reason._tag === "ConnectionClosed" ? error.reason.cause : undefined, reset)
      }
      const m = yield* mux.metrics
      assert.deepStrictEqual([m.errors, m.inFlight, m.timeouts], [100, 0, 0])
      assert.isFalse(yield* mux.isOpen)
      assert.strictEqual(server.closedCount(), 1, "the transport is closed")
      assert.strictEqual(reasonOf(yield* Effect.exit(mux.request(text("late")))), "ConnectionClosed")
    }))

  it.effect("request_timeout: Timeout after 30 s; a late response is then unknown", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport)
      const fiber = yield* Effect.forkChild(Effect.exit(mux.request(text("slow"))))
      const [frame] = yield* Queue.takeAll(server.toServer)
      yield* TestClock.adjust("29999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 milli")
      assert.strictEqual(reasonOf(yield* Fiber.join(fiber)), "Timeout")
      yield* server.respond(frame.id, text("late"))
      yield* settle(Effect.map(mux.metrics, (m) => m.unknownResponses === 1))
      const m = yield* mux.metrics
      assert.deepStrictEqual([m.timeouts, m.inFlight, m.responsesReceived], [1, 0, 0])
    }))

  it.effect("max_in_flight makes callers wait rather than fail", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport, { config: { max_in_flight: 2 } })
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Effect.forkChild(mux.request(text(String(i)))))
      yield* settle(Effect.map(mux.metrics, (m) => m.inFlight === 2 && m.waiting === 3))
      const first = yield* Queue.takeAll(server.toServer)
      assert.deepStrictEqual(first.map((f) => f.id), [1n, 2n])
      let batch: ReadonlyArray<Multiplexer.Frame> = first
      let answered = 0
      while (true) {
        assert.isAtMost(batch.length, 2, "never more than max_in_flight outstanding")
        for (const frame of batch) yield* server.respond(frame.id, frame.payload)
        answered += batch.length
        if (answered >= 5) break
        batch = yield* Queue.takeAll(server.toServer)
      }
      assert.deepStrictEqual(yield* Effect.forEach(fibers, (f) => Effect.map(Fiber.join(f), str)), [
        "1",
        "2",
        "3",
        "4",
        "5"
      ])
      assert.strictEqual((yield* mux.metrics).waiting, 0)
    }))

  it.effect("ids are safe integers and wrap from 2^53 - 1 to 1", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport, { firstRequestId: Multiplexer.MAX_REQUEST_ID })
      const a = yield* Effect.forkChild(mux.request(text("a")))
      const b = yield* Effect.forkChild(mux.request(text("b")))
      yield* settle(Effect.map(Queue.size(server.toServer), (n) => n === 2))
      const frames = yield* Queue.takeAll(server.toServer)
      assert.deepStrictEqual(frames.map((f) => f.id), [BigInt(Number.MAX_SAFE_INTEGER), 1n])
      yield* server.respond(frames[0].id, text("A"))
      yield* server.respond(1n, text("B"))
      assert.strictEqual(str(yield* Fiber.join(a)), "A")
      assert.strictEqual(str(yield* Fiber.join(b)), "B")
      const invalid = yield* Effect.exit(Multiplexer.make(server.transport, { firstRequestId: 0 }))
      assert.strictEqual(reasonOf(invalid), "ConfigError")
    }))

  it.effect("an oversize request is refused before anything is sent", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const mux = yield* Multiplexer.make(server.transport, { maxPayloadSize: 4 })
      const error = yield* Effect.flip(mux.request(text("12345")))
      assert.strictEqual(error.reason._tag, "OversizedPacket")
      assert.strictEqual(yield* Queue.size(server.toServer), 0)
    }))

  it.effect("closing the multiplexer's scope fails pending requests and stops its fibers", () =>
    Effect.gen(function*() {
      const server = yield* memory
      const scope = yield* Scope.make()
      const mux = yield* Scope.provide(Multiplexer.make(server.transport), scope)
      const pending = yield* Effect.forkChild(Effect.exit(mux.request(text("x"))))
      yield* settle(Effect.map(mux.metrics, (m) => m.inFlight === 1))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(reasonOf(yield* Fiber.join(pending)), "ConnectionClosed")
      assert.strictEqual(server.closedCount(), 1)
    }))
})

describe("Multiplexer over sessions (heartbeat)", () => {
  /** Two ends of an in-memory message pipe. */
  const pipe = Effect.gen(function*() {
    const toServer = yield* Queue.unbounded<Message.Message, ProtocolError.ProtocolError>()
    const toClient = yield* Queue.unbounded<Message.Message, ProtocolError.ProtocolError>()
    const end = (
      incoming: Queue.Queue<Message.Message, ProtocolError.ProtocolError>,
      outgoing: Queue.Queue<Message.Message, ProtocolError.ProtocolError>
    ): Session.Session => ({
      receive: Queue.takeAll(incoming) as Effect.Effect<
        Arr.NonEmptyReadonlyArray<Message.Message>,
        ProtocolError.ProtocolError
      >,
      send: (messages) => Effect.asVoid(Queue.offerAll(outgoing, messages)),
      info: { transport: "memory", remoteAddress: "peer", localAddress: "self", profile: "plain" },
      close: Effect.asVoid(Queue.fail(outgoing, ProtocolError.make(new ProtocolError.ConnectionClosed())))
    })
    return { client: end(toClient, toServer), toServer, toClient }
  })

  it.effect("carries frames as MUX messages, answers Ping, pings when idle, and detects a dead peer", () =>
    Effect.gen(function*() {
      const { client, toServer, toClient } = yield* pipe
      const mux = yield* Multiplexer.fromSession(client, {
        heartbeatInterval: "10 seconds",
        config: { request_timeout: "60 seconds" }
      })
      const fiber = yield* Effect.forkChild(Effect.exit(mux.request(text("hi"))))
      const [request] = yield* Queue.takeAll(toServer)
      assert.strictEqual(request._tag, "Custom")
      if (request._tag !== "Custom") return
      assert.strictEqual(request.command, "MUX")
      assert.strictEqual(hex(request.payload), "00000000000000010000000268" + "69")
      // a Ping from the peer is answered; a malformed MUX payload is dropped
      yield* Queue.offerAll(toClient, [
        Message.Ping(),
        Message.Custom({ command: "MUX", payload: new Uint8Array(3) }),
        Message.Echo({ text: "ignored" })
      ])
      assert.deepStrictEqual(yield* Queue.takeAll(toServer), [Message.Pong()])
      yield* Queue.offer(
        toClient,
        Message.Custom({ command: "MUX", payload: Multiplexer.encodeFrame({ id: 1n, payload: text("hello") }) })
      )
      const answered = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isSuccess(answered) && str(answered.value) === "hello")
      // nothing sent for 10 s: a Ping goes out
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* Queue.takeAll(toServer), [Message.Ping()])
      // nothing received for 40 s: the connection is dead and a pending request fails at once
      const pending = yield* Effect.forkChild(Effect.exit(mux.request(text("lost"))))
      yield* settle(Effect.map(mux.metrics, (m) => m.inFlight === 1))
      yield* TestClock.adjust("30 seconds")
      const error = errorOf(yield* Fiber.join(pending))
      assert.strictEqual(error.reason._tag, "ConnectionClosed")
      const cause = error.reason._tag === "ConnectionClosed" ? error.reason.cause : undefined
      assert.isTrue(ProtocolError.isProtocolError(cause) && cause.reason._tag === "ConnectionTimeout")
    }))

  it.effect("a Disconnect from the peer fails pending requests", () =>
    Effect.gen(function*() {
      const { client, toClient } = yield* pipe
      const mux = yield* Multiplexer.fromSession(client)
      const fiber = yield* Effect.forkChild(Effect.exit(mux.request(text("x"))))
      yield* settle(Effect.map(mux.metrics, (m) => m.inFlight === 1))
      yield* Queue.offer(toClient, Message.Disconnect())
      assert.strictEqual(reasonOf(yield* Fiber.join(fiber)), "ConnectionClosed")
    }))
})

describe("Multiplexer over loopback sockets", () => {
  it.live("test_multiplex_single_request: against an independent raw echo server", () =>
    Effect.gen(function*() {
      const { port } = yield* rawEcho()
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      assert.strictEqual(str(yield* mux.request(text("hello"))), "hello")
      const m = yield* mux.metrics
      assert.strictEqual(m.requestsSent, 1)
      assert.strictEqual(m.responsesReceived, 1)
    }).pipe(Effect.scoped))

  it.live("test_multiplex_concurrent_requests: 10 concurrent requests", () =>
    Effect.gen(function*() {
      const { port } = yield* rawEcho()
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      const replies = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => `request-${i}`),
        (p) => Effect.map(mux.request(text(p)), str),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(replies, Array.from({ length: 10 }, (_, i) => `request-${i}`))
      const m = yield* mux.metrics
      assert.strictEqual(m.requestsSent, 10)
      assert.strictEqual(m.responsesReceived, 10)
    }).pipe(Effect.scoped))

  it.live("10,000 concurrent requests answered out of order reach their callers", () =>
    Effect.gen(function*() {
      const random = prng(42)
      const arrivals: Array<number> = []
      const completions: Array<number> = []
      const server = yield* Multiplexer.listen({ tcp: { host: "127.0.0.1", port: 0 } }, (payload) => {
        const n = new DataView(payload.buffer, payload.byteOffset).getUint32(0)
        arrivals.push(n)
        return Effect.sleep(Duration.micros(BigInt(Math.floor(random() * 5000)))).pipe(
          Effect.andThen(Effect.sync(() => {
            completions.push(n)
            const reply = new Uint8Array(8)
            new DataView(reply.buffer).setUint32(0, n)
            new DataView(reply.buffer).setUint32(4, n ^ 0xa5a5a5a5)
            return reply
          }))
        )
      })
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port: server.port ?? 0 } })
      const order: Array<number> = []
      const count = 10_000
      const replies = yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) => {
          const payload = new Uint8Array(4)
          new DataView(payload.buffer).setUint32(0, i)
          return Effect.map(mux.request(payload), (reply) => {
            order.push(i)
            const view = new DataView(reply.buffer, reply.byteOffset)
            return view.getUint32(0) === i && view.getUint32(4) === ((i ^ 0xa5a5a5a5) >>> 0)
          })
        },
        { concurrency: "unbounded" }
      )
      assert.strictEqual(replies.length, count)
      assert.isTrue(replies.every((ok) => ok), "every response reached its own caller")
      assert.strictEqual(completions.length, count)
      const overtaken = order.filter((n, i) => i > 0 && n < order[i - 1]).length
      assert.isAbove(overtaken, 10, "responses came back out of order")
      assert.notDeepEqual(completions, arrivals, "the server finished requests out of order")
      const m = yield* mux.metrics
      assert.deepStrictEqual([m.requestsSent, m.responsesReceived, m.unknownResponses, m.inFlight], [
        count,
        count,
        0,
        0
      ])
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("a peer that dies fails every pending request at once", () =>
    Effect.gen(function*() {
      const received = yield* Deferred.make<void>()
      let frames = 0
      const { port } = yield* rawServer((socket) => {
        socket.on("error", () => undefined)
        rawFrames(socket, () => {
          if (++frames === 50) {
            Deferred.doneUnsafe(received, Exit.void)
            socket.destroy()
          }
        })
      })
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      const started = Date.now()
      const exits = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => Effect.exit(mux.request(text(String(i)))),
        { concurrency: "unbounded" }
      )
      yield* Deferred.await(received)
      assert.isTrue(exits.every((exit) => reasonOf(exit) === "ConnectionClosed"))
      assert.isBelow(Date.now() - started, 10_000, "far below the 30 s request timeout")
      assert.strictEqual((yield* mux.metrics).errors, 50)
    }).pipe(Effect.scoped))

  it.live("a response declaring an oversize length fails pending requests without buffering it", () =>
    Effect.gen(function*() {
      const { port } = yield* rawServer((socket) => {
        socket.on("error", () => undefined)
        rawFrames(socket, (id) => {
          const header = Buffer.alloc(12)
          id.copy(header, 0)
          header.writeUInt32BE(0xffff_fff0, 8)
          socket.write(header)
        })
      })
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      const error = errorOf(yield* Effect.exit(mux.request(text("q"))))
      assert.strictEqual(error.reason._tag, "ConnectionClosed")
      const cause = error.reason._tag === "ConnectionClosed" ? error.reason.cause : undefined
      assert.isTrue(ProtocolError.isProtocolError(cause) && cause.reason._tag === "OversizedPacket")
    }).pipe(Effect.scoped))

  it.live("the server drops a connection whose request declares an oversize length", () =>
    Effect.gen(function*() {
      const server = yield* Multiplexer.listen(
        { tcp: { host: "127.0.0.1", port: 0 } },
        (payload) => Effect.succeed(payload),
        { maxPayloadSize: 1024 }
      )
      const port = server.port ?? 0
      const closed = yield* Effect.callback<string>((resume) => {
        const socket = Net.createConnection({ host: "127.0.0.1", port }, () => {
          // a header declaring 4 GiB − 1, then a trickle of its body
          socket.write(Buffer.from("00000000000000aaffffffff", "hex"))
          socket.write(Buffer.alloc(64))
        })
        let received = ""
        socket.on("data", (data) => received += data.toString("hex"))
        socket.on("error", () => undefined)
        socket.on("close", () => resume(Effect.succeed(received)))
        return Effect.sync(() => socket.destroy())
      })
      assert.strictEqual(closed, "", "closed without a response")
      // the server still serves other connections
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port } })
      assert.strictEqual(str(yield* mux.request(text("still here"))), "still here")
    }).pipe(Effect.scoped))

  it.live("the raw server serves the crate's frames to an independent client", () =>
    Effect.gen(function*() {
      const server = yield* Multiplexer.listen(
        { tcp: { host: "127.0.0.1", port: 0 } },
        (payload) => Effect.succeed(text(str(payload).toUpperCase()))
      )
      const reply = yield* Effect.callback<string>((resume) => {
        const socket = Net.createConnection({ host: "127.0.0.1", port: server.port ?? 0 }, () => {
          socket.write(Buffer.from(vectors.multiplex_frame.example_id1_hello, "hex"))
        })
        socket.on("data", (data) => {
          resume(Effect.succeed(data.toString("hex")))
          socket.end()
        })
        return Effect.sync(() => socket.destroy())
      })
      assert.strictEqual(reply, "000000000000000100000005" + Buffer.from("HELLO").toString("hex"))
    }).pipe(Effect.scoped))

  it.live("a failing handler sends no response; other requests are unaffected", () =>
    Effect.gen(function*() {
      const server = yield* Multiplexer.listen(
        { tcp: { host: "127.0.0.1", port: 0 } },
        (payload) => str(payload) === "fail" ? Effect.fail("nope") : Effect.succeed(payload)
      )
      const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port: server.port ?? 0 } }, {
        config: { request_timeout: "300 millis" }
      })
      const failed = yield* Effect.forkChild(Effect.exit(mux.request(text("fail"))))
      assert.strictEqual(str(yield* mux.request(text("ok"))), "ok")
      assert.strictEqual(reasonOf(yield* Fiber.join(failed)), "Timeout")
    }).pipe(Effect.scoped))
})

describe("Multiplexer encrypted (MUX over the secure session)", () => {
  it.live("through our Daemon: concurrent requests over one encrypted connection", () =>
    Effect.gen(function*() {
      const random = prng(7)
      const daemon = yield* Daemon.make({
        listen: { tcp: { host: "127.0.0.1", port: 0 } },
        dispatcher: Dispatcher.empty.pipe(
          Multiplexer.register((payload) =>
            Effect.as(Effect.sleep(Duration.millis(Math.floor(random() * 5))), text(`re:${str(payload)}`))
          )
        )
      })
      const mux = yield* Multiplexer.connectSecure({ connect: { tcp: { host: "127.0.0.1", port: daemon.port ?? 0 } } })
      const count = 500
      const replies = yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) => Effect.map(mux.request(text(`m${i}`)), str),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(replies, Array.from({ length: count }, (_, i) => `re:m${i}`))
      assert.strictEqual(yield* daemon.connections, 1)
      const m = yield* mux.metrics
      assert.deepStrictEqual([m.requestsSent, m.responsesReceived, m.unknownResponses], [count, count, 0])
      // the daemon's other opcodes still work on other connections
      yield* mux.close
      assert.strictEqual(reasonOf(yield* Effect.exit(mux.request(text("after close")))), "ConnectionClosed")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("serveSession replies out of order: a fast request overtakes a slow one", () =>
    Effect.gen(function*() {
      const cache = yield* ReplayCache.make()
      const release = yield* Deferred.make<void>()
      const slowStarted = yield* Deferred.make<void>()
      const served = yield* Ref.make(0)
      const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((connection) =>
        Effect.scoped(
          Effect.flatMap(Session.secureServer(connection), (session) =>
            Multiplexer.serveSession(session, (payload) =>
              Effect.andThen(
                Ref.update(served, (n) => n + 1),
                str(payload) === "slow"
                  ? Effect.andThen(
                    Deferred.succeed(slowStarted, undefined),
                    Effect.as(Deferred.await(release), payload)
                  )
                  : Effect.succeed(payload)
              )))
        ).pipe(Effect.provideService(ReplayCache.ReplayCache, cache), Effect.ignore)
      ))
      const mux = yield* Multiplexer.connectSecure({ connect: { tcp: { host: "127.0.0.1", port: server.port } } })
      const slow = yield* Effect.forkChild(mux.request(text("slow")))
      yield* Deferred.await(slowStarted)
      assert.strictEqual(str(yield* mux.request(text("fast"))), "fast")
      assert.isUndefined(slow.pollUnsafe(), "the slow request is still running")
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(str(yield* Fiber.join(slow)), "slow")
      assert.strictEqual(yield* Ref.get(served), 2)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.effect("the Dispatcher handler echoes the id and rejects malformed frames", () =>
    Effect.gen(function*() {
      const handle = Multiplexer.handler((payload) => Effect.succeed(text(str(payload) + "!")))
      const reply = yield* handle(
        Message.Custom({ command: "MUX", payload: Multiplexer.encodeFrame({ id: 77n, payload: text("x") }) })
      )
      assert.deepStrictEqual(
        reply,
        Message.Custom({ command: "MUX", payload: Multiplexer.encodeFrame({ id: 77n, payload: text("x!") }) })
      )
      const bad = yield* Effect.flip(handle(Message.Custom({ command: "MUX", payload: new Uint8Array(5) })))
      assert.strictEqual(bad.reason._tag, "DeserializeError")
      assert.strictEqual((yield* Effect.flip(handle(Message.Ping()))).reason._tag, "UnexpectedMessage")
    }))
})
