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

const states = new WeakMap<Net.Socket, SocketState>()

/**
 * Keeps an `error` listener on a socket for its whole life (an unhandled
 * `error` event would crash the process), remembers the first error, and
 * records when the socket's handle is released: Node sets `socket.closed`
 * before the handle is closed, but emits `close` only after.
 *
 * @internal
 */
export const guard = (socket: Net.Socket): void => {
  if (states.has(socket)) return
  const state: SocketState = { error: undefined, released: false }
  states.set(socket, state)
  socket.on("error", (error) => {
    state.error ??= error
  })
  socket.once("close", () => {
    state.released = true
  })
}

/** @internal */
export const lastError = (socket: Net.Socket): Error | undefined => states.get(socket)?.error

/** Whether a guarded socket has emitted `close` (its handle is released). @internal */
export const isReleased = (socket: Net.Socket): boolean => states.get(socket)?.released === true

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

/**
 * A framed connection over a connected Node socket, owned by the current
 * scope: closing the scope flushes what `send` queued and destroys the socket,
 * waiting for it to be gone.
 *
 * **Reading.** The socket's `data` events feed the frame decoder directly and
 * a waiting `receive` is resumed from the event itself, with no `readable` /
 * `read()` round and no extra tick in between. The socket flows only while
 * someone is waiting: a `data` event that finds nobody waiting pauses it, and
 * the decoded packets wait for the next `receive`, which resumes the socket
 * once they are handed out. So at most one read chunk is held beyond what
 * was asked for, and a slow reader closes the peer's TCP window as before.
 *
 * **Writing.** One write per `send`, waiting for `drain` when Node's buffer
 * is over its high-water mark; every sender waiting for `drain` shares one set
 * of socket listeners. A batch is copied into one buffer (as
 * `PacketCodec.encodeAll` does), except payloads of {@link ZERO_COPY_MIN} bytes
 * or more, which are written without a copy after their header, the whole
 * batch going out in one corked `writev`: such a payload must not be modified
 * until the connection has flushed it (as with `socket.write`; the secure
 * session hands over payloads it never touches again).
 *
 * @internal
 */
export const fromNodeSocket = Effect.fnUntraced(function*(socket: Net.Socket, options: NodeOptions) {
  guard(socket)
  const closeTimeout = options.closeTimeout ?? defaultCloseTimeout
  const maxPayloadSize = options.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
  const decoder = PacketCodec.makeDecoder({ maxPayloadSize })
  let closing = false
  let failure: ProtocolError.ProtocolError | undefined
  if (socket.destroyed) {
    // closed (reset) before anyone read from it
    const error = lastError(socket)
    failure = error === undefined ? Errors.connectionClosed : Errors.fromNode("read failed", error)
  }

  // ---------------------------------------------------------------------------
  // reading
  // ---------------------------------------------------------------------------

  type Resume = (effect: Effect.Effect<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError>) => void
  /** Decoded packets not handed out yet. */
  let ready: Array<Packet.Packet> = []
  let waiter: Resume | undefined
  let detached = false

  /** How the stream ended, once it did: bytes of a partial frame make it an `Io` reason. */
  const endFailure = (): ProtocolError.ProtocolError =>
    !closing && decoder.buffered > 0 ? Errors.truncated(decoder.buffered) : Errors.connectionClosed

  /** Hands what is there (packets first, then the failure) to a waiting `receive`. */
  const notify = (): void => {
    const resume = waiter
    if (resume === undefined) return
    if (ready.length > 0) {
      const packets = ready
      ready = []
      waiter = undefined
      resume(Effect.succeed(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>))
    } else if (failure !== undefined) {
      waiter = undefined
      resume(Effect.fail(failure))
    }
  }

  const onData = (chunk: Buffer): void => {
    if (closing || failure !== undefined) return
    const error = decoder.feed(chunk, ready)
    if (error !== undefined) {
      // a peer that does not speak the protocol: drop it now, read no more
      failure = error
      socket.destroy()
    }
    notify()
    // nobody is waiting (the consumer is busy): stop reading until it asks again
    if (waiter === undefined && failure === undefined && ready.length > 0) socket.pause()
  }
  const onEnd = (): void => {
    failure ??= endFailure()
    notify()
  }
  const onError = (error: Error): void => {
    failure ??= closing ? Errors.connectionClosed : Errors.fromNode("read failed", error)
    notify()
  }
  const onClose = (): void => {
    failure ??= endFailure()
    notify()
  }
  socket.on("data", onData)
  socket.on("end", onEnd)
  socket.on("error", onError)
  socket.on("close", onClose)

  const scope = yield* Effect.scope
  yield* Scope.addFinalizer(scope, closeSocket(socket, false, closeTimeout))
  // runs first (finalizers run in reverse order): a `receive` still waiting fails
  yield* Scope.addFinalizer(
    scope,
    Effect.sync(() => {
      detached = true
      failure ??= Errors.connectionClosed
      ready = []
      notify()
      socket.off("data", onData)
      socket.off("end", onEnd)
      socket.off("error", onError)
      socket.off("close", onClose)
    })
  )

  const cancelWait = Effect.sync(() => {
    // single consumer: the waiter being cancelled is the current one
    waiter = undefined
  })
  // One primitive per call: answered at once when something is there,
  // otherwise resumed by `notify` from a socket event.
  const receive = Effect.callback<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError>((resume) => {
    if (closing) return resume(Effect.fail(failure ?? Errors.connectionClosed))
    if (ready.length > 0) {
      const packets = ready
      ready = []
      return resume(Effect.succeed(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>))
    }
    if (failure !== undefined) return resume(Effect.fail(failure))
    waiter = resume
    if (socket.isPaused() && !detached) socket.resume()
    return cancelWait
  })

  // ---------------------------------------------------------------------------
  // writing
  // ---------------------------------------------------------------------------

  const writeFailure = (cause?: unknown): ProtocolError.ProtocolError => {
    if (closing) return Errors.connectionClosed
    const error = cause ?? lastError(socket)
    return error === undefined ? Errors.connectionClosed : Errors.fromNode("write failed", error)
  }
  /** Senders waiting for `drain`, resumed together by one set of listeners. */
  let drainWaiters: Array<(effect: Effect.Effect<void, ProtocolError.ProtocolError>) => void> = []
  const settleDrain = (effect: Effect.Effect<void, ProtocolError.ProtocolError>): void => {
    socket.off("drain", onDrain)
    socket.off("close", onDrainClose)
    socket.off("error", onDrainError)
    const waiting = drainWaiters
    drainWaiters = []
    for (let i = 0; i < waiting.length; i++) waiting[i](effect)
  }
  const onDrain = () => settleDrain(Effect.void)
  const onDrainClose = () => settleDrain(Effect.fail(writeFailure()))
  const onDrainError = (error: Error) => settleDrain(Effect.fail(writeFailure(error)))
  const awaitDrain = Effect.callback<void, ProtocolError.ProtocolError>((resume) => {
    if (socket.destroyed) return resume(Effect.fail(writeFailure()))
    if (!socket.writableNeedDrain) return resume(Effect.void)
    if (drainWaiters.length === 0) {
      socket.on("drain", onDrain)
      socket.on("close", onDrainClose)
      socket.on("error", onDrainError)
    }
    drainWaiters.push(resume)
    return Effect.sync(() => {
      const index = drainWaiters.indexOf(resume)
      if (index < 0) return
      drainWaiters.splice(index, 1)
      if (drainWaiters.length === 0) {
        socket.off("drain", onDrain)
        socket.off("close", onDrainClose)
        socket.off("error", onDrainError)
      }
    })
  })
  /**
   * Writes a batch holding payloads of {@link ZERO_COPY_MIN} bytes or more:
   * small packets are still copied together, each big payload is written as
   * it is after its own header, all in one corked `writev`.
   */
  const writeLarge = (packets: Arr.NonEmptyReadonlyArray<Packet.Packet>): boolean => {
    socket.cork()
    try {
      let run = 0
      const flushRun = (end: number) => {
        if (run < end) socket.write(frameAll(packets, run, end))
      }
      for (let i = 0; i < packets.length; i++) {
        const payload = packets[i].payload
        if (payload.length < ZERO_COPY_MIN) continue
        flushRun(i)
        run = i + 1
        const header = Buffer.allocUnsafe(Packet.HEADER_SIZE)
        Packet.writeHeader(header, 0, payload.length)
        socket.write(header)
        socket.write(payload)
      }
      flushRun(packets.length)
    } finally {
      socket.uncork()
    }
    return !socket.writableNeedDrain
  }
  const send = (
    packets: Arr.NonEmptyReadonlyArray<Packet.Packet>
  ): Effect.Effect<void, ProtocolError.ProtocolError> =>
    Effect.suspend(() => {
      if (closing || socket.destroyed || socket.writableEnded) return Effect.fail(writeFailure())
      let large = false
      for (let i = 0; i < packets.length; i++) {
        const size = packets[i].payload.length
        if (size > maxPayloadSize) return Effect.fail(ProtocolError.make(new ProtocolError.OversizedPacket({ size })))
        if (size >= ZERO_COPY_MIN) large = true
      }
      try {
        const flushed = large ? writeLarge(packets) : socket.write(frameAll(packets, 0, packets.length))
        return flushed ? Effect.void : awaitDrain
      } catch (cause) {
        return Effect.fail(writeFailure(cause))
      }
    })

  const close = Effect.suspend(() => {
    if (closing) return Effect.void
    closing = true
    failure ??= Errors.connectionClosed
    ready = []
    notify()
    return closeSocket(socket, true, closeTimeout)
  })

  return {
    [TypeId]: TypeId,
    receive,
    send,
    info: options.info,
    close
  } satisfies Connection.Connection as Connection.Connection
})

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
