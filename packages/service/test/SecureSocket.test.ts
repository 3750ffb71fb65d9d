/**
 * The secure transport against the `effect/socket` contract, over real
 * loopback sockets: echo, what travels on the wire, close and failure
 * semantics, the writer waiting for the handshake, reconnection, and
 * effect/rpc on top.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Certificate from "@network-protocol/transport/Certificate"
import * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcGroup from "effect/rpc/RpcGroup"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as RpcServer from "effect/rpc/RpcServer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SecureSocket from "../src/SecureSocket.ts"
import * as Session from "../src/Session.ts"
import * as WireProxy from "./wireProxy.ts"

const live = <A, E>(name: string, f: () => Effect.Effect<A, E, Crypto.Crypto | Scope.Scope>) =>
  it.live(name, () => f().pipe(Effect.provide(Crypto.layerDefault), Effect.timeout("20 seconds")))

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const pattern = (size: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat(chunks)

const portOf = (server: SocketServer.SocketServer["Service"]): number =>
  server.address._tag === "UnixPathAddress" ? -1 : server.address.port

/** Pulls until `size` bytes have arrived. */
const readBytes = (pull: Socket.Reader<Uint8Array | string>["pull"], size: number) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let total = 0
    while (total < size) {
      for (const chunk of yield* pull) {
        const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk
        chunks.push(bytes)
        total += bytes.length
      }
    }
    return concat(chunks)
  })

const echo = (socket: Socket.Socket) =>
  Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const writer = yield* socket.writer
    while (true) yield* writer.writeAll(yield* pull)
  }).pipe(Effect.scoped, Effect.catchReason("SocketError", "SocketCloseError", () => Effect.void))

/** A secure echo server on a free loopback port; it belongs to the scope. */
const serveEcho = (options?: SecureSocket.ServerOptions) =>
  Effect.gen(function*() {
    const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0, ...options })
    yield* Effect.forkScoped(server.run(echo))
    return portOf(server)
  })

/** A plain (insecure) server running `handler` on every connection. */
const servePlain = <A, E>(handler: (socket: Socket.Socket) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const server = yield* NodeSocketServer.make({ host: "127.0.0.1", port: 0 })
    yield* Effect.forkScoped(server.run((socket) => Effect.scoped(handler(socket))))
    return portOf(server)
  })

const socketError = (u: unknown): Socket.SocketError => {
  assert.isTrue(Socket.isSocketError(u), `expected a SocketError, got ${String(u)}`)
  return u as Socket.SocketError
}

/** The SocketError of a failed exit. */
const errorOf = (exit: Exit.Exit<unknown, unknown>): Socket.SocketError => {
  const error = Exit.findErrorOption(exit)
  return socketError(error._tag === "Some" ? error.value : undefined)
}

const protocolReason = (u: unknown): ProtocolError.Reason["_tag"] | undefined =>
  ProtocolError.isProtocolError(u) ? u.reason._tag : undefined

const causeOf = (error: Socket.SocketError): unknown => {
  const reason = error.reason
  return "cause" in reason ? reason.cause : undefined
}

describe("SecureSocket", () => {
  live("echoes bytes and strings over TCP", () =>
    Effect.gen(function*() {
      const port = yield* serveEcho()
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
      const big = pattern(200_000, 7)
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("hello ")
        yield* writer.writeAll([encoder.encode("secure "), "world", new Uint8Array(0)])
        yield* writer.write(big)
        return yield* readBytes(pull, 18 + big.length)
      }))
      assert.strictEqual(decoder.decode(echoed.subarray(0, 18)), "hello secure world")
      assert.isTrue(Buffer.from(echoed.subarray(18)).equals(big))
    }))

  live("echoes over a Unix socket", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-secure-socket-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const path = Path.join(dir, "s.sock")
      const server = yield* SecureSocket.makeServer({ path })
      yield* Effect.forkScoped(server.run(echo))
      assert.deepStrictEqual(server.address._tag, "UnixPathAddress")
      const socket = yield* SecureSocket.makeNet({ path })
      const reply = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("over unix")
        return decoder.decode(yield* readBytes(pull, 9))
      }))
      assert.strictEqual(reply, "over unix")
    }))

  live("composes with TLS: the stream profile inside a TLS connection", () =>
    Effect.gen(function*() {
      const certificate = yield* Certificate.generate({ dnsNames: ["localhost"] })
      const inner = yield* NodeSocketServer.makeTls({
        host: "127.0.0.1",
        port: 0,
        cert: certificate.certPem,
        key: certificate.keyPem
      })
      const server = yield* SecureSocket.fromServer(inner)
      yield* Effect.forkScoped(server.run(echo))
      const raw = yield* NodeSocket.makeTls({
        host: "127.0.0.1",
        port: portOf(server),
        servername: "localhost",
        ca: certificate.certPem
      })
      const socket = yield* SecureSocket.fromSocket(raw)
      const reply = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("inside tls")
        return decoder.decode(yield* readBytes(pull, 10))
      }))
      assert.strictEqual(reply, "inside tls")
    }))

  live("what travels on the wire is the handshake, then sealed frames no larger than maxPayloadSize", () =>
    Effect.gen(function*() {
      const port = yield* serveEcho({ maxPayloadSize: 1024 })
      const proxy = yield* WireProxy.make(() => Promise.resolve(port))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: proxy.port, maxPayloadSize: 1024 })
      const marker = encoder.encode("TOP-SECRET-MARKER-".repeat(300))
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write(marker)
        return yield* readBytes(pull, marker.length)
      }))
      assert.isTrue(Buffer.from(echoed).equals(marker))

      const needle = Buffer.from("TOP-SECRET")
      const up = proxy.toServer()
      const down = proxy.toClient()
      assert.strictEqual(up.indexOf(needle), -1, "plaintext reached the wire (client to server)")
      assert.strictEqual(down.indexOf(needle), -1, "plaintext reached the wire (server to client)")

      const sent = WireProxy.frames(up)
      const received = WireProxy.frames(down)
      const tagOf = (packet: Packet.Packet) => Result.getOrThrow(MessageCodec.decode(packet.payload))._tag
      assert.strictEqual(tagOf(sent[0]), "SecureHandshakeInit")
      assert.strictEqual(tagOf(received[0]), "SecureHandshakeResponse")
      assert.strictEqual(tagOf(sent[1]), "SecureHandshakeConfirm")
      const data = sent.slice(2)
      // 5,400 bytes in frames of at most 1024 - 40 plaintext bytes
      assert.strictEqual(data.length, Math.ceil(marker.length / (1024 - 40)))
      for (const frame of [...data, ...received.slice(1)]) assert.isAtMost(frame.payload.length, 1024)
      const sealedBytes = data.reduce((total, frame) => total + frame.payload.length, 0)
      assert.strictEqual(sealedBytes, marker.length + data.length * 40)
    }))

  live("a clean close from the server fails pull with SocketCloseError(1000)", () =>
    Effect.gen(function*() {
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          yield* pull
          yield* writer.write("bye")
        }))
      ))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: portOf(server) })
      const error = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("hi")
        assert.strictEqual(decoder.decode(yield* readBytes(pull, 3)), "bye")
        return yield* Effect.flip(pull)
      }))
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      assert.strictEqual(error.reason._tag === "SocketCloseError" ? error.reason.code : -1, 1000)
    }))

  live("releasing the client's writer half-closes: the server's pull fails with SocketCloseError(1000)", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<{ readonly data: string; readonly error: Socket.SocketError }>()
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          let data = ""
          while (true) {
            const exit = yield* Effect.exit(pull)
            if (Exit.isFailure(exit)) return yield* Deferred.succeed(seen, { data, error: errorOf(exit) })
            for (const chunk of exit.value) data += typeof chunk === "string" ? chunk : decoder.decode(chunk)
          }
        }))
      ))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: portOf(server) })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* socket.reader
        yield* Effect.scoped(Effect.gen(function*() {
          const writer = yield* socket.writer
          yield* writer.write("last words")
        }))
        const outcome = yield* Deferred.await(seen)
        assert.strictEqual(outcome.data, "last words")
        assert.strictEqual(outcome.error.reason._tag, "SocketCloseError")
        assert.strictEqual(outcome.error.reason._tag === "SocketCloseError" ? outcome.error.reason.code : -1, 1000)
      }))
    }))

  live("closing the reader's scope fails a suspended pull", () =>
    Effect.gen(function*() {
      const port = yield* serveEcho()
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
      const scope = yield* Scope.make()
      const { pull } = yield* Scope.provide(socket.reader, scope)
      const pending = yield* Effect.forkChild(pull)
      yield* Effect.yieldNow
      assert.isUndefined(pending.pollUnsafe())
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(pending)
      assert.isTrue(Exit.isFailure(exit))
      const error = errorOf(exit)
      assert.strictEqual(error.reason._tag, "SocketCloseError")
    }))

  live("a server that does not speak the protocol fails the reader acquisition with SocketOpenError", () =>
    Effect.gen(function*() {
      const port = yield* servePlain((socket) =>
        Effect.gen(function*() {
          yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write("HTTP/1.1 400 Bad Request\r\n\r\n")
          yield* Effect.never
        })
      )
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
      const error = yield* Effect.flip(Effect.scoped(socket.reader))
      assert.strictEqual(error.reason._tag, "SocketOpenError")
      assert.strictEqual(error.reason._tag === "SocketOpenError" ? error.reason.kind : "", "Unknown")
      assert.strictEqual(protocolReason(causeOf(error)), "InvalidHeader")
    }))

  live("a client that does not speak the protocol never reaches the handler and is disconnected", () =>
    Effect.gen(function*() {
      let handled = 0
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run(() => Effect.sync(() => handled++)))
      const raw = yield* NodeSocket.makeNet({ host: "127.0.0.1", port: portOf(server) })
      const error = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* raw.reader
        const writer = yield* raw.writer
        yield* writer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        return yield* Effect.flip(pull)
      }))
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      assert.strictEqual(handled, 0)
    }))

  live("a frame that does not authenticate fails pull with SocketReadError(DecryptionFailure)", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<Socket.SocketError>()
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          yield* Deferred.succeed(seen, yield* Effect.flip(Effect.forever(pull)))
        }))
      ))
      // the crate's secure stack: same handshake, but bincode messages sealed without the stream profile's AAD
      const connection = yield* Tcp.connect({ host: "127.0.0.1", port: portOf(server) })
      const session = yield* Session.secureClient(connection)
      yield* session.send([Message.Custom({ command: "HELLO", payload: new Uint8Array([1, 2, 3]) })])
      const error = yield* Deferred.await(seen)
      assert.strictEqual(error.reason._tag, "SocketReadError")
      assert.strictEqual(protocolReason(causeOf(error)), "DecryptionFailure")
      // and the server dropped the connection
      const closed = yield* Effect.flip(session.receive)
      assert.isTrue(ProtocolError.isProtocolError(closed))
    }))

  live("bytes that are not a frame after the handshake fail pull with SocketReadError(InvalidHeader)", () =>
    Effect.gen(function*() {
      // a peer running the crate's server handshake, then writing garbage
      const port = yield* servePlain((raw) =>
        Effect.gen(function*() {
          const connection = yield* Connection.fromSocket(raw)
          yield* Session.secureServer(connection)
          const writer = yield* raw.writer
          yield* writer.write("this is not a frame")
          yield* Effect.never
        }).pipe(Effect.provide(ReplayCache.layer()), Effect.provide(Crypto.layerDefault))
      )
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
      const error = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        return yield* Effect.flip(pull)
      }))
      assert.strictEqual(error.reason._tag, "SocketReadError")
      assert.strictEqual(protocolReason(causeOf(error)), "InvalidHeader")
    }))

  live("a connection that ends inside a frame fails pull with SocketReadError, not a clean close", () =>
    Effect.gen(function*() {
      const port = yield* servePlain((raw) =>
        Effect.gen(function*() {
          const connection = yield* Connection.fromSocket(raw)
          yield* Session.secureServer(connection)
          const writer = yield* raw.writer
          // a header announcing 256 bytes, then 3 of them, then the end
          const partial = new Uint8Array(Packet.HEADER_SIZE + 3)
          Packet.writeHeader(partial, 0, 256)
          yield* writer.write(partial)
        }).pipe(Effect.provide(ReplayCache.layer()), Effect.provide(Crypto.layerDefault))
      )
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
      const error = yield* Effect.scoped(Effect.flatMap(socket.reader, ({ pull }) => Effect.flip(pull)))
      assert.strictEqual(error.reason._tag, "SocketReadError")
      assert.strictEqual(protocolReason(causeOf(error)), "Io")
    }))

  live("the writer waits for the handshake: nothing but the Init is sent before it completes", () =>
    Effect.gen(function*() {
      const accepted = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const received = yield* Deferred.make<string>()
      const inner = yield* NodeSocketServer.make({ host: "127.0.0.1", port: 0 })
      // the server side of the handshake starts only once the gate opens
      const gated: SocketServer.SocketServer["Service"] = {
        address: inner.address,
        run: (handler) =>
          inner.run((raw) =>
            Effect.andThen(Deferred.succeed(accepted, void 0), Effect.andThen(Deferred.await(gate), handler(raw)))
          )
      }
      const server = yield* SecureSocket.fromServer(gated)
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          yield* Deferred.succeed(received, decoder.decode(yield* readBytes(pull, 5)))
        }))
      ))
      const proxy = yield* WireProxy.make(() => Promise.resolve(portOf(server)))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: proxy.port })
      const writer = yield* socket.writer
      const writing = yield* Effect.forkScoped(writer.write("early"))
      yield* Effect.forkScoped(Effect.flatMap(socket.reader, ({ pull }) => Effect.forever(pull)))
      yield* Deferred.await(accepted)
      // wait until the whole Init frame went through the proxy, then give the writer every chance to run
      yield* proxy.awaitToServer(Packet.HEADER_SIZE)
      yield* proxy.awaitToServer(Packet.HEADER_SIZE + proxy.toServer().readUInt32BE(5))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      assert.isUndefined(writing.pollUnsafe(), "the write completed before the handshake")
      const before = WireProxy.frames(proxy.toServer())
      assert.strictEqual(before.length, 1)
      assert.strictEqual(Result.getOrThrow(MessageCodec.decode(before[0].payload))._tag, "SecureHandshakeInit")
      yield* Deferred.succeed(gate, void 0)
      yield* Fiber.join(writing)
      assert.strictEqual(yield* Deferred.await(received), "early")
    }))

  live("a frame replayed inside a session fails to authenticate", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<{ readonly data: string; readonly error: Socket.SocketError }>()
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          let data = ""
          while (true) {
            const exit = yield* Effect.exit(pull)
            if (Exit.isFailure(exit)) return yield* Deferred.succeed(seen, { data, error: errorOf(exit) })
            for (const chunk of exit.value) data += typeof chunk === "string" ? chunk : decoder.decode(chunk)
          }
        }))
      ))
      // frames 0 and 1 are the Init and the Confirm; frame 2, the first data frame, is sent twice
      const proxy = yield* WireProxy.make(
        () => Promise.resolve(portOf(server)),
        (index, packet) => index === 2 ? [packet, packet] : [packet]
      )
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: proxy.port })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("once")
        const outcome = yield* Deferred.await(seen)
        assert.strictEqual(outcome.data, "once")
        assert.strictEqual(outcome.error.reason._tag, "SocketReadError")
        assert.strictEqual(protocolReason(causeOf(outcome.error)), "DecryptionFailure")
      }))
    }))

  live("a replayed handshake Init is refused: the replay cache is shared by the server's connections", () =>
    Effect.gen(function*() {
      const port = yield* serveEcho()
      const fixed = { nonce: pattern(16, 3) }
      const first = yield* SecureSocket.makeNet({ host: "127.0.0.1", port, handshake: { fixed } })
      const second = yield* SecureSocket.makeNet({ host: "127.0.0.1", port, handshake: { fixed } })
      yield* Effect.scoped(first.reader)
      const error = yield* Effect.flip(Effect.scoped(second.reader))
      assert.strictEqual(error.reason._tag, "SocketOpenError")
    }))

  live("a handshake that does not complete in time fails with SocketOpenError(Timeout)", () =>
    Effect.gen(function*() {
      const port = yield* servePlain((socket) => Effect.andThen(socket.reader, Effect.never))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port, handshakeTimeout: "200 millis" })
      const error = yield* Effect.flip(Effect.scoped(socket.reader))
      assert.strictEqual(error.reason._tag, "SocketOpenError")
      assert.strictEqual(error.reason._tag === "SocketOpenError" ? error.reason.kind : "", "Timeout")
    }))

  live("a server closes a connection that does not complete the handshake in time", () =>
    Effect.gen(function*() {
      let handled = 0
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0, handshakeTimeout: "200 millis" })
      yield* Effect.forkScoped(server.run(() => Effect.sync(() => handled++)))
      const raw = yield* NodeSocket.makeNet({ host: "127.0.0.1", port: portOf(server) })
      const error = yield* Effect.scoped(Effect.flatMap(raw.reader, ({ pull }) => Effect.flip(pull)))
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      assert.strictEqual(handled, 0)
    }))

  live("the writer outlives a connection: after a reconnect, writes go through the new session", () =>
    Effect.gen(function*() {
      let connections = 0
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(server.run((socket) => Effect.andThen(Effect.sync(() => connections++), echo(socket))))
      const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port: portOf(server) })
      const writer = yield* socket.writer
      for (const word of ["first", "second"]) {
        const reply = yield* Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          yield* writer.write(word)
          return decoder.decode(yield* readBytes(pull, word.length))
        }))
        assert.strictEqual(reply, word)
      }
      assert.strictEqual(connections, 2)
    }))

  live("carries effect/rpc", () =>
    Effect.gen(function*() {
      class Rpcs extends RpcGroup.make(
        Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
      ) {}
      const handlers = Rpcs.toLayer({ Add: ({ a, b }) => Effect.succeed(a + b) })
      const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
      const port = portOf(server)
      const crypto = yield* Crypto.Crypto
      yield* Layer.launch(
        RpcServer.layer(Rpcs).pipe(
          Layer.provide(handlers),
          Layer.provide(RpcServer.layerProtocolSocketServer),
          Layer.provide(Layer.succeed(SocketServer.SocketServer)(server)),
          Layer.provide(RpcSerialization.layerSchemaBinary())
        )
      ).pipe(Effect.forkScoped)
      const sums = yield* Effect.gen(function*() {
        const client = yield* RpcClient.make(Rpcs)
        return yield* Effect.all([client.Add({ a: 1, b: 2 }), client.Add({ a: 20, b: 22 })], { concurrency: 2 })
      }).pipe(
        Effect.provide(RpcClient.layerProtocolSocket()),
        Effect.provide(SecureSocket.layerNet({ host: "127.0.0.1", port })),
        Effect.provide(RpcSerialization.layerSchemaBinary()),
        Effect.provideService(Crypto.Crypto, crypto),
        Effect.scoped
      )
      assert.deepStrictEqual(sums, [3, 42])
    }))
})
