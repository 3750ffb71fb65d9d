/**
 * The push side of a connection (`Connection.push`): packets handed to a sink
 * from the socket's events, pause/resume as backpressure, synchronous writes
 * with `onDrain`, one `onEnd`. Real loopback sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Connection from "../src/Connection.ts"
import * as Tcp from "../src/Tcp.ts"
import * as Unix from "../src/Unix.ts"
import { assertBytes, noLeaks, payload, rawConnect, rawWrite, receiveN, tempDir } from "./helpers.ts"

interface Recorded {
  readonly packets: Queue.Queue<Packet.Packet>
  readonly ended: Deferred.Deferred<ProtocolError.ProtocolError>
  readonly drained: Deferred.Deferred<void>
  ends: number
}

/** A sink recording what it is handed. */
const recorder = Effect.gen(function*() {
  const recorded: Recorded = {
    packets: yield* Queue.unbounded<Packet.Packet>(),
    ended: yield* Deferred.make<ProtocolError.ProtocolError>(),
    drained: yield* Deferred.make<void>(),
    ends: 0
  }
  const sink: Connection.Sink = {
    onPackets: (packets: Arr.NonEmptyReadonlyArray<Packet.Packet>) => {
      for (const packet of packets) Queue.offerUnsafe(recorded.packets, packet)
    },
    onEnd: (error) => {
      recorded.ends++
      Deferred.doneUnsafe(recorded.ended, Effect.succeed(error))
    },
    onDrain: () => {
      Deferred.doneUnsafe(recorded.drained, Effect.void)
    }
  }
  return { recorded, sink }
})

/** A server whose connections are handed over (pushed side under test) until the scope closes. */
const pushServer = Effect.gen(function*() {
  const server = yield* Tcp.listen({ port: 0 })
  const accepted = yield* Deferred.make<Connection.Connection>()
  yield* Effect.forkScoped(server.run((connection) =>
    Effect.andThen(Deferred.succeed(accepted, connection), Effect.never)
  ))
  return { port: server.port, accepted }
})

describe("Connection.push", () => {
  it.live("delivers every packet in order, pauses and resumes, writes at once and ends once", () =>
    noLeaks(Effect.gen(function*() {
      const { accepted, port } = yield* pushServer
      const client = yield* Tcp.connect({ host: "127.0.0.1", port })
      const connection = yield* Deferred.await(accepted)
      const push = Connection.push(connection)
      assert.isDefined(push)
      if (push === undefined) return
      const { recorded, sink } = yield* recorder

      // packets sent before attach are delivered on attach
      yield* client.send([Packet.make(payload(10, 1))])
      push.attach(sink)
      assertBytes((yield* Queue.take(recorded.packets)).payload, payload(10, 1))

      // paused: nothing is delivered until resume
      push.pause()
      yield* client.send([Packet.make(payload(20, 2)), Packet.make(payload(30, 3))])
      yield* Effect.sleep("50 millis")
      assert.strictEqual(Queue.sizeUnsafe(recorded.packets), 0)
      push.resume()
      assertBytes((yield* Queue.take(recorded.packets)).payload, payload(20, 2))
      assertBytes((yield* Queue.take(recorded.packets)).payload, payload(30, 3))

      // a synchronous write reaches the peer
      assert.strictEqual(push.write([Packet.make(payload(5, 4))]), true)
      const [reply] = yield* receiveN(client, 1)
      assertBytes(reply.payload, payload(5, 4))

      // the peer closes: one onEnd, ConnectionClosed
      yield* client.close
      const error = yield* Deferred.await(recorded.ended)
      assert.strictEqual(error.reason._tag, "ConnectionClosed")
      assert.strictEqual(recorded.ends, 1)
      // writing after the end fails with a typed error, nothing thrown
      const late = push.write([Packet.make(payload(1))])
      assert.notStrictEqual(late, true)
    }).pipe(Effect.scoped)))

  it.live("write returns false when the peer does not read, then onDrain once it reads", () =>
    noLeaks(Effect.gen(function*() {
      const { accepted, port } = yield* pushServer
      const client = yield* Tcp.connect({ host: "127.0.0.1", port })
      const connection = yield* Deferred.await(accepted)
      const push = Connection.push(connection)
      if (push === undefined) return assert.fail("no push side")
      const { recorded, sink } = yield* recorder
      push.attach(sink)
      // the client never reads while we write 64 KiB frames until Node's buffer is full
      const chunk = payload(64 * 1024, 5)
      let writes = 0
      let flushed: ProtocolError.ProtocolError | boolean = true
      while (flushed === true && writes < 10_000) {
        flushed = push.write([Packet.make(chunk)])
        writes++
      }
      assert.strictEqual(flushed, false)
      // now the client reads everything: the socket drains
      const reader = yield* Effect.forkChild(receiveN(client, writes))
      yield* Deferred.await(recorded.drained)
      const received = yield* Fiber.join(reader)
      assert.strictEqual(received.length, writes)
      assertBytes(received[writes - 1].payload, chunk)
    }).pipe(Effect.scoped)))

  it.live("a peer that sends garbage ends the sink at once with the framing error", () =>
    noLeaks(Effect.gen(function*() {
      const { accepted, port } = yield* pushServer
      const socket = yield* rawConnect({ host: "127.0.0.1", port })
      const connection = yield* Deferred.await(accepted)
      const push = Connection.push(connection)
      if (push === undefined) return assert.fail("no push side")
      const { recorded, sink } = yield* recorder
      push.attach(sink)
      yield* rawWrite(socket, new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"))
      const error = yield* Deferred.await(recorded.ended)
      assert.strictEqual(error.reason._tag, "InvalidHeader")
      assert.strictEqual(recorded.ends, 1)
      assert.strictEqual(Queue.sizeUnsafe(recorded.packets), 0)
    }).pipe(Effect.scoped)))

  it.live("Unix socket connections have a push side too; other connections have none", () =>
    noLeaks(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = `${dir}/push.sock`
      const server = yield* Unix.listen({ path })
      const accepted = yield* Deferred.make<Connection.Connection>()
      yield* Effect.forkScoped(server.run((connection) =>
        Effect.andThen(Deferred.succeed(accepted, connection), Effect.never)
      ))
      const client = yield* Unix.connect({ path })
      const push = Connection.push(yield* Deferred.await(accepted))
      if (push === undefined) return assert.fail("no push side")
      const { recorded, sink } = yield* recorder
      push.attach(sink)
      yield* client.send([Packet.make(payload(3, 6))])
      assertBytes((yield* Queue.take(recorded.packets)).payload, payload(3, 6))
      const notNode: Connection.Connection = { ...client }
      assert.isUndefined(Connection.push(notNode))
    }).pipe(Effect.scoped)))
})
