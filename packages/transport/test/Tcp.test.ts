import { assert, describe, it } from "@effect/vitest"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Packet from "@network-protocol/core/Packet"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import type * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Connection from "../src/Connection.ts"
import * as ErrorCode from "../src/ErrorCode.ts"
import * as Tcp from "../src/Tcp.ts"
import {
  assertBytes,
  assertPortFree,
  awaitClose,
  echo,
  failureError,
  failureReason,
  frame,
  loopTurn,
  noLeaks,
  payload,
  rawConnect,
  rawWrite,
  receiveN
} from "./helpers.ts"

/** Serves `handler` on a fresh loopback port; the server belongs to the scope. */
const serve = <A, E>(
  handler: (connection: Connection.Connection) => Effect.Effect<A, E>,
  options?: Partial<Tcp.ListenOptions>
) =>
  Effect.gen(function*() {
    const server = yield* Tcp.listen({ port: 0, ...options })
    yield* Effect.forkScoped(server.run(handler))
    return server
  })

/** A server whose handler reports the exit of its first `receive` calls to a Deferred. */
const serveCapture = (options?: Partial<Tcp.ListenOptions>) =>
  Effect.gen(function*() {
    const outcome = yield* Deferred.make<{
      readonly packets: ReadonlyArray<Packet.Packet>
      readonly exit: Exit.Exit<unknown, unknown>
    }>()
    const server = yield* serve((connection) =>
      Effect.gen(function*() {
        const packets: Array<Packet.Packet> = []
        let exit: Exit.Exit<unknown, unknown> = Exit.void
        for (let i = 0; i < 64; i++) {
          const received = yield* Effect.exit(connection.receive)
          exit = received
          if (Exit.isFailure(received)) break
          packets.push(...received.value)
        }
        yield* Deferred.succeed(outcome, { packets, exit })
      }), options)
    return { server, outcome }
  })

describe("Tcp", () => {
  it.effect("round trips packets of 0 B, 1 B, 64 KiB, 1 MiB and 16 MiB", () =>
    Effect.gen(function*() {
      const port = yield* noLeaks(Effect.gen(function*() {
        const server = yield* serve(echo)
        const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
        assert.strictEqual(client.info.transport, "tcp")
        assert.strictEqual(client.info.remoteAddress, `127.0.0.1:${server.port}`)
        assert.isUndefined(client.info.tls)
        for (const size of [0, 1, 64 * 1024, 1024 * 1024, Packet.MAX_PAYLOAD_SIZE]) {
          const sent = payload(size, size & 0xff)
          yield* client.send([Packet.make(sent)])
          const [received] = yield* receiveN(client, 1)
          assertBytes(received.payload, sent, `${size} B`)
        }
        // several packets in one send arrive in order
        const batch = [0, 1, 2, 3, 4].map((i) => Packet.make(payload(100 * i, i)))
        yield* client.send([batch[0], ...batch.slice(1)])
        const received = yield* receiveN(client, batch.length)
        assert.strictEqual(received.length, batch.length)
        received.forEach((packet, i) => assertBytes(packet.payload, batch[i].payload, `packet ${i}`))
        return server.port
      }))
      yield* assertPortFree(port)
    }))

  it.effect("reassembles a 1 MiB packet written one byte at a time", () =>
    noLeaks(Effect.gen(function*() {
      const { outcome, server } = yield* serveCapture()
      const socket = yield* rawConnect({ host: "127.0.0.1", port: server.port, noDelay: true })
      const sent = payload(1024 * 1024, 7)
      const bytes = frame(sent)
      for (let i = 0; i < bytes.length; i++) yield* rawWrite(socket, bytes.subarray(i, i + 1))
      socket.end()
      const { exit, packets } = yield* Deferred.await(outcome)
      assert.strictEqual(packets.length, 1)
      assertBytes(packets[0].payload, sent)
      assert.strictEqual(failureReason(exit)?._tag, "ConnectionClosed")
    })))

  const badPeers: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ["garbage", new TextEncoder().encode("GET / HTTP/1.1\r\n"), "InvalidHeader"],
    ["a wrong magic", Uint8Array.of(0x4e, 0x50, 0x52, 0x58, 0x01, 0, 0, 0, 0), "InvalidHeader"],
    ["a wrong version", Uint8Array.of(0x4e, 0x50, 0x52, 0x4f, 0x02, 0, 0, 0, 0), "UnsupportedVersion"],
    ["a 4 GiB length", Uint8Array.of(0x4e, 0x50, 0x52, 0x4f, 0x01, 0xff, 0xff, 0xff, 0xff), "OversizedPacket"]
  ]
  for (const [name, bytes, reason] of badPeers) {
    it.effect(`disconnects a peer sending ${name} at once, with ${reason}`, () =>
      noLeaks(Effect.gen(function*() {
        const { outcome, server } = yield* serveCapture()
        const socket = yield* rawConnect({ host: "127.0.0.1", port: server.port })
        // a valid frame first: it is still delivered
        yield* rawWrite(socket, frame(Uint8Array.of(1, 2, 3)))
        // only the bad header is sent, never a body: a server that waited for
        // one would never answer and the socket would never close
        yield* rawWrite(socket, bytes)
        const { exit, packets } = yield* Deferred.await(outcome)
        assert.strictEqual(packets.length, 1)
        const failure = failureReason(exit)
        assert.strictEqual(failure?._tag, reason)
        if (failure?._tag === "OversizedPacket") assert.strictEqual(failure.size, 0xffffffff)
        if (failure?._tag === "UnsupportedVersion") assert.strictEqual(failure.version, 2)
        // the client sees the server close the connection
        yield* awaitClose(socket)
        assert.strictEqual(yield* server.connections, 0)
      })))
  }

  it.effect("enforces maxPayloadSize on both sides", () =>
    noLeaks(Effect.gen(function*() {
      const { outcome, server } = yield* serveCapture({ maxPayloadSize: 1024 })
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port, maxPayloadSize: 1024 })
      const tooBig = yield* Effect.exit(client.send([Packet.make(payload(1025))]))
      assert.strictEqual(failureReason(tooBig)?._tag, "OversizedPacket")
      // nothing was written: the connection is still usable
      yield* client.send([Packet.make(payload(1024))])
      const unlimited = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      yield* unlimited.send([Packet.make(payload(2048))])
      const { exit } = yield* Deferred.await(outcome)
      const failure = failureReason(exit)
      assert.strictEqual(failure?._tag, "OversizedPacket")
      if (failure?._tag === "OversizedPacket") assert.strictEqual(failure.size, 2048)
    })))

  it.effect("tells a clean close (ConnectionClosed) from a reset (Io, ECONNRESET)", () =>
    noLeaks(Effect.gen(function*() {
      const { outcome: closed, server } = yield* serveCapture()
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      yield* client.send([Packet.make(payload(10))])
      yield* client.close
      const clean = yield* Deferred.await(closed)
      assert.strictEqual(clean.packets.length, 1)
      assert.strictEqual(failureReason(clean.exit)?._tag, "ConnectionClosed")
      // after close, the closing side fails fast too
      const sendAfterClose = yield* Effect.exit(client.send([Packet.make(payload(1))]))
      assert.strictEqual(failureReason(sendAfterClose)?._tag, "ConnectionClosed")
      assert.strictEqual(failureReason(yield* Effect.exit(client.receive))?._tag, "ConnectionClosed")
      yield* client.close

      const { outcome: reset, server: server2 } = yield* serveCapture()
      const socket = yield* rawConnect({ host: "127.0.0.1", port: server2.port })
      yield* rawWrite(socket, frame(payload(10)))
      socket.resetAndDestroy()
      const broken = yield* Deferred.await(reset)
      const failure = failureReason(broken.exit)
      assert.strictEqual(failure?._tag, "Io")
      assert.isTrue(ErrorCode.isConnectionReset(failureError(broken.exit)))
      assert.strictEqual(ErrorCode.get(failureError(broken.exit)), "ECONNRESET")
    })))

  it.effect("reports a stream that ends inside a frame as Io", () =>
    noLeaks(Effect.gen(function*() {
      const { outcome, server } = yield* serveCapture()
      const socket = yield* rawConnect({ host: "127.0.0.1", port: server.port })
      yield* rawWrite(socket, frame(payload(100)).subarray(0, 50))
      socket.end()
      const { exit, packets } = yield* Deferred.await(outcome)
      assert.strictEqual(packets.length, 0)
      const failure = failureReason(exit)
      assert.strictEqual(failure?._tag, "Io")
      assert.include(failure?.message ?? "", "middle of a frame")
    })))

  it.effect("tells a refused connection from an address in use", () =>
    noLeaks(Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(Tcp.listen({ port: 0 }), (server) => server.port))
      const refused = yield* Effect.flip(Effect.scoped(Tcp.connect({ host: "127.0.0.1", port })))
      assert.strictEqual(refused.reason._tag, "Io")
      assert.isTrue(ErrorCode.isConnectionRefused(refused))
      assert.isFalse(ErrorCode.isAddressInUse(refused))
      assert.include(refused.message, "ECONNREFUSED")

      const server = yield* Tcp.listen({ port: 0 })
      const inUse = yield* Effect.flip(Effect.scoped(Tcp.listen({ port: server.port })))
      assert.strictEqual(inUse.reason._tag, "Io")
      assert.isTrue(ErrorCode.isAddressInUse(inUse))
      assert.isFalse(ErrorCode.isConnectionRefused(inUse))
      assert.isFalse(ErrorCode.isPermissionDenied(inUse))
    })))

  it.effect("interrupting run closes every connection", () =>
    noLeaks(Effect.gen(function*() {
      const server = yield* Tcp.listen({ port: 0 })
      const running = yield* Effect.forkScoped(server.run(echo))
      const a = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      const b = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      yield* a.send([Packet.make(payload(3))])
      yield* b.send([Packet.make(payload(3))])
      yield* receiveN(a, 1)
      yield* receiveN(b, 1)
      assert.strictEqual(yield* server.connections, 2)
      yield* Fiber.interrupt(running)
      assert.strictEqual(failureReason(yield* Effect.exit(a.receive))?._tag, "ConnectionClosed")
      assert.strictEqual(failureReason(yield* Effect.exit(b.receive))?._tag, "ConnectionClosed")
      assert.strictEqual(yield* server.connections, 0)
    })))

  it.effect("interrupting a fiber releases the connection it holds", () =>
    noLeaks(Effect.gen(function*() {
      const { outcome, server } = yield* serveCapture()
      const receiving = yield* Deferred.make<void>()
      const client = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const connection = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
        yield* connection.send([Packet.make(payload(1))])
        yield* Deferred.succeed(receiving, undefined)
        return yield* connection.receive
      })))
      yield* Deferred.await(receiving)
      yield* Fiber.interrupt(client)
      const { exit, packets } = yield* Deferred.await(outcome)
      assert.strictEqual(packets.length, 1)
      assert.strictEqual(failureReason(exit)?._tag, "ConnectionClosed")
    })))

  it.effect("serves connections that arrived before run", () =>
    noLeaks(Effect.gen(function*() {
      const server = yield* Tcp.listen({ port: 0 })
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      yield* client.send([Packet.make(payload(5))])
      yield* Effect.forkScoped(server.run(echo))
      const [packet] = yield* receiveN(client, 1)
      assertBytes(packet.payload, payload(5))
    })))

  it.effect("a slow reader pauses the writer (end-to-end backpressure)", () =>
    noLeaks(Effect.gen(function*() {
      const count = 128
      const size = 1024 * 1024
      const gate = yield* Deferred.make<void>()
      const received = yield* Ref.make(0)
      const server = yield* serve((connection) =>
        Effect.gen(function*() {
          yield* Deferred.await(gate)
          while ((yield* Ref.get(received)) < count) {
            const batch = yield* connection.receive
            yield* Ref.update(received, (n) => n + batch.length)
          }
        })
      )
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      const packets = Array.from({ length: count }, () => Packet.make(new Uint8Array(size)))
      // one 128 MiB write: it can only complete (drain) once the server has read most of it
      const sending = yield* Effect.forkScoped(
        Effect.andThen(client.send([packets[0], ...packets.slice(1)]), Ref.get(received))
      )
      // give an implementation that reads eagerly every chance to swallow the
      // 128 MiB (loopback moves megabytes per loop turn) before the reader starts
      for (let turn = 0; turn < 2000 && sending.pollUnsafe() === undefined; turn++) yield* loopTurn
      assert.isUndefined(sending.pollUnsafe(), "the write completed although nothing was read")
      assert.strictEqual(yield* Ref.get(received), 0)
      yield* Deferred.succeed(gate, undefined)
      const receivedWhenDrained = yield* Fiber.join(sending)
      // kernel buffers (up to ~36 MiB here) and one partial packet may still be in flight
      assert.isAtLeast(receivedWhenDrained, count - 48)
    })))

  it.effect("concurrent senders waiting for drain share one set of listeners", () =>
    noLeaks(Effect.gen(function*() {
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => warnings.push(warning.name)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("warning", onWarning)),
        () => Effect.sync(() => process.off("warning", onWarning))
      )
      const senders = 32
      const gate = yield* Deferred.make<void>()
      const done = yield* Deferred.make<number>()
      const server = yield* serve((connection) =>
        Effect.gen(function*() {
          yield* Deferred.await(gate)
          let received = 0
          while (received < senders) received += (yield* connection.receive).length
          yield* Deferred.succeed(done, received)
        })
      )
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      const sending = yield* Effect.forkScoped(Effect.forEach(
        Array.from({ length: senders }, (_, i) => i),
        (i) => client.send([Packet.make(payload(4 * 1024 * 1024, i))]),
        { concurrency: "unbounded", discard: true }
      ))
      for (let turn = 0; turn < 200 && sending.pollUnsafe() === undefined; turn++) yield* loopTurn
      assert.isUndefined(sending.pollUnsafe())
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(sending)
      assert.strictEqual(yield* Deferred.await(done), senders)
      assert.notInclude(warnings, "MaxListenersExceededWarning")
    })))

  it.effect("frames any Effect Socket with fromSocket", () =>
    noLeaks(Effect.gen(function*() {
      const server = yield* serve(echo)
      // an Effect Socket over a duplex opened (and released) here
      const socket = yield* NodeSocket.fromDuplex(
        Effect.acquireRelease(
          Effect.map(Effect.orDie(rawConnect({ host: "127.0.0.1", port: server.port })), (raw): Duplex => raw),
          (raw) => awaitClose(raw as Net.Socket, true)
        )
      )
      const client = yield* Connection.fromSocket(socket)
      assert.isTrue(Connection.isConnection(client))
      assert.strictEqual(client.info.transport, "socket")
      const sent = payload(100_000, 3)
      yield* client.send([Packet.make(sent), Packet.make(new Uint8Array(0))])
      const received = yield* receiveN(client, 2)
      assertBytes(received[0].payload, sent)
      assert.strictEqual(received[1].payload.length, 0)
      yield* client.close
      assert.strictEqual(failureReason(yield* Effect.exit(client.send([Packet.make(sent)])))?._tag, "ConnectionClosed")
    })))
})
