/**
 * The secure stream profile as an Effect `Socket`: the crate's framing and
 * handshake, then raw byte chunks sealed with the session key.
 *
 * One value per logical socket: every reader acquisition opens the raw socket
 * (dialing, for a client), runs a fresh handshake over it and publishes the
 * resulting session; the writer is detached and writes through whichever
 * session is current, waiting (a `Latch`) while there is none.
 *
 * @internal
 */
import * as Crypto from "@network-protocol/core/Crypto"
import * as Handshake from "@network-protocol/core/Handshake"
import type * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as ReplayCache from "@network-protocol/core/ReplayCache"
import type * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import { Buffer } from "node:buffer"

/** @internal */
export const defaultHandshakeTimeout: Duration.Duration = Duration.seconds(10)

/** nonce ‖ tag */
const OVERHEAD = Crypto.NONCE_SIZE + Crypto.TAG_SIZE
/** header ‖ nonce ‖ tag */
const FRAME_OVERHEAD = Packet.HEADER_SIZE + OVERHEAD
/** direction byte ‖ u64 big-endian frame counter */
const AAD_SIZE = 9
/** The direction byte of frames sent by the client (`C`) and by the server (`S`). */
const CLIENT_DIRECTION = 0x43
const SERVER_DIRECTION = 0x53
const NONCE_POOL = 128

/** @internal */
export type Config =
  & {
    readonly crypto: Crypto.Crypto["Service"]
    readonly handshakeTimeout: Duration.Duration
    readonly maxPayloadSize: number
  }
  & (
    | { readonly role: "client"; readonly handshake: Handshake.ClientOptions | undefined }
    | {
      readonly role: "server"
      readonly replayCache: ReplayCache.ReplayCache
      readonly handshake: Handshake.ServerOptions | undefined
    }
  )

/** The keys and counters of one handshake, for one connection. */
interface Session {
  readonly rawWriter: Socket.Writer
  aead: Crypto.Aead | undefined
  readonly sendAad: Uint8Array
  readonly recvAad: Uint8Array
  sendSeq: number
  recvSeq: number
  /** Orders sealing (the frame counter) with the bytes reaching the raw socket. */
  readonly lock: Semaphore.Semaphore
  /** Set once the session failed (a frame that did not authenticate, a framing error). */
  failure: Socket.SocketError | undefined
}

const encoder = new TextEncoder()

const toBytes = (chunk: Uint8Array | string): Uint8Array => typeof chunk === "string" ? encoder.encode(chunk) : chunk

const writeCounter = (aad: Uint8Array, counter: number): void => {
  const high = Math.floor(counter / 0x1_0000_0000)
  const low = counter >>> 0
  aad[1] = high >>> 24
  aad[2] = (high >>> 16) & 0xff
  aad[3] = (high >>> 8) & 0xff
  aad[4] = high & 0xff
  aad[5] = low >>> 24
  aad[6] = (low >>> 16) & 0xff
  aad[7] = (low >>> 8) & 0xff
  aad[8] = low & 0xff
}

const makeAad = (direction: number): Uint8Array => {
  const aad = new Uint8Array(AAD_SIZE)
  aad[0] = direction
  return aad
}

/** Random nonces drawn in pools, each handed out once. */
const pooledNonces = (crypto: Crypto.Crypto["Service"]): (out: Uint8Array) => void => {
  const poolBytes = NONCE_POOL * Crypto.NONCE_SIZE
  let pool = crypto.randomBytes(poolBytes)
  let offset = 0
  return (out) => {
    if (offset === poolBytes) {
      pool = crypto.randomBytes(poolBytes)
      offset = 0
    }
    out.set(pool.subarray(offset, offset + Crypto.NONCE_SIZE))
    pool.fill(0, offset, offset + Crypto.NONCE_SIZE)
    offset += Crypto.NONCE_SIZE
  }
}

const readError = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketReadError({ cause }) })

const writeError = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) })

const openError = (kind: "Unknown" | "Timeout", cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind, cause }) })

const decryptionFailure = (): Socket.SocketError =>
  readError(ProtocolError.make(new ProtocolError.DecryptionFailure()))

const truncated = (buffered: number): Socket.SocketError =>
  readError(
    ProtocolError.make(
      new ProtocolError.Io({ detail: `stream ended in the middle of a frame (${buffered} bytes remaining on stream)` })
    )
  )

const protocolClose = new Socket.CloseEvent(1002, "protocol error")

/**
 * A secure `Socket` over `raw`. Requires nothing: the crypto provider (and,
 * for a server, the replay cache) are in `config`.
 *
 * @internal
 */
export const make = (raw: Socket.Socket, config: Config): Socket.Socket => {
  const crypto = config.crypto
  const nonce = pooledNonces(crypto)
  const maxPlaintext = config.maxPayloadSize - OVERHEAD
  if (!(maxPlaintext > 0)) throw new RangeError(`maxPayloadSize must be more than ${OVERHEAD} bytes`)
  const ownDirection = config.role === "client" ? CLIENT_DIRECTION : SERVER_DIRECTION
  const peerDirection = config.role === "client" ? SERVER_DIRECTION : CLIENT_DIRECTION

  let current: Session | undefined
  const latch = Latch.makeUnsafe(false)

  // ---------------------------------------------------------------------------
  // reading
  // ---------------------------------------------------------------------------

  const reader: Socket.Socket["reader"] = Effect.gen(function*() {
    const scope = yield* Effect.scope
    const rawReader = yield* raw.reader
    const rawWriter = yield* raw.writer
    const decoder = PacketCodec.makeDecoder({ maxPayloadSize: config.maxPayloadSize })
    /** Decoded packets not consumed yet. */
    let ready: Array<Packet.Packet> = []

    const rawPull = Effect.mapError(rawReader.pull, (error) =>
      error.reason._tag === "SocketCloseError" && decoder.buffered > 0 ? truncated(decoder.buffered) : error)

    // -- handshake --------------------------------------------------------------

    const nextPacket: Effect.Effect<Packet.Packet, Socket.SocketError | ProtocolError.ProtocolError> = Effect.suspend(
      () => {
        const first = ready.shift()
        if (first !== undefined) return Effect.succeed(first)
        return Effect.flatMap(rawPull, (chunks) => {
          for (let i = 0; i < chunks.length; i++) {
            const error = decoder.feed(toBytes(chunks[i]), ready)
            if (error !== undefined) return Effect.fail(error)
          }
          return nextPacket
        })
      }
    )
    const nextMessage = Effect.flatMap(nextPacket, (packet) =>
      Effect.fromResult(MessageCodec.decode(packet.payload)).pipe(
        Effect.mapError((error) =>
          ProtocolError.make(new ProtocolError.DeserializeError({ detail: error.message, cause: error }))
        )
      ))
    const sendMessage = (message: Message.Message) =>
      Effect.flatMap(
        Effect.fromResult(MessageCodec.encode(message)),
        (bytes) => rawWriter.write(Packet.encode(Packet.make(bytes)))
      )

    const clientHandshake = (options: Handshake.ClientOptions | undefined) =>
      Effect.gen(function*() {
        const handshake = Handshake.makeClientUnsafe(crypto, options)
        yield* Scope.addFinalizer(scope, Effect.sync(handshake.destroy))
        const now = yield* Clock.currentTimeMillis
        yield* sendMessage(yield* Effect.fromResult(handshake.init(now)))
        const { confirm, sessionKey } = yield* Effect.fromResult(handshake.confirm(yield* nextMessage))
        yield* sendMessage(confirm)
        return sessionKey
      })

    const serverHandshake = (
      replayCache: ReplayCache.ReplayCache,
      options: Handshake.ServerOptions | undefined
    ) =>
      Effect.gen(function*() {
        const handshake = Handshake.makeServerUnsafe(crypto, replayCache, options)
        yield* Scope.addFinalizer(scope, Effect.sync(handshake.destroy))
        const init = yield* nextMessage
        const now = yield* Clock.currentTimeMillis
        yield* sendMessage(yield* Effect.fromResult(handshake.respond(init, now)))
        return yield* Effect.fromResult(handshake.finish(yield* nextMessage))
      })

    const key = yield* (config.role === "client"
      ? clientHandshake(config.handshake)
      : serverHandshake(config.replayCache, config.handshake)).pipe(
        Effect.timeoutOrElse({
          duration: config.handshakeTimeout,
          orElse: () =>
            Effect.fail(
              openError(
                "Timeout",
                new Error(`secure handshake timed out after ${Duration.format(config.handshakeTimeout)}`)
              )
            )
        }),
        Effect.mapError((error) =>
          Socket.isSocketError(error) && error.reason._tag === "SocketOpenError" ? error : openError("Unknown", error)
        )
      )

    const session: Session = {
      rawWriter,
      aead: crypto.aead(key),
      sendAad: makeAad(ownDirection),
      recvAad: makeAad(peerDirection),
      sendSeq: 0,
      recvSeq: 0,
      lock: Semaphore.makeUnsafe(1),
      failure: undefined
    }
    key.fill(0)

    // -- data -------------------------------------------------------------------

    /** The error to fail the next pull with, once the packets before it were handed out. */
    let stashed: Socket.SocketError | undefined

    const fail = (error: Socket.SocketError) => {
      session.failure ??= error
      // a peer that does not speak the protocol: drop the connection now
      return Effect.andThen(Effect.ignore(rawWriter.write(protocolClose)), Effect.fail(session.failure))
    }

    const openPackets = (
      packets: ReadonlyArray<Packet.Packet>
    ): Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> => {
      const aead = session.aead
      const out: Array<Uint8Array> = []
      for (let i = 0; i < packets.length; i++) {
        const payload = packets[i].payload
        writeCounter(session.recvAad, session.recvSeq)
        const plaintext = aead === undefined || payload.length < OVERHEAD ? undefined : aead.open(
          payload.subarray(0, Crypto.NONCE_SIZE),
          payload.subarray(Crypto.NONCE_SIZE),
          session.recvAad
        )
        if (plaintext === undefined) {
          if (out.length === 0) return fail(decryptionFailure())
          stashed = decryptionFailure()
          break
        }
        session.recvSeq++
        if (plaintext.length > 0) out.push(plaintext)
      }
      return out.length > 0 ? Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>) : pull
    }

    const onChunks = (
      chunks: Arr.NonEmptyReadonlyArray<Uint8Array | string>
    ): Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> => {
      const packets: Array<Packet.Packet> = []
      for (let i = 0; i < chunks.length; i++) {
        const error = decoder.feed(toBytes(chunks[i]), packets)
        if (error !== undefined) {
          if (packets.length === 0) return fail(readError(error))
          stashed = readError(error)
          break
        }
      }
      return packets.length > 0 ? openPackets(packets) : pull
    }

    const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> = Effect.suspend(() => {
      if (session.failure !== undefined) return Effect.fail(session.failure)
      if (stashed !== undefined) {
        const error = stashed
        stashed = undefined
        return fail(error)
      }
      if (ready.length > 0) {
        const packets = ready
        ready = []
        return openPackets(packets)
      }
      return Effect.flatMap(rawPull, onChunks)
    })

    // runs before the raw socket's own finalizers (which fail a suspended pull)
    yield* Scope.addFinalizer(
      scope,
      Effect.sync(() => {
        session.aead = undefined
        session.failure ??= new Socket.SocketError({ reason: new Socket.SocketCloseError({ code: 1006 }) })
        if (current === session) {
          current = undefined
          latch.closeUnsafe()
        }
      })
    )
    current = session
    latch.openUnsafe()

    return { pull, upgrade: Socket.SocketUpgradeError.unsupported } satisfies Socket.Reader<Uint8Array>
  })

  // ---------------------------------------------------------------------------
  // writing
  // ---------------------------------------------------------------------------

  /** Seals every chunk (split into frames of at most `maxPlaintext` bytes) into one buffer. */
  const seal = (session: Session, chunks: ReadonlyArray<Uint8Array>): Uint8Array | undefined => {
    const aead = session.aead
    if (aead === undefined) return undefined
    let total = 0
    for (let i = 0; i < chunks.length; i++) {
      const length = chunks[i].length
      if (length > 0) total += length + Math.ceil(length / maxPlaintext) * FRAME_OVERHEAD
    }
    // uninitialised: every byte is written below
    const out = Buffer.allocUnsafe(total)
    let offset = 0
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]
      for (let start = 0; start < chunk.length; start += maxPlaintext) {
        const plaintext = chunk.subarray(start, Math.min(chunk.length, start + maxPlaintext))
        const payloadLength = OVERHEAD + plaintext.length
        Packet.writeHeader(out, offset, payloadLength)
        const nonceStart = offset + Packet.HEADER_SIZE
        const sealedStart = nonceStart + Crypto.NONCE_SIZE
        nonce(out.subarray(nonceStart, sealedStart))
        writeCounter(session.sendAad, session.sendSeq++)
        aead.seal(
          out.subarray(nonceStart, sealedStart),
          plaintext,
          session.sendAad,
          out.subarray(sealedStart, sealedStart + plaintext.length + Crypto.TAG_SIZE)
        )
        offset = sealedStart + plaintext.length + Crypto.TAG_SIZE
      }
    }
    return out
  }

  const send = (chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() => {
      const session = current
      if (session === undefined) return latch.whenOpen(send(chunks))
      return session.lock.withPermit(Effect.suspend(() => {
        if (session.failure !== undefined) return Effect.fail(writeError(session.failure))
        const bytes = seal(session, chunks)
        if (bytes === undefined) return Effect.fail(writeError(new Error("the secure session is closed")))
        return bytes.length === 0 ? Effect.void : session.rawWriter.write(bytes)
      }))
    })

  const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> => {
    if (Socket.isCloseEvent(chunk)) {
      return Effect.suspend(() => {
        const session = current
        return session === undefined ? latch.whenOpen(write(chunk)) : session.rawWriter.write(chunk)
      })
    }
    return send([toBytes(chunk)])
  }

  const writeAll = (chunks: Arr.NonEmptyReadonlyArray<Uint8Array | string>): Effect.Effect<void, Socket.SocketError> =>
    send(chunks.map(toBytes))

  // the raw writer's release half-closes the current connection (`end()`)
  const writer: Socket.Socket["writer"] = Effect.as(raw.writer, { write, writeAll } satisfies Socket.Writer)

  return Socket.make({ reader, writer })
}

/** @internal */
export type ServerConfig = Extract<Config, { readonly role: "server" }>

/**
 * A server whose handlers see only connections that completed the server
 * side of the handshake. The handshake runs in the connection's fiber, before
 * the handler (bounded by the handshake timeout); a connection that fails it
 * is closed and logged at debug level, and never reaches the handler.
 *
 * The handler's socket hands out the reader of that session: closing the scope
 * of any reader acquisition closes the connection (the raw reader's scope),
 * which fails a suspended pull, as for an accepted `NodeSocket`.
 *
 * @internal
 */
export const makeServer = (
  inner: SocketServer.SocketServer["Service"],
  config: ServerConfig
): SocketServer.SocketServer["Service"] => {
  const serve = <A, E, R>(raw: Socket.Socket, handler: (socket: Socket.Socket) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const secure = make(raw, config)
      const connection = yield* Scope.fork(yield* Effect.scope)
      const opened = yield* Effect.exit(Scope.provide(secure.reader, connection))
      if (Exit.isFailure(opened)) {
        yield* Scope.close(connection, Exit.void)
        return yield* Effect.logDebug("secure handshake failed; connection closed", opened.cause)
      }
      const reader = opened.value
      const socket = Socket.make({
        reader: Effect.as(Effect.addFinalizer(() => Scope.close(connection, Exit.void)), reader),
        writer: secure.writer
      })
      return yield* Effect.asVoid(handler(socket))
    }).pipe(Effect.scoped)

  return {
    address: inner.address,
    run: (handler) => inner.run((raw) => serve(raw, handler))
  }
}
