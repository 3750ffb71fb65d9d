/**
 * Unit tests of the daemon's per-session logic over an in-memory message pipe.
 * (The same logic runs over real sockets in Daemon.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import { TestClock } from "effect/testing"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Dispatcher from "../src/Dispatcher.ts"
import { serveSession } from "../src/internal/serveSession.ts"
import type * as Session from "../src/Session.ts"

/** Two ends of an in-memory message pipe; each direction holds at most `capacity` messages. */
const pipe = (capacity: number) =>
  Effect.gen(function*() {
    const toServer = yield* Queue.bounded<Message.Message, ProtocolError.ProtocolError>(capacity)
    const toClient = yield* Queue.bounded<Message.Message, ProtocolError.ProtocolError>(capacity)
    const closed = ProtocolError.make(new ProtocolError.ConnectionClosed())
    const end = (
      incoming: Queue.Queue<Message.Message, ProtocolError.ProtocolError>,
      outgoing: Queue.Queue<Message.Message, ProtocolError.ProtocolError>
    ): Session.Session => ({
      receive: Queue.takeAll(incoming) as Effect.Effect<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError>,
      send: (messages) => Effect.asVoid(Queue.offerAll(outgoing, messages)),
      info: { transport: "memory", remoteAddress: "peer", localAddress: "self", profile: "plain" },
      close: Effect.asVoid(Queue.fail(outgoing, closed))
    })
    return { server: end(toServer, toClient), client: end(toClient, toServer) }
  })

const custom = (command: string, n = 0) => Message.Custom({ command, payload: new Uint8Array([n]) })

const options = (dispatcher: Dispatcher.Dispatcher<unknown, never>, draining: Effect.Effect<void> = Effect.never) => ({
  dispatcher,
  backpressureLimit: 4,
  heartbeatInterval: Duration.seconds(15),
  deadTimeout: Duration.seconds(60),
  idleTimeout: undefined,
  draining
})

describe("serveSession", () => {
  it.effect("replies in request order even when handlers finish out of order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const dispatcher = Dispatcher.defaults.pipe(
        Dispatcher.register("SLOW", (m) => Effect.sleep("50 millis").pipe(Effect.as(m))),
        Dispatcher.register("FAST", (m) => Effect.succeed(m))
      )
      const fiber = yield* Effect.forkChild(serveSession(server, options(dispatcher)))
      yield* client.send([custom("SLOW", 1), custom("FAST", 2), Message.Ping(), custom("SLOW", 3)])
      yield* TestClock.adjust("100 millis")
      const replies: Array<Message.Message> = []
      while (replies.length < 4) replies.push(...(yield* client.receive))
      assert.deepStrictEqual(replies, [custom("SLOW", 1), custom("FAST", 2), Message.Pong(), custom("SLOW", 3)])
      yield* client.send([Message.Disconnect()])
      assert.strictEqual(yield* Fiber.join(fiber), "disconnect")
    }))

  it.effect("sends nothing for unknown opcodes, failing handlers and handlers that choose not to reply", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const dispatcher = Dispatcher.defaults.pipe(
        Dispatcher.register("FAIL", () => Effect.fail("boom")),
        Dispatcher.register("QUIET", () => Effect.void)
      )
      const fiber = yield* Effect.forkChild(serveSession(server, options(dispatcher)))
      yield* client.send([custom("FAIL"), custom("NOPE"), custom("QUIET"), Message.Unknown(), Message.Echo({ text: "x" })])
      assert.deepStrictEqual(yield* client.receive, [Message.Echo({ text: "x" })])
      yield* client.send([Message.Disconnect()])
      assert.strictEqual(yield* Fiber.join(fiber), "disconnect")
    }))

  it.effect("bounds the work in flight: with all slots taken it stops reading", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const release = yield* Deferred.make<void>()
      let started = 0
      const dispatcher = Dispatcher.empty.pipe(
        Dispatcher.register("WORK", (m) => Effect.sync(() => started++).pipe(Effect.andThen(Deferred.await(release)), Effect.as(m)))
      )
      const fiber = yield* Effect.forkChild(serveSession(server, options(dispatcher)))
      for (let i = 0; i < 10; i++) yield* client.send([custom("WORK", i)])
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 millis")
      // one permit per handler, released only when its reply is written
      assert.strictEqual(started, 4)
      yield* Deferred.succeed(release, undefined)
      const replies: Array<Message.Message> = []
      while (replies.length < 10) replies.push(...(yield* client.receive))
      assert.deepStrictEqual(replies, Array.from({ length: 10 }, (_, i) => custom("WORK", i)))
      assert.strictEqual(started, 10)
      yield* client.send([Message.Disconnect()])
      yield* Fiber.join(fiber)
    }))

  it.effect("pings when it has sent nothing for the heartbeat interval, and a Pong keeps the session alive", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const fiber = yield* Effect.forkChild(serveSession(server, options(Dispatcher.defaults)))
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("15 seconds")
        assert.deepStrictEqual(yield* client.receive, [Message.Ping()])
        yield* client.send([Message.Pong()])
      }
      assert.isUndefined(fiber.pollUnsafe())
      yield* client.send([Message.Disconnect()])
      assert.strictEqual(yield* Fiber.join(fiber), "disconnect")
    }))

  it.effect("fails with ConnectionTimeout when nothing is received for the dead timeout", () =>
    Effect.gen(function*() {
      const { server } = yield* pipe(100)
      const fiber = yield* Effect.forkChild(serveSession(server, options(Dispatcher.defaults)))
      yield* TestClock.adjust("59 seconds")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error.reason._tag, "ConnectionTimeout")
    }))

  it.effect("ends an idle session after the idle timeout, but not a busy one", () =>
    Effect.gen(function*() {
      const idle = yield* pipe(100)
      const busy = yield* pipe(100)
      const opts = { ...options(Dispatcher.defaults), idleTimeout: Duration.seconds(10) }
      const idleFiber = yield* Effect.forkChild(serveSession(idle.server, opts))
      const busyFiber = yield* Effect.forkChild(serveSession(busy.server, opts))
      for (let i = 0; i < 6; i++) {
        yield* busy.client.send([Message.Echo({ text: String(i) })])
        yield* busy.client.receive
        yield* TestClock.adjust("3 seconds")
      }
      assert.strictEqual(yield* Fiber.join(idleFiber), "idle")
      assert.isUndefined(busyFiber.pollUnsafe())
      yield* busy.client.send([Message.Disconnect()])
      assert.strictEqual(yield* Fiber.join(busyFiber), "disconnect")
    }))

  it.effect("on draining, stops reading and still delivers replies to requests already read", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const draining = yield* Deferred.make<void>()
      const dispatcher = Dispatcher.defaults.pipe(
        Dispatcher.register("SLOW", (m) => Effect.sleep("1 second").pipe(Effect.as(m)))
      )
      const fiber = yield* Effect.forkChild(serveSession(server, options(dispatcher, Deferred.await(draining))))
      yield* client.send([custom("SLOW", 1), custom("SLOW", 2)])
      yield* Effect.yieldNow
      yield* Deferred.succeed(draining, undefined)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "drained")
      const replies: Array<Message.Message> = []
      while (replies.length < 2) replies.push(...(yield* client.receive))
      assert.deepStrictEqual(replies, [custom("SLOW", 1), custom("SLOW", 2)])
    }))

  it.effect("ends with 'closed' when the peer goes away", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pipe(100)
      const fiber = yield* Effect.forkChild(serveSession(server, options(Dispatcher.defaults)))
      yield* client.close
      assert.strictEqual(yield* Fiber.join(fiber), "closed")
    }))
})
