/**
 * The framed connection over a Node socket, and over any Effect `Socket`.
 *
 * Over a Node socket, reading and writing are done here, on the socket's own
 * events (see {@link fromNodeSocket}): the socket flows only while `receive`
 * waits, so a slow reader closes the peer's TCP window; a waiting `receive`
 * is resumed straight from the `data` event; `send` is one `write`, waiting
 * for `drain` when Node's buffer is over its high-water mark, and fails at
 * once on a closed or failed socket instead of waiting forever.
 *
 * @internal
 */
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Arr from "effect/Array"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as Crypto from "node:crypto"
import type * as Net from "node:net"
import * as Tls from "node:tls"
import type * as Connection from "../Connection.ts"
import * as Errors from "./errors.ts"

/** @internal */
export const TypeId = "~network-protocol/transport/Connection" as const

/**
 * Payloads from this size on are written as they are, after their own header
 * (one `writev` for the batch), instead of being copied into one buffer with
 * the rest of the batch.
 *
 * @internal
 */
export const ZERO_COPY_MIN = 16 * 1024

/**
 * The frames of `packets[start, end)` in one new buffer (sizes already
 * checked). A `Buffer` (Node's pooled slab for small sizes), which the socket
 * takes as it is.
 */
const frameAll = (packets: ReadonlyArray<Packet.Packet>, start: number, end: number): Buffer => {
  let total = 0
  for (let i = start; i < end; i++) total += Packet.HEADER_SIZE + packets[i].payload.length
  const out = Buffer.allocUnsafe(total)
  let offset = 0
  for (let i = start; i < end; i++) {
    const payload = packets[i].payload
    Packet.writeHeader(out, offset, payload.length)
    out.set(payload, offset + Packet.HEADER_SIZE)
    offset += Packet.HEADER_SIZE + payload.length
  }
  return out
}

/** @internal */
export const defaultCloseTimeout: Duration.Duration = Duration.seconds(5)

interface SocketState {
  error: Error | undefined
  released: boolean
}

const kState: unique symbol = Symbol.for("network-protocol/transport/SocketState")

interface GuardedSocket extends Net.Socket {
  [kState]?: SocketState | undefined
}

// shared by every socket (`this` is the socket): no closure per socket
function rememberError(this: GuardedSocket, error: Error): void {
  const state = this[kState]
  if (state !== undefined && state.error === undefined) state.error = error
}
function markReleased(this: GuardedSocket): void {
  const state = this[kState]
  if (state !== undefined) state.released = true
}

/**
 * Keeps an `error` listener on a socket for its whole life (an unhandled
 * `error` event would crash the process), remembers the first error, and
 * records when the socket's handle is released: Node sets `socket.closed`
 * before the handle is closed, but emits `close` only after.
 *
 * @internal
 */
export const guard = (socket: Net.Socket): void => {
  const guarded: GuardedSocket = socket
  if (guarded[kState] !== undefined) return
  guarded[kState] = { error: undefined, released: false }
  socket.on("error", rememberError)
  socket.on("close", markReleased)
}

/** @internal */
export const lastError = (socket: Net.Socket): Error | undefined => (socket as GuardedSocket)[kState]?.error

/** Whether a guarded socket has emitted `close` (its handle is released). @internal */
export const isReleased = (socket: Net.Socket): boolean => (socket as GuardedSocket)[kState]?.released === true

const formatAddress = (address: string | undefined, port: number | undefined): string => {
  if (address === undefined) return ""
  const host = address.includes(":") ? `[${address}]` : address
  return port === undefined ? host : `${host}:${port}`
}

/**
 * SHA-256 (hex) of the peer's end-entity certificate, if it sent one.
 *
 * `getPeerCertificate` is used, not `getPeerX509Certificate`: on Node 24,
 * after one call of the latter, both return nothing.
 *
 * @internal
 */
export const peerFingerprint = (socket: Tls.TLSSocket): string | undefined => {
  const raw: unknown = socket.getPeerCertificate(false).raw
  return raw instanceof Uint8Array && raw.length > 0
    ? Crypto.createHash("sha256").update(raw).digest("hex")
    : undefined
}

/** The TLS facts of a connected TLS socket. @internal */
export const tlsInfo = (
  socket: Tls.TLSSocket,
  knownPeerFingerprint?: string | undefined
): Connection.TlsInfo => {
  const cipher = socket.getCipher()
  const alpn = socket.alpnProtocol
  const servername = (socket as Tls.TLSSocket & { readonly servername?: string | false | null }).servername
  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: cipher?.name,
    resumed: socket.isSessionReused(),
    authorized: socket.authorized,
    authorizationError: socket.authorizationError === undefined || socket.authorizationError === null
      ? undefined
      : String(socket.authorizationError),
    alpnProtocol: typeof alpn === "string" ? alpn : undefined,
    peerCertificateSha256: peerFingerprint(socket) ?? knownPeerFingerprint,
    serverName: typeof servername === "string" ? servername : undefined
  }
}

/** Describes a connected socket. @internal */
export const describe = (
  socket: Net.Socket,
  transport: Connection.Transport,
  unixPath?: { readonly side: "client" | "server"; readonly path: string } | undefined,
  knownPeerFingerprint?: string | undefined
): Connection.Info => {
  if (unixPath !== undefined) {
    return unixPath.side === "client"
      ? { transport, remoteAddress: unixPath.path, localAddress: "" }
      : { transport, remoteAddress: "", localAddress: unixPath.path }
  }
  const info = {
    transport,
    remoteAddress: formatAddress(socket.remoteAddress, socket.remotePort),
    localAddress: formatAddress(socket.localAddress, socket.localPort)
  }
  return socket instanceof Tls.TLSSocket ? { ...info, tls: tlsInfo(socket, knownPeerFingerprint) } : info
}

/**
 * Ends the socket and waits for it to close. `graceful`: FIN after the queued
 * bytes, drop whatever the peer still sends, and wait for the peer's FIN.
 * Otherwise: FIN after the queued bytes, then destroy as soon as they are
 * flushed. Interrupting it destroys the socket.
 */
const shutdown = (socket: Net.Socket, graceful: boolean): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (isReleased(socket)) return resume(Effect.void)
    const discard = () => {
      while (socket.read() !== null) {
        // drop it: the connection is closing
      }
    }
    const onFinish = () => socket.destroy()
    const cleanup = () => {
      socket.off("close", onClose)
      socket.off("finish", onFinish)
      socket.off("readable", discard)
    }
    const onClose = () => {
      cleanup()
      resume(Effect.void)
    }
    socket.on("close", onClose)
    if (socket.destroyed) return
    if (graceful) {
      socket.on("readable", discard)
      discard()
      if (!socket.writableEnded) socket.end()
    } else if (socket.writableLength === 0 || socket.writableFinished || socket.writableEnded) {
      socket.destroy()
    } else {
      socket.on("finish", onFinish)
      socket.end()
    }
    return Effect.sync(() => {
      cleanup()
      socket.destroy()
    })
  })

/** Destroys the socket and waits for its `close` event. @internal */
export const destroy = (socket: Net.Socket): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (isReleased(socket)) return resume(Effect.void)
    socket.once("close", () => resume(Effect.void))
    socket.destroy()
  })

const bounded = (effect: Effect.Effect<void>, socket: Net.Socket, timeout: Duration.Input): Effect.Effect<void> =>
  Effect.timeoutOrElse(effect, { duration: timeout, orElse: () => destroy(socket) })

/**
 * {@link shutdown} bounded by `timeout`, where it can wait for something
 * outside this process (a flush, the peer's FIN). A socket already gone, or
 * one that can be destroyed at once, needs no timer: its handle closes by
 * itself, promptly.
 */
const closeSocket = (socket: Net.Socket, graceful: boolean, timeout: Duration.Input): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (isReleased(socket)) return Effect.void
    if (
      socket.destroyed ||
      (!graceful && (socket.writableLength === 0 || socket.writableFinished || socket.writableEnded))
    ) return destroy(socket)
    return bounded(shutdown(socket, graceful), socket, timeout)
  })

/** @internal */
export interface NodeOptions extends Connection.Options {
  readonly info: Connection.Info
}

type Batch = Arr.NonEmptyReadonlyArray<Packet.Packet>
type ResumeReceive = (effect: Effect.Effect<Batch, ProtocolError.ProtocolError>) => void
type ResumeDrain = (effect: Effect.Effect<void, ProtocolError.ProtocolError>) => void

const kConnection: unique symbol = Symbol.for("network-protocol/transport/NodeConnection")

interface TaggedSocket extends Net.Socket {
  [kConnection]?: NodeConnection | undefined
}

// Socket listeners shared by every connection: Node calls them with the
// socket as `this`, so a connection costs no closure per listener.
function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  this[kConnection]?.onData(chunk)
}
function onSocketEnd(this: TaggedSocket): void {
  this[kConnection]?.onEnd()
}
function onSocketError(this: TaggedSocket, error: Error): void {
  this[kConnection]?.onError(error)
}
function onSocketClose(this: TaggedSocket): void {
  this[kConnection]?.onClose()
}
function onSocketDrain(this: TaggedSocket): void {
  this[kConnection]?.onDrain()
}

/**
 * A framed connection over a connected Node socket, owned by the scope it was
 * made in (see {@link fromNodeSocket}). One object per connection, with no
 * closure per socket listener: an idle connection costs little more than its
 * socket.
 *
 * **Reading**, in one of two modes:
 *
 * - *pull* (`receive`): the socket's `data` events feed the frame decoder
 *   directly and a waiting `receive` is resumed from the event itself. The
 *   socket flows only while someone is waiting: a `data` event that finds
 *   nobody waiting pauses it, and the decoded packets wait for the next
 *   `receive`, which resumes the socket. So at most one read chunk is held
 *   beyond what was asked for, and a slow reader closes the peer's TCP window.
 * - *push* (`attach`, see `Connection.Push`): every decoded batch is handed to
 *   the sink from the `data` event; the sink pauses and resumes reading.
 *
 * **Writing.** One write per `send`, waiting for `drain` when Node's buffer
 * is over its high-water mark. A batch is copied into one buffer (as
 * `PacketCodec.encodeAll` does), except payloads of {@link ZERO_COPY_MIN} bytes
 * or more, which are written without a copy after their header, the whole
 * batch going out in one corked `writev`: such a payload must not be modified
 * until the connection has flushed it (as with `socket.write`; the secure
 * session hands over payloads it never touches again).
 *
 * @internal
 */
export class NodeConnection implements Connection.Connection, Connection.Push {
  readonly [TypeId] = TypeId
  readonly info: Connection.Info
  private readonly socket: TaggedSocket
  private readonly decoder: PacketCodec.PacketDecoder
  private readonly maxPayloadSize: number
  private readonly closeTimeout: Duration.Input
  private closing = false
  private detached = false
  private failure: ProtocolError.ProtocolError | undefined = undefined
  /** Decoded packets not handed out yet (pull mode). */
  private ready: Array<Packet.Packet> = []
  private waiter: ResumeReceive | undefined = undefined
  private sink: Connection.Sink | undefined = undefined
  private sinkEnded = false
  private pushPaused = false
  /** Senders waiting for `drain` (pull mode). */
  private drainWaiters: Array<ResumeDrain> | undefined = undefined
  private receiveEffect: Effect.Effect<Batch, ProtocolError.ProtocolError> | undefined = undefined
  private cancelWaitEffect: Effect.Effect<void> | undefined = undefined

  constructor(socket: Net.Socket, options: NodeOptions) {
    this.socket = socket
    this.info = options.info
    this.closeTimeout = options.closeTimeout ?? defaultCloseTimeout
    this.maxPayloadSize = options.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
    this.decoder = PacketCodec.makeDecoder({ maxPayloadSize: this.maxPayloadSize })
    if (socket.destroyed) {
      // closed (reset) before anyone read from it
      const error = lastError(socket)
      this.failure = error === undefined ? Errors.connectionClosed : Errors.fromNode("read failed", error)
    }
    this.socket[kConnection] = this
    socket.on("data", onSocketData)
    socket.on("end", onSocketEnd)
    socket.on("error", onSocketError)
    socket.on("close", onSocketClose)
    socket.on("drain", onSocketDrain)
  }

  // ---------------------------------------------------------------------------
  // socket events
  // ---------------------------------------------------------------------------

  /** How the stream ended, once it did: bytes of a partial frame make it an `Io` reason. */
  private endFailure(): ProtocolError.ProtocolError {
    return !this.closing && this.decoder.buffered > 0 ? Errors.truncated(this.decoder.buffered) : Errors.connectionClosed
  }

  onData(chunk: Buffer): void {
    if (this.closing || this.failure !== undefined) return
    const error = this.decoder.feed(chunk, this.ready)
    if (error !== undefined) {
      // a peer that does not speak the protocol: drop it now, read no more
      this.failure = error
      this.socket.destroy()
    }
    if (this.sink !== undefined) return this.deliver()
    this.notify()
    // nobody is waiting (the consumer is busy): stop reading until it asks again
    if (this.waiter === undefined && this.failure === undefined && this.ready.length > 0) this.socket.pause()
  }
  onEnd(): void {
    this.failure ??= this.endFailure()
    this.settle()
  }
  onError(error: Error): void {
    this.failure ??= this.closing ? Errors.connectionClosed : Errors.fromNode("read failed", error)
    this.settle()
  }
  onClose(): void {
    this.failure ??= this.endFailure()
    this.settle()
    if (this.drainWaiters !== undefined) this.settleDrain(Effect.fail(this.writeFailure()))
  }
  onDrain(): void {
    if (this.drainWaiters !== undefined) this.settleDrain(Effect.void)
    this.sink?.onDrain()
  }

  private settle(): void {
    if (this.sink !== undefined) this.deliver()
    else this.notify()
  }

  // ---------------------------------------------------------------------------
  // pull mode
  // ---------------------------------------------------------------------------

  /** Hands what is there (packets first, then the failure) to a waiting `receive`. */
  private notify(): void {
    const resume = this.waiter
    if (resume === undefined) return
    if (this.ready.length > 0) {
      const packets = this.ready
      this.ready = []
      this.waiter = undefined
      resume(Effect.succeed(packets as unknown as Batch))
    } else if (this.failure !== undefined) {
      this.waiter = undefined
      resume(Effect.fail(this.failure))
    }
  }

  // One primitive per call: answered at once when something is there,
  // otherwise resumed by `notify` from a socket event.
  private register(resume: ResumeReceive): Effect.Effect<void> | undefined {
    if (this.closing) {
      resume(Effect.fail(this.failure ?? Errors.connectionClosed))
      return undefined
    }
    if (this.ready.length > 0) {
      const packets = this.ready
      this.ready = []
      resume(Effect.succeed(packets as unknown as Batch))
      return undefined
    }
    if (this.failure !== undefined) {
      resume(Effect.fail(this.failure))
      return undefined
    }
    this.waiter = resume
    if (this.socket.isPaused() && !this.detached) this.socket.resume()
    // single consumer: the waiter being cancelled is the current one
    return this.cancelWaitEffect ??= Effect.sync(() => {
      this.waiter = undefined
    })
  }

  get receive(): Effect.Effect<Batch, ProtocolError.ProtocolError> {
    return this.receiveEffect ??= Effect.callback<Batch, ProtocolError.ProtocolError>((resume) => this.register(resume))
  }

  // ---------------------------------------------------------------------------
  // push mode
  // ---------------------------------------------------------------------------

  /** Hands decoded packets, then the end, to the sink. */
  private deliver(): void {
    const sink = this.sink
    if (sink === undefined || this.sinkEnded) return
    if (this.ready.length > 0) {
      const packets = this.ready
      this.ready = []
      sink.onPackets(packets as unknown as Batch)
    }
    if (this.failure !== undefined && !this.sinkEnded && this.sink === sink) {
      this.sinkEnded = true
      sink.onEnd(this.failure)
    }
  }

  attach(sink: Connection.Sink): void {
    if (this.sink !== undefined || this.waiter !== undefined) throw new Error("the connection already has a reader")
    this.sink = sink
    // nobody pulls any more
    this.receiveEffect = undefined
    this.cancelWaitEffect = undefined
    this.deliver()
    if (!this.pushPaused && !this.detached && !this.sinkEnded && this.socket.isPaused()) this.socket.resume()
  }
  pause(): void {
    this.pushPaused = true
    if (!this.detached) this.socket.pause()
  }
  resume(): void {
    this.pushPaused = false
    if (!this.detached && this.failure === undefined) this.socket.resume()
  }

  // ---------------------------------------------------------------------------
  // writing
  // ---------------------------------------------------------------------------

  private writeFailure(cause?: unknown): ProtocolError.ProtocolError {
    if (this.closing) return Errors.connectionClosed
    const error = cause ?? lastError(this.socket)
    return error === undefined ? Errors.connectionClosed : Errors.fromNode("write failed", error)
  }

  private settleDrain(effect: Effect.Effect<void, ProtocolError.ProtocolError>): void {
    const waiting = this.drainWaiters
    if (waiting === undefined) return
    this.drainWaiters = undefined
    for (let i = 0; i < waiting.length; i++) waiting[i](effect)
  }

  /**
   * Writes a batch holding payloads of {@link ZERO_COPY_MIN} bytes or more:
   * small packets are still copied together, each big payload is written as
   * it is after its own header, all in one corked `writev`.
   */
  private writeLarge(packets: Batch): void {
    const socket = this.socket
    socket.cork()
    try {
      let run = 0
      for (let i = 0; i < packets.length; i++) {
        const payload = packets[i].payload
        if (payload.length < ZERO_COPY_MIN) continue
        if (run < i) socket.write(frameAll(packets, run, i))
        run = i + 1
        const header = Buffer.allocUnsafe(Packet.HEADER_SIZE)
        Packet.writeHeader(header, 0, payload.length)
        socket.write(header)
        socket.write(payload)
      }
      if (run < packets.length) socket.write(frameAll(packets, run, packets.length))
    } finally {
      socket.uncork()
    }
  }

  write(packets: Batch): ProtocolError.ProtocolError | boolean {
    const socket = this.socket
    if (this.closing || socket.destroyed || socket.writableEnded) return this.writeFailure()
    let large = false
    for (let i = 0; i < packets.length; i++) {
      const size = packets[i].payload.length
      if (size > this.maxPayloadSize) return ProtocolError.make(new ProtocolError.OversizedPacket({ size }))
      if (size >= ZERO_COPY_MIN) large = true
    }
    try {
      if (large) this.writeLarge(packets)
      else socket.write(frameAll(packets, 0, packets.length))
    } catch (cause) {
      return this.writeFailure(cause)
    }
    return !socket.writableNeedDrain
  }

  private awaitDrain(resume: ResumeDrain): Effect.Effect<void> | undefined {
    if (this.socket.destroyed || !this.socket.writableNeedDrain) {
      resume(this.socket.destroyed ? Effect.fail(this.writeFailure()) : Effect.void)
      return undefined
    }
    const waiting = this.drainWaiters ??= []
    waiting.push(resume)
    return Effect.sync(() => {
      const index = waiting.indexOf(resume)
      if (index >= 0) waiting.splice(index, 1)
    })
  }

  send(packets: Batch): Effect.Effect<void, ProtocolError.ProtocolError> {
    return Effect.suspend(() => {
      const written = this.write(packets)
      if (written === true) return Effect.void
      if (written === false) {
        return Effect.callback<void, ProtocolError.ProtocolError>((resume) => this.awaitDrain(resume))
      }
      return Effect.fail(written)
    })
  }

  // ---------------------------------------------------------------------------
  // closing
  // ---------------------------------------------------------------------------

  get close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closing) return Effect.void
      this.closing = true
      this.failure ??= Errors.connectionClosed
      this.ready = []
      this.settle()
      return closeSocket(this.socket, true, this.closeTimeout)
    })
  }

  /** The scope's finalizer: a `receive` still waiting fails, then the socket is released. */
  get release(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.detached = true
      this.failure ??= Errors.connectionClosed
      this.ready = []
      this.settle()
      const socket = this.socket
      socket.off("data", onSocketData)
      socket.off("end", onSocketEnd)
      socket.off("error", onSocketError)
      socket.off("close", onSocketClose)
      socket.off("drain", onSocketDrain)
      this.settleDrain(Effect.fail(this.writeFailure()))
      socket[kConnection] = undefined
      return closeSocket(socket, false, this.closeTimeout)
    })
  }
}

/**
 * A framed connection over a connected Node socket, owned by the current
 * scope: closing the scope flushes what `send` queued and destroys the socket,
 * waiting for it to be gone. See {@link NodeConnection}.
 *
 * @internal
 */
export const fromNodeSocket = (
  socket: Net.Socket,
  options: NodeOptions
): Effect.Effect<Connection.Connection, never, Scope.Scope> =>
  Effect.suspend(() => {
    guard(socket)
    const connection = new NodeConnection(socket, options)
    return Effect.as(Effect.addFinalizer(() => connection.release), connection)
  })

/**
 * The push side of a connection, when it has one (see `Connection.Push`).
 *
 * @internal
 */
export const push = (connection: Connection.Connection): Connection.Push | undefined =>
  connection instanceof NodeConnection ? connection : undefined

const textEncoder = new TextEncoder()

const socketErrorCause = (error: Socket.SocketError): unknown => {
  const reason = error.reason
  return "cause" in reason && reason.cause !== undefined ? reason.cause : error
}

/**
 * A framed connection over any Effect `Socket` (WebSocket, in-memory duplex,
 * a `NodeSocket.makeNet` socket, …). Acquiring it opens the socket.
 *
 * @internal
 */
export const fromEffectSocket = Effect.fnUntraced(function*(
  socket: Socket.Socket,
  options: Connection.Options & { readonly info?: Connection.Info | undefined }
) {
  const decoder = PacketCodec.makeDecoder({ maxPayloadSize: options.maxPayloadSize })
  const maxPayloadSize = options.maxPayloadSize
  let closing = false
  let failure: ProtocolError.ProtocolError | undefined

  const reader = yield* Effect.mapError(socket.reader, (error) => {
    const reason = error.reason
    return reason._tag === "SocketOpenError" && reason.kind === "Timeout"
      ? Errors.timeout("socket open timed out")
      : Errors.fromNode("cannot open the socket", socketErrorCause(error))
  })
  const writer = yield* socket.writer

  const readFailure = (error: Socket.SocketError): ProtocolError.ProtocolError => {
    if (closing) return Errors.connectionClosed
    const reason = error.reason
    if (reason._tag === "SocketCloseError") {
      if (decoder.buffered > 0) return Errors.truncated(decoder.buffered)
      return reason.code === 1000 ? Errors.connectionClosed : Errors.io("connection closed abnormally", reason)
    }
    return Errors.fromNode("read failed", socketErrorCause(error))
  }
  const onChunks = (
    chunks: Arr.NonEmptyReadonlyArray<Uint8Array | string>
  ): Effect.Effect<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError> => {
    const out: Array<Packet.Packet> = []
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]
      const error = decoder.feed(typeof chunk === "string" ? textEncoder.encode(chunk) : chunk, out)
      if (error !== undefined) {
        failure = error
        closing = true
        return Effect.andThen(
          Effect.ignore(writer.write(new Socket.CloseEvent(1002, "protocol error"))),
          out.length > 0
            ? Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
            : Effect.fail(error)
        )
      }
    }
    if (out.length > 0) return Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
    return pullPackets
  }
  const pullPackets: Effect.Effect<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError> = Effect
    .matchEffect(reader.pull, {
      onFailure: (error) => Effect.fail(failure ??= readFailure(error)),
      onSuccess: onChunks
    })
  const receive = Effect.suspend(() => failure !== undefined ? Effect.fail(failure) : pullPackets)

  const send = (
    packets: Arr.NonEmptyReadonlyArray<Packet.Packet>
  ): Effect.Effect<void, ProtocolError.ProtocolError> =>
    Effect.suspend(() => {
      if (closing) return Effect.fail(Errors.connectionClosed)
      const bytes = PacketCodec.encodeAll(packets, maxPayloadSize)
      if (!(bytes instanceof Uint8Array)) return Effect.fail(bytes)
      return Effect.mapError(writer.write(bytes), (error) => Errors.fromNode("write failed", socketErrorCause(error)))
    })

  const close = Effect.suspend(() => {
    if (closing) return Effect.void
    closing = true
    failure ??= Errors.connectionClosed
    return Effect.ignore(writer.write(new Socket.CloseEvent(1000)))
  })

  return {
    [TypeId]: TypeId,
    receive,
    send,
    info: options.info ?? { transport: "socket", remoteAddress: "", localAddress: "" },
    close
  } satisfies Connection.Connection as Connection.Connection
})
