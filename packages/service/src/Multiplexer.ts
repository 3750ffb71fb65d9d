/**
 * Request multiplexing: many concurrent requests over one connection, each
 * tagged with an id, answered in any order. The crate's `Multiplexer`
 * (`src/service/multiplex.rs`, SPEC §8) with its `MultiplexConfig`, defaults
 * and validation messages, plus the server side it lacks and an encrypted
 * form.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Multiplexer from "@network-protocol/service/Multiplexer"
 *
 * // server: answer each payload, in whatever order they finish
 * const server = yield* Multiplexer.listen(
 *   { tcp: { host: "127.0.0.1", port: 0 } },
 *   (payload) => Effect.succeed(payload)
 * )
 * // client: thousands of requests in flight on one socket
 * const mux = yield* Multiplexer.connect({ tcp: { host: "127.0.0.1", port: server.port ?? 0 } })
 * const replies = yield* Effect.forEach(payloads, mux.request, { concurrency: "unbounded" })
 * ```
 *
 * **The raw frame** (the crate's, both directions, byte-compatible):
 *
 * ```text
 * offset  size  field
 *      0     8  request id, u64 big-endian (the client's first id is 1)
 *      8     4  payload length N, u32 big-endian
 *     12     N  payload
 * ```
 *
 * `00000000 00000001 00000005 68656c6c6f` is request 1 carrying `hello`. The
 * response echoes the request's id. There is no packet header, no flags and
 * no error frame. Over a byte stream (TCP, Unix socket, any Effect `Socket`)
 * frames are delimited by their length alone: {@link FrameDecoder} reads them
 * incrementally and rejects a declared length above `maxPayloadSize`
 * (default 16 MiB) from the 12 header bytes, before allocating anything (the
 * crate allocates whatever is declared, up to 4 GiB).
 *
 * **The encrypted form.** The same frame as the payload of a `Custom`
 * message whose command is `"MUX"` ({@link COMMAND}), inside the secure
 * session (X25519 handshake, XChaCha20-Poly1305) or the crate's TLS profile:
 *
 * ```text
 * Custom { command: "MUX", payload: id (u64 BE) ‖ length (u32 BE) ‖ payload }
 * ```
 *
 * Each request and each response is one sealed packet. The length field is
 * redundant there and must match the rest of the payload; a message that
 * does not parse is dropped. {@link connectSecure} / {@link fromSession} are
 * the client side. Two server sides:
 *
 * - {@link serveSession} serves one session itself and replies **as soon as
 *   each request finishes** (out of order), from a connection-level writer.
 *   Use it with `Tcp.listen` + `Session.secureServer`.
 * - {@link handler} / {@link register} plug into our `Daemon` through its
 *   `Dispatcher`, alongside the other opcodes. The daemon runs asynchronous
 *   handlers concurrently (up to `backpressure_limit` per connection) but
 *   writes replies **in request order** (that is what keeps the crate's
 *   id-less `request` working), so a slow request holds back the replies to
 *   the requests that came after it on that connection (head-of-line
 *   blocking): every reply still reaches its caller, matched by id, but a
 *   fast request behind a slow one waits for it. Choose `serveSession` when
 *   latencies vary widely.
 *
 * **Client behaviour.**
 *
 * - `max_in_flight` bounds requests awaiting a response; more callers wait
 *   for a slot (they do not fail). `send_buffer_size` bounds frames queued
 *   for the writer, which writes whatever is queued in one batch.
 * - `request_timeout` bounds the wait for the response (including the wait
 *   for space in the send buffer): `Timeout`; its id is then forgotten.
 * - A response with an id that is not awaited (never issued, already
 *   answered — a duplicate —, timed out or abandoned) is dropped and counted
 *   in `unknownResponses`.
 * - When the connection dies, every pending request fails **at once** with a
 *   `ConnectionClosed` reason (its `cause` is the connection's error), and so
 *   does every later request; nothing waits for its timeout.
 * - Ids start at 1 and increase; they are JavaScript safe integers, so after
 *   2^53 − 1 they wrap to 1, skipping any id still in flight.
 * - Every fiber belongs to the scope that made the multiplexer.
 *
 * **Server behaviour.** Each request runs in its own fiber, at most
 * `max_in_flight` at once (then the server stops reading, so a client cannot
 * make it buffer without bound). A handler that fails sends no reply (the
 * wire has no error frame: encode errors in the payload), and the failure is
 * logged. When the peer closes, requests already read are finished and
 * answered for up to `request_timeout`.
 *
 * @since 0.1.0
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Socket from "effect/socket/Socket"
import type * as Crypto from "@network-protocol/core/Crypto"
import type * as Handshake from "@network-protocol/core/Handshake"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Unix from "@network-protocol/transport/Unix"
import type * as Client from "./Client.ts"
import * as Dispatcher from "./Dispatcher.ts"
import * as Session from "./Session.ts"

// -----------------------------------------------------------------------------
// constants
// -----------------------------------------------------------------------------

/**
 * The `Custom` command that carries multiplexed frames in a session.
 *
 * @category constants
 * @since 0.1.0
 */
export const COMMAND = "MUX"

/**
 * Bytes before the payload: 8 (id) + 4 (length).
 *
 * @category constants
 * @since 0.1.0
 */
export const HEADER_SIZE = 12

/**
 * The default largest payload accepted, 16 MiB (the crate's packet limit).
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_PAYLOAD_SIZE = 16 * 1024 * 1024

/**
 * The largest request id the client issues before wrapping to 1.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER

const MAX_U32 = 0xffff_ffff
const MAX_U64 = 0xffff_ffff_ffff_ffffn
const MAX_REQUEST_ID_BIG = BigInt(MAX_REQUEST_ID)

// -----------------------------------------------------------------------------
// configuration
// -----------------------------------------------------------------------------

/**
 * The crate's `MultiplexConfig`, with its field names.
 *
 * @category models
 * @since 0.1.0
 */
export interface MultiplexConfig {
  /** Requests awaiting a response at once; more wait. Default 10,000. */
  readonly max_in_flight: number
  /** How long a request waits for its response. Default 30 s. */
  readonly request_timeout: Duration.Duration
  /** Frames queued for the writer. Default 100. */
  readonly send_buffer_size: number
}

/**
 * A `MultiplexConfig` to fill in: missing fields take the crate's defaults.
 *
 * @category models
 * @since 0.1.0
 */
export interface MultiplexConfigInput {
  readonly max_in_flight?: number | undefined
  readonly request_timeout?: Duration.Input | undefined
  readonly send_buffer_size?: number | undefined
}

/**
 * The crate's `MultiplexConfig::default()`.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultConfig: MultiplexConfig = {
  max_in_flight: 10_000,
  request_timeout: Duration.seconds(30),
  send_buffer_size: 100
}

/**
 * Fills in a configuration with the crate's defaults. Does not validate.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeConfig = (input: MultiplexConfigInput = {}): MultiplexConfig => ({
  max_in_flight: input.max_in_flight ?? defaultConfig.max_in_flight,
  request_timeout: input.request_timeout === undefined
    ? defaultConfig.request_timeout
    : Duration.fromInputUnsafe(input.request_timeout),
  send_buffer_size: input.send_buffer_size ?? defaultConfig.send_buffer_size
})

/**
 * Checks a configuration and returns the crate's messages, verbatim and in
 * its order; empty when valid. Counts that are not non-negative integers are
 * reported too.
 *
 * @category validation
 * @since 0.1.0
 */
export const validate = (config: MultiplexConfig): ReadonlyArray<string> => {
  const errors: Array<string> = []
  for (const field of ["max_in_flight", "send_buffer_size"] as const) {
    const n = config[field]
    if (!Number.isSafeInteger(n) || n < 0) errors.push(`${field} (${n}) must be a non-negative integer`)
  }
  if (config.max_in_flight === 0) errors.push("max_in_flight must be greater than 0")
  if (config.max_in_flight > 1_000_000) {
    errors.push(`max_in_flight (${config.max_in_flight}) exceeds recommended limit (1,000,000)`)
  }
  const millis = Duration.toMillis(config.request_timeout)
  if (!Duration.isPositive(config.request_timeout)) errors.push("request_timeout must be greater than 0")
  if (millis < 100) errors.push(`request_timeout (${Math.max(0, Math.floor(millis))} ms) is too short (minimum: 100ms)`)
  if (Math.floor(millis / 1000) > 300) {
    errors.push(
      `request_timeout (${Math.floor(millis / 1000)} seconds) is unusually long (recommended: < 5 minutes)`
    )
  }
  if (config.send_buffer_size === 0) errors.push("send_buffer_size must be greater than 0")
  if (config.send_buffer_size > 10_000) {
    errors.push(`send_buffer_size (${config.send_buffer_size}) is unusually large (recommended: < 10,000)`)
  }
  return errors
}

/**
 * Succeeds with the configuration when it is valid, otherwise fails with a
 * `ConfigError` whose detail is the crate's: `"Multiplex configuration
 * validation failed:\n  - "` followed by the messages joined with `"\n  - "`.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateStrict = (
  config: MultiplexConfig
): Effect.Effect<MultiplexConfig, ProtocolError.ProtocolError> =>
  Effect.suspend(() => {
    const errors = validate(config)
    return errors.length === 0
      ? Effect.succeed(config)
      : Effect.fail(
        ProtocolError.make(
          new ProtocolError.ConfigError({
            detail: `Multiplex configuration validation failed:\n  - ${errors.join("\n  - ")}`
          })
        )
      )
  })

// -----------------------------------------------------------------------------
// frames
// -----------------------------------------------------------------------------

/**
 * One multiplexed frame: a request or its response.
 *
 * @category models
 * @since 0.1.0
 */
export interface Frame {
  /** The request id, a u64. */
  readonly id: bigint
  readonly payload: Uint8Array
}

const oversized = (size: number) => ProtocolError.make(new ProtocolError.OversizedPacket({ size }))

const writeFrame = (target: Uint8Array, view: DataView, offset: number, frame: Frame): number => {
  view.setBigUint64(offset, frame.id)
  view.setUint32(offset + 8, frame.payload.length)
  target.set(frame.payload, offset + HEADER_SIZE)
  return offset + HEADER_SIZE + frame.payload.length
}

const checkFrame = (frame: Frame): void => {
  if (frame.id < 0n || frame.id > MAX_U64) throw new RangeError(`request id ${frame.id} is not a u64`)
  if (frame.payload.length > MAX_U32) throw new RangeError(`payload of ${frame.payload.length} bytes exceeds u32`)
}

/**
 * Encodes one frame: `id (u64 BE) ‖ length (u32 BE) ‖ payload`.
 *
 * **Gotchas**
 *
 * Throws a `RangeError` for an id outside u64 or a payload over 4 GiB − 1;
 * the multiplexer never builds such frames.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeFrame = (frame: Frame): Uint8Array => encodeFrames([frame])

/**
 * Encodes frames back to back into one buffer (one write on the socket).
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeFrames = (frames: ReadonlyArray<Frame>): Uint8Array => {
  let size = 0
  for (let i = 0; i < frames.length; i++) {
    checkFrame(frames[i])
    size += HEADER_SIZE + frames[i].payload.length
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let offset = 0
  for (let i = 0; i < frames.length; i++) offset = writeFrame(out, view, offset, frames[i])
  return out
}

/**
 * Decodes exactly one whole frame (the payload of a `MUX` message). Fails
 * with a `DeserializeError` if the bytes are shorter than the header or the
 * length field does not match the rest.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeFrame = (bytes: Uint8Array): Result.Result<Frame, ProtocolError.ProtocolError> => {
  if (bytes.length < HEADER_SIZE) {
    return Result.fail(malformed(`multiplexed frame of ${bytes.length} bytes is shorter than its header`))
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE)
  const length = view.getUint32(8)
  if (length !== bytes.length - HEADER_SIZE) {
    return Result.fail(
      malformed(`multiplexed frame declares ${length} payload bytes but carries ${bytes.length - HEADER_SIZE}`)
    )
  }
  return Result.succeed({ id: view.getBigUint64(0), payload: bytes.subarray(HEADER_SIZE) })
}

const malformed = (detail: string) => ProtocolError.make(new ProtocolError.DeserializeError({ detail }))

/**
 * Options of the frame decoder.
 *
 * @category models
 * @since 0.1.0
 */
export interface DecoderOptions {
  /** The largest accepted payload in bytes, inclusive. Default 16 MiB. */
  readonly maxPayloadSize?: number | undefined
}

const EMPTY = new Uint8Array(0)

/**
 * A push-style decoder of raw frames from one byte stream, for any chunking
 * of the bytes. A frame wholly inside a chunk comes out as a view of it (no
 * copy); a frame split across chunks is assembled in a buffer of exactly its
 * size, allocated only after its header passed the size check.
 *
 * @category models
 * @since 0.1.0
 */
export class FrameDecoder {
  /** The largest accepted payload in bytes. */
  readonly maxPayloadSize: number
  private readonly header = new Uint8Array(HEADER_SIZE)
  private readonly headerView = new DataView(this.header.buffer)
  private headerFilled = 0
  private id = 0n
  private body: Uint8Array | undefined = undefined
  private bodyFilled = 0
  private failure: ProtocolError.ProtocolError | undefined = undefined

  constructor(options?: DecoderOptions) {
    this.maxPayloadSize = Math.min(options?.maxPayloadSize ?? MAX_PAYLOAD_SIZE, MAX_U32)
  }

  /** Bytes of an incomplete frame currently held. */
  get buffered(): number {
    return this.body === undefined ? this.headerFilled : HEADER_SIZE + this.bodyFilled
  }

  /**
   * Feeds one chunk and appends every frame it completes to `out`. Returns an
   * `OversizedPacket` error when a header declares more than
   * `maxPayloadSize`; the decoder then keeps returning it.
   */
  feed(chunk: Uint8Array, out: Array<Frame>): ProtocolError.ProtocolError | undefined {
    if (this.failure !== undefined) return this.failure
    const end = chunk.length
    let offset = 0
    while (offset < end) {
      if (this.body !== undefined) {
        const body = this.body
        const take = Math.min(body.length - this.bodyFilled, end - offset)
        body.set(chunk.subarray(offset, offset + take), this.bodyFilled)
        this.bodyFilled += take
        offset += take
        if (this.bodyFilled === body.length) {
          out.push({ id: this.id, payload: body })
          this.body = undefined
        }
        continue
      }
      let id: bigint
      let length: number
      if (this.headerFilled === 0 && end - offset >= HEADER_SIZE) {
        const view = new DataView(chunk.buffer, chunk.byteOffset + offset, HEADER_SIZE)
        id = view.getBigUint64(0)
        length = view.getUint32(8)
        offset += HEADER_SIZE
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFilled, end - offset)
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled)
        this.headerFilled += take
        offset += take
        if (this.headerFilled < HEADER_SIZE) continue
        this.headerFilled = 0
        id = this.headerView.getBigUint64(0)
        length = this.headerView.getUint32(8)
      }
      if (length > this.maxPayloadSize) {
        this.failure = oversized(length)
        return this.failure
      }
      if (length === 0) {
        out.push({ id, payload: EMPTY })
      } else if (end - offset >= length) {
        out.push({ id, payload: chunk.subarray(offset, offset + length) })
        offset += length
      } else {
        this.id = id
        this.body = new Uint8Array(length)
        this.bodyFilled = 0
      }
    }
    return undefined
  }
}

/**
 * Makes a decoder for one byte stream.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDecoder = (options?: DecoderOptions): FrameDecoder => new FrameDecoder(options)

// -----------------------------------------------------------------------------
// transports
// -----------------------------------------------------------------------------

/**
 * What the multiplexer needs from a connection: batches of frames in and
 * out. {@link socketTransport} carries raw frames on a byte stream,
 * {@link sessionTransport} carries them as `MUX` messages in a session.
 *
 * @category models
 * @since 0.1.0
 */
export interface FrameTransport {
  /**
   * The next non-empty batch of frames. Fails with `ConnectionClosed` when
   * the peer closed cleanly, otherwise with the connection's error. Single
   * consumer.
   */
  readonly receive: Effect.Effect<Arr.NonEmptyReadonlyArray<Frame>, ProtocolError.ProtocolError>
  /** Writes frames in order, in one write; waits while the peer does not read. */
  readonly send: (frames: Arr.NonEmptyReadonlyArray<Frame>) => Effect.Effect<void, ProtocolError.ProtocolError>
  /** Closes the connection now. */
  readonly close: Effect.Effect<void>
}

const closedError = (cause?: unknown) =>
  ProtocolError.make(
    cause === undefined ? new ProtocolError.ConnectionClosed() : new ProtocolError.ConnectionClosed({ cause })
  )

const isClosed = (error: ProtocolError.ProtocolError) => error.reason._tag === "ConnectionClosed"

const fromSocketError = (error: Socket.SocketError): ProtocolError.ProtocolError =>
  error.reason._tag === "SocketCloseError" && error.reason.code === 1000
    ? closedError()
    : ProtocolError.make(new ProtocolError.Io({ detail: error.message, cause: error }))

/**
 * Options of {@link socketTransport}.
 *
 * @category models
 * @since 0.1.0
 */
export interface SocketOptions {
  /** The largest payload accepted from the peer (checked from the header). Default 16 MiB. */
  readonly maxPayloadSize?: number | undefined
}

/**
 * Raw frames over an Effect `Socket` (TCP, Unix socket, TLS, WebSocket, an
 * in-memory duplex): the crate's wire format. Acquiring it opens the socket;
 * the socket closes with the scope.
 *
 * **Details**
 *
 * A header declaring more than `maxPayloadSize` fails `receive` with
 * `OversizedPacket` and destroys the socket at once, before any of that
 * payload is buffered. The stream ending inside a frame is an `Io` reason.
 *
 * @category constructors
 * @since 0.1.0
 */
export const socketTransport = Effect.fnUntraced(function*(
  socket: Socket.Socket,
  options: SocketOptions = {}
): Effect.fn.Return<FrameTransport, ProtocolError.ProtocolError, Scope.Scope> {
  const pull = yield* Effect.mapError(Socket.readerBytes(socket), fromSocketError)
  const writer = yield* socket.writer
  const decoder = new FrameDecoder({ maxPayloadSize: options.maxPayloadSize })
  let decoded: Array<Frame> = []
  let failure: ProtocolError.ProtocolError | undefined

  const abort = (code: number) => Effect.ignore(writer.write(new Socket.CloseEvent(code)))

  const onPullError = (error: Socket.SocketError) => {
    const mapped = fromSocketError(error)
    if (isClosed(mapped) && decoder.buffered > 0) {
      return ProtocolError.make(
        new ProtocolError.Io({ detail: `stream ended in the middle of a frame (${decoder.buffered} bytes buffered)` })
      )
    }
    return mapped
  }

  const receive: Effect.Effect<Arr.NonEmptyReadonlyArray<Frame>, ProtocolError.ProtocolError> = Effect.suspend(() => {
    if (decoded.length > 0) {
      const batch = decoded as unknown as Arr.NonEmptyReadonlyArray<Frame>
      decoded = []
      return Effect.succeed(batch)
    }
    if (failure !== undefined) return Effect.fail(failure)
    return pull.pipe(
      Effect.mapError(onPullError),
      Effect.flatMap((chunks) => {
        for (let i = 0; i < chunks.length; i++) {
          const error = decoder.feed(chunks[i], decoded)
          if (error !== undefined) {
            failure = error
            return Effect.andThen(abort(1002), receive)
          }
        }
        return receive
      })
    )
  })

  return {
    receive,
    send: (frames) =>
      Effect.suspend(() => {
        for (let i = 0; i < frames.length; i++) {
          if (frames[i].payload.length > MAX_U32) return Effect.fail(oversized(frames[i].payload.length))
        }
        return Effect.mapError(writer.write(encodeFrames(frames)), fromSocketError)
      }),
    close: abort(1000)
  }
})

/**
 * Options of {@link sessionTransport}.
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionOptions {
  /**
   * Send a `Ping` after this long without sending anything, and consider the
   * connection dead (`ConnectionTimeout`) after 4 × this without receiving
   * anything. Default 15 s (the crate's `heartbeat_interval`).
   */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** Send `Disconnect` before closing (the client side does). Default `false`. */
  readonly disconnectOnClose?: boolean | undefined
}

/**
 * Bytes a `MUX` message adds around a payload once sealed in a packet: the
 * frame header (12), bincode's variant, command and length fields (23), the
 * nonce and tag (40), with room to spare.
 */
const SESSION_OVERHEAD = 256

/**
 * The default largest payload over a session: what still fits, once wrapped
 * and sealed, in the 16 MiB packets of a default connection.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_SESSION_PAYLOAD_SIZE = MAX_PAYLOAD_SIZE - SESSION_OVERHEAD

const toMessage = (frame: Frame): Message.Message => Message.Custom({ command: COMMAND, payload: encodeFrame(frame) })

/**
 * Frames as `Custom { command: "MUX" }` messages over a session (secure or
 * TLS-plain), so multiplexed traffic is encrypted. The session stays alive on
 * its own: a peer's `Ping` is answered with `Pong`, a `Ping` is sent after
 * `heartbeatInterval` without sending, and `receive` fails with
 * `ConnectionTimeout` after 4 × that without receiving. A `Disconnect` from
 * the peer ends the stream (`ConnectionClosed`); other messages and `MUX`
 * payloads that do not parse are dropped.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sessionTransport = Effect.fnUntraced(function*(
  session: Session.Session,
  options: SessionOptions = {}
): Effect.fn.Return<FrameTransport, never, Scope.Scope> {
  const clock = yield* Clock.Clock
  const heartbeatMillis = Duration.toMillis(Duration.fromInputUnsafe(options.heartbeatInterval ?? "15 seconds"))
  const deadMillis = 4 * heartbeatMillis
  const start = clock.currentTimeMillisUnsafe()
  const activity = { lastReceived: start, lastSent: start }
  const dead = Deferred.makeUnsafe<never, ProtocolError.ProtocolError>()

  const sendMessages = (messages: Arr.NonEmptyReadonlyArray<Message.Message>) =>
    Effect.suspend(() => {
      activity.lastSent = clock.currentTimeMillisUnsafe()
      return session.send(messages)
    })

  const PONG: Arr.NonEmptyReadonlyArray<Message.Message> = [Message.Pong()]
  const PING: Arr.NonEmptyReadonlyArray<Message.Message> = [Message.Ping()]

  const receiveOnce: Effect.Effect<Arr.NonEmptyReadonlyArray<Frame>, ProtocolError.ProtocolError> = Effect.flatMap(
    session.receive,
    (messages) => {
      activity.lastReceived = clock.currentTimeMillisUnsafe()
      const frames: Array<Frame> = []
      let pings = 0
      let disconnected = false
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]
        if (message._tag === "Custom" && message.command === COMMAND) {
          const frame = decodeFrame(message.payload)
          if (Result.isSuccess(frame)) frames.push(frame.success)
        } else if (message._tag === "Ping") {
          pings++
        } else if (message._tag === "Disconnect") {
          disconnected = true
          break
        }
      }
      const answer = pings > 0 ? sendMessages(PONG) : Effect.void
      if (disconnected) return Effect.andThen(answer, Effect.fail(closedError()))
      return Effect.andThen(
        answer,
        frames.length > 0 ? Effect.succeed(frames as unknown as Arr.NonEmptyReadonlyArray<Frame>) : receiveOnce
      )
    }
  )

  const watchdog = Effect.gen(function*() {
    while (true) {
      const now = clock.currentTimeMillisUnsafe()
      if (now - activity.lastReceived >= deadMillis) {
        return Deferred.doneUnsafe(dead, Exit.fail(ProtocolError.make(new ProtocolError.ConnectionTimeout())))
      }
      if (now - activity.lastSent >= heartbeatMillis) {
        const sent = yield* Effect.exit(sendMessages(PING))
        if (Exit.isFailure(sent)) return
      }
      const next = Math.min(activity.lastReceived + deadMillis, activity.lastSent + heartbeatMillis)
      yield* Effect.sleep(Duration.millis(Math.max(1, next - clock.currentTimeMillisUnsafe())))
    }
  })
  yield* Effect.forkScoped(watchdog)

  return {
    receive: Effect.raceFirst(receiveOnce, Deferred.await(dead)),
    send: (frames) => {
      const messages = new Array<Message.Message>(frames.length)
      for (let i = 0; i < frames.length; i++) messages[i] = toMessage(frames[i])
      return sendMessages(messages as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
    },
    close: options.disconnectOnClose === true
      ? Effect.andThen(Effect.ignore(session.send([Message.Disconnect()])), session.close)
      : session.close
  }
})

// -----------------------------------------------------------------------------
// client
// -----------------------------------------------------------------------------

/**
 * The client's counters, after the crate's `MultiplexMetrics`.
 *
 * @category models
 * @since 0.1.0
 */
export interface MultiplexMetrics {
  /** Requests written to the connection. */
  readonly requestsSent: number
  /** Responses delivered to their caller. */
  readonly responsesReceived: number
  /** Requests that got no response within `request_timeout`. */
  readonly timeouts: number
  /** Requests failed because the connection died or was closed. */
  readonly errors: number
  /** Requests awaiting their response now. */
  readonly inFlight: number
  /** Callers waiting for an in-flight slot now. */
  readonly waiting: number
  /** Responses dropped: unknown id, duplicate, or the request timed out or was abandoned. */
  readonly unknownResponses: number
}

/**
 * A multiplexed connection, client side.
 *
 * @category models
 * @since 0.1.0
 */
export interface Multiplexer {
  readonly config: MultiplexConfig
  /**
   * Sends a payload and waits for its response. Fails with `OversizedPacket`
   * (payload over `maxPayloadSize`), `Timeout` (no response within
   * `request_timeout`) or `ConnectionClosed` (the connection died or was
   * closed; its `cause` tells why).
   */
  readonly request: (payload: Uint8Array) => Effect.Effect<Uint8Array, ProtocolError.ProtocolError>
  readonly metrics: Effect.Effect<MultiplexMetrics>
  /** Whether requests can still be sent (the connection has not died nor been closed). */
  readonly isOpen: Effect.Effect<boolean>
  /** Fails every pending request with `ConnectionClosed` and closes the connection. Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * A multiplexer as a service.
 *
 * @category services
 * @since 0.1.0
 */
export const Multiplexer: Context.Service<Multiplexer, Multiplexer> = Context.Service<Multiplexer>(
  "network-protocol/Multiplexer"
)

/**
 * Options of the client constructors.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The crate's `MultiplexConfig`; missing fields take its defaults. */
  readonly config?: MultiplexConfigInput | undefined
  /** Largest payload of a request and of a response. Default 16 MiB. */
  readonly maxPayloadSize?: number | undefined
  /** The first request id, 1 to `MAX_REQUEST_ID`. Default 1, as in the crate. */
  readonly firstRequestId?: number | undefined
}

const toKey = (id: bigint): number => id >= 1n && id <= MAX_REQUEST_ID_BIG ? Number(id) : 0

/**
 * The client over any {@link FrameTransport}. Its reader and writer fibers
 * belong to the current scope; closing the scope fails what is pending with
 * `ConnectionClosed` and closes the transport.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  transport: FrameTransport,
  options: Options = {}
): Effect.fn.Return<Multiplexer, ProtocolError.ProtocolError, Scope.Scope> {
  const config = yield* validateStrict(makeConfig(options.config))
  const maxPayloadSize = Math.min(options.maxPayloadSize ?? MAX_PAYLOAD_SIZE, MAX_U32)
  const first = options.firstRequestId ?? 1
  if (!Number.isSafeInteger(first) || first < 1) {
    return yield* Effect.fail(
      ProtocolError.make(new ProtocolError.ConfigError({ detail: `firstRequestId (${first}) must be 1 to 2^53 - 1` }))
    )
  }
  const permits = yield* Semaphore.make(config.max_in_flight)
  const outgoing = yield* Queue.bounded<Frame>(config.send_buffer_size)
  const pending = new Map<number, Deferred.Deferred<Uint8Array, ProtocolError.ProtocolError>>()
  const counters = { sent: 0, received: 0, timeouts: 0, errors: 0, waiting: 0, unknown: 0 }
  let nextId = first
  let failure: ProtocolError.ProtocolError | undefined

  const allocateId = (): number => {
    let id = nextId
    while (pending.has(id)) id = id >= MAX_REQUEST_ID ? 1 : id + 1
    nextId = id >= MAX_REQUEST_ID ? 1 : id + 1
    return id
  }

  const shutdown = (error: ProtocolError.ProtocolError): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.void
      failure = isClosed(error) ? error : closedError(error)
      const dead = Exit.fail(failure)
      const waiting = Array.from(pending.values())
      pending.clear()
      counters.errors += waiting.length
      for (let i = 0; i < waiting.length; i++) Deferred.doneUnsafe(waiting[i], dead)
      return Effect.andThen(Queue.shutdown(outgoing), transport.close)
    })

  const errorOf = (cause: Cause.Cause<ProtocolError.ProtocolError>) => {
    const found = Cause.findErrorOption(cause)
    return found._tag === "Some" ? found.value : closedError(Cause.pretty(cause))
  }

  const reader = Effect.forever(
    Effect.map(transport.receive, (frames) => {
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i]
        const key = toKey(frame.id)
        const deferred = pending.get(key)
        if (deferred === undefined) {
          counters.unknown++
          continue
        }
        pending.delete(key)
        counters.received++
        Deferred.doneUnsafe(deferred, Exit.succeed(frame.payload))
      }
    }),
    { disableYield: true }
  ).pipe(Effect.catchCause((cause) => shutdown(errorOf(cause))))

  const writer = Effect.forever(
    Effect.flatMap(Queue.takeAll(outgoing), (frames) =>
      Effect.map(transport.send(frames), () => {
        counters.sent += frames.length
      })),
    { disableYield: true }
  ).pipe(Effect.catchCause((cause) => shutdown(errorOf(cause))))

  yield* Effect.forkScoped(reader)
  yield* Effect.forkScoped(writer)
  yield* Effect.addFinalizer(() => shutdown(closedError("multiplexer closed")))

  const timeoutError = ProtocolError.make(
    new ProtocolError.Timeout({ detail: `no response within ${Duration.format(config.request_timeout)}` })
  )
  const onTimeout = Effect.suspend(() => {
    counters.timeouts++
    return Effect.fail(timeoutError)
  })

  const exchange = (payload: Uint8Array) =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(failure)
      const id = allocateId()
      const deferred = Deferred.makeUnsafe<Uint8Array, ProtocolError.ProtocolError>()
      pending.set(id, deferred)
      return Queue.offer(outgoing, { id: BigInt(id), payload }).pipe(
        Effect.flatMap((queued) => queued ? Deferred.await(deferred) : Effect.fail(failure ?? closedError())),
        Effect.timeoutOrElse({ duration: config.request_timeout, orElse: () => onTimeout }),
        Effect.ensuring(Effect.sync(() => {
          if (pending.get(id) === deferred) pending.delete(id)
        }))
      )
    })

  const request = (payload: Uint8Array): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(failure)
      if (payload.length > maxPayloadSize) return Effect.fail(oversized(payload.length))
      let admitted = false
      counters.waiting++
      return permits.withPermit(Effect.suspend(() => {
        admitted = true
        counters.waiting--
        return exchange(payload)
      })).pipe(Effect.onExit(() =>
        Effect.sync(() => {
          if (!admitted) counters.waiting--
        })
      ))
    })

  return {
    config,
    request,
    metrics: Effect.sync(() => ({
      requestsSent: counters.sent,
      responsesReceived: counters.received,
      timeouts: counters.timeouts,
      errors: counters.errors,
      inFlight: pending.size,
      waiting: counters.waiting,
      unknownResponses: counters.unknown
    })),
    isOpen: Effect.sync(() => failure === undefined),
    close: shutdown(closedError("multiplexer closed"))
  }
})

/**
 * A client speaking raw frames over an Effect `Socket`; the socket is opened
 * now and closed with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSocket = (
  socket: Socket.Socket,
  options: Options = {}
): Effect.Effect<Multiplexer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.flatMap(socketTransport(socket, { maxPayloadSize: options.maxPayloadSize }), (t) => make(t, options))

/**
 * Where a raw multiplexer connects.
 *
 * @category models
 * @since 0.1.0
 */
export type Address =
  | { readonly tcp: { readonly host: string; readonly port: number } }
  | { readonly unix: { readonly path: string } }

/**
 * Options of {@link connect}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectOptions extends Options {
  /** How long to wait for the connection. Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
}

/**
 * Connects to a raw-frame server over TCP (`TCP_NODELAY` on) or a Unix
 * socket: the crate's wire format, with no encryption. The connection
 * belongs to the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (
  address: Address,
  options: ConnectOptions = {}
): Effect.Effect<Multiplexer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.flatMap(
    NodeSocket.makeNet({
      ...("tcp" in address
        ? { host: address.tcp.host, port: address.tcp.port, noDelay: true }
        : { path: address.unix.path }),
      openTimeout: options.connectTimeout ?? "10 seconds"
    }),
    (socket) => fromSocket(socket, options)
  )

/**
 * Options of the encrypted client constructors. `maxPayloadSize` defaults to
 * {@link MAX_SESSION_PAYLOAD_SIZE} there.
 *
 * @category models
 * @since 0.1.0
 */
export interface SecureOptions extends Options {
  /** See {@link SessionOptions}. Default 15 s. */
  readonly heartbeatInterval?: Duration.Input | undefined
}

/**
 * A client sending `MUX` messages over an established session. Closing it
 * sends `Disconnect` and closes the session.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSession = (
  session: Session.Session,
  options: SecureOptions = {}
): Effect.Effect<Multiplexer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.flatMap(
    sessionTransport(session, { heartbeatInterval: options.heartbeatInterval, disconnectOnClose: true }),
    (t) => make(t, { ...options, maxPayloadSize: options.maxPayloadSize ?? MAX_SESSION_PAYLOAD_SIZE })
  )

/**
 * Options of {@link connectSecure}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectSecureOptions extends SecureOptions {
  /** Where the daemon is (the `Client`'s `Connect`): TCP or a Unix socket (secure profile), or TLS (plain profile). */
  readonly connect: Client.Connect
  /** Bounds connecting and the handshake. Default 5 s (the crate's `connection_timeout`). */
  readonly connectTimeout?: Duration.Input | undefined
  /** Options of the client side of the handshake. */
  readonly handshake?: Handshake.ClientOptions | undefined
}

const openConnection = (
  connect: Client.Connect,
  connectTimeout: Duration.Input
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> => {
  if ("unix" in connect) return Unix.connect({ path: connect.unix.path, connectTimeout })
  if ("tls" in connect) return Tls.connect({ ...connect.tls, connectTimeout })
  return Tcp.connect({ host: connect.tcp.host, port: connect.tcp.port, connectTimeout })
}

/**
 * Connects to a daemon (ours, serving {@link handler}, or one using
 * {@link serveSession}), runs the secure handshake (or the TLS profile), and
 * multiplexes over the session: encrypted, with ids. Needs a `Crypto`
 * provider.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connectSecure = Effect.fnUntraced(function*(
  options: ConnectSecureOptions
): Effect.fn.Return<Multiplexer, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope> {
  const connectTimeout = options.connectTimeout ?? "5 seconds"
  const connection = yield* openConnection(options.connect, connectTimeout)
  const session = "tls" in options.connect
    ? Session.plain(connection)
    : yield* Session.secureClient(connection, options.handshake).pipe(
      Effect.timeoutOrElse({
        duration: connectTimeout,
        orElse: () =>
          Effect.fail(ProtocolError.make(new ProtocolError.Timeout({ detail: "handshake not completed in time" })))
      })
    )
  return yield* fromSession(session, options)
})

/**
 * {@link connectSecure} as a layer providing the {@link Multiplexer} service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSecure = (
  options: ConnectSecureOptions
): Layer.Layer<Multiplexer, ProtocolError.ProtocolError, Crypto.Crypto> =>
  Layer.effect(Multiplexer, connectSecure(options))

/**
 * {@link connect} as a layer providing the {@link Multiplexer} service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  address: Address,
  options: ConnectOptions = {}
): Layer.Layer<Multiplexer, ProtocolError.ProtocolError> => Layer.effect(Multiplexer, connect(address, options))

// -----------------------------------------------------------------------------
// server
// -----------------------------------------------------------------------------

/**
 * What a server does with one request payload: the response payload.
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<E = never, R = never> = (payload: Uint8Array) => Effect.Effect<Uint8Array, E, R>

/**
 * Options of the server side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServeOptions {
  /**
   * `max_in_flight`: requests handled at once per connection (then reading
   * pauses); `send_buffer_size`: responses queued for the writer;
   * `request_timeout`: how long requests already read may still be answered
   * after the peer closed.
   */
  readonly config?: MultiplexConfigInput | undefined
  /** Largest request payload accepted and response payload sent. Default 16 MiB. */
  readonly maxPayloadSize?: number | undefined
}

/**
 * Serves one connection: every request frame runs `handler` in its own
 * fiber and its response is written as soon as it is ready, with the
 * request's id. Succeeds when the peer closes; fails with the connection's
 * error otherwise. Every fiber ends with it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const serve = <E, R>(
  transport: FrameTransport,
  handler: Handler<E, R>,
  options: ServeOptions = {}
): Effect.Effect<void, ProtocolError.ProtocolError, R> =>
  Effect.scoped(Effect.gen(function*(): Effect.fn.Return<void, ProtocolError.ProtocolError, R | Scope.Scope> {
    const config = yield* validateStrict(makeConfig(options.config))
    const maxPayloadSize = options.maxPayloadSize ?? MAX_PAYLOAD_SIZE
    const permits = yield* Semaphore.make(config.max_in_flight)
    const replies = yield* Queue.bounded<Frame, Cause.Done>(config.send_buffer_size)
    const handlers = yield* FiberSet.make<void, never>()

    const writer = yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(Queue.takeAll(replies), transport.send), { disableYield: true }).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) || Cause.isDone(Cause.squash(cause))
            ? Effect.void
            : Effect.andThen(Effect.logDebug("multiplexed writer stopped", cause), transport.close)
        )
      )
    )

    const answer = (frame: Frame) =>
      handler(frame.payload).pipe(
        Effect.matchCauseEffect({
          onSuccess: (reply) =>
            reply.length > maxPayloadSize
              ? Effect.logWarning(`multiplexed response of ${reply.length} bytes exceeds ${maxPayloadSize}; not sent`)
              : Effect.asVoid(Queue.offer(replies, { id: frame.id, payload: reply })),
          onFailure: (cause) =>
            Cause.hasInterruptsOnly(cause)
              ? Effect.void
              : Effect.logWarning(`multiplexed handler failed for request ${frame.id}; no response sent`, cause)
        }),
        Effect.ensuring(permits.release(1))
      )

    const reader = Effect.forever(
      Effect.flatMap(transport.receive, (frames) =>
        Effect.forEach(frames, (frame) =>
          frame.payload.length > maxPayloadSize
            ? Effect.fail(oversized(frame.payload.length))
            : Effect.andThen(permits.take(1), FiberSet.run(handlers, answer(frame))), { discard: true })),
      { disableYield: true }
    )

    const ended = yield* Effect.exit(reader)
    const error = Exit.isFailure(ended) ? Cause.findErrorOption(ended.cause) : undefined
    if (error !== undefined && error._tag === "Some" && isClosed(error.value)) {
      // The peer stopped sending: answer what was already read, then end.
      yield* FiberSet.awaitEmpty(handlers).pipe(Effect.timeout(config.request_timeout), Effect.ignore)
      yield* Queue.end(replies)
      yield* Effect.ignore(Effect.timeout(Fiber.await(writer), config.request_timeout))
      return
    }
    yield* transport.close
    return yield* ended
  }))

/**
 * Serves one raw-frame connection over an Effect `Socket` (the crate's wire
 * format); see {@link serve}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const serveSocket = <E, R>(
  socket: Socket.Socket,
  handler: Handler<E, R>,
  options: ServeOptions = {}
): Effect.Effect<void, ProtocolError.ProtocolError, R> =>
  Effect.scoped(
    Effect.flatMap(socketTransport(socket, { maxPayloadSize: options.maxPayloadSize }), (t) =>
      serve(t, handler, options))
  )

/**
 * Serves one session with `MUX` messages, replying out of order as each
 * request finishes; see {@link serve} and {@link sessionTransport}. Ends on
 * the peer's `Disconnect` or close.
 *
 * ```ts
 * const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
 * yield* Effect.forkScoped(server.run((connection) =>
 *   Effect.scoped(Effect.flatMap(Session.secureServer(connection), (session) =>
 *     Multiplexer.serveSession(session, handle)))
 *     .pipe(Effect.provideService(ReplayCache.ReplayCache, cache))))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const serveSession = <E, R>(
  session: Session.Session,
  handler: Handler<E, R>,
  options: ServeOptions & { readonly heartbeatInterval?: Duration.Input | undefined } = {}
): Effect.Effect<void, ProtocolError.ProtocolError, R> =>
  Effect.scoped(
    Effect.flatMap(sessionTransport(session, { heartbeatInterval: options.heartbeatInterval }), (t) =>
      serve(t, handler, { ...options, maxPayloadSize: options.maxPayloadSize ?? MAX_SESSION_PAYLOAD_SIZE }))
  )

/**
 * Where a raw-frame server listens.
 *
 * @category models
 * @since 0.1.0
 */
export type ListenAddress =
  | { readonly tcp: { readonly host?: string | undefined; readonly port: number } }
  | { readonly unix: { readonly path: string } }

/**
 * A listening raw-frame server.
 *
 * @category models
 * @since 0.1.0
 */
export interface Server {
  /** `host:port`, or the socket path. */
  readonly address: string
  /** The port (useful with port 0), `undefined` for a Unix socket. */
  readonly port: number | undefined
}

/**
 * Listens for raw-frame connections (the crate's wire format, no encryption)
 * and serves each with `handler` (see {@link serve}). The server and every
 * connection belong to the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = Effect.fnUntraced(function*<E, R>(
  address: ListenAddress,
  handler: Handler<E, R>,
  options: ServeOptions = {}
): Effect.fn.Return<Server, ProtocolError.ProtocolError, R | Scope.Scope> {
  const server = yield* NodeSocketServer.make(
    "tcp" in address
      ? { host: address.tcp.host ?? "127.0.0.1", port: address.tcp.port, noDelay: true }
      : { path: address.unix.path }
  ).pipe(
    Effect.mapError((error) => ProtocolError.make(new ProtocolError.Io({ detail: error.message, cause: error })))
  )
  yield* Effect.forkScoped(
    server.run((socket) =>
      serveSocket(socket, handler, options).pipe(
        Effect.catchCause((cause) => Effect.logDebug("multiplexed connection ended with an error", cause))
      )
    )
  )
  const bound = server.address
  switch (bound._tag) {
    case "UnixPathAddress":
      return { address: bound.path, port: undefined }
    case "InetAddressV6":
      return { address: `[${NetAddress.formatIp(bound.address)}]:${bound.port}`, port: bound.port }
    default:
      return { address: `${NetAddress.formatIp(bound.address)}:${bound.port}`, port: bound.port }
  }
})

/**
 * A `Dispatcher` handler for `MUX` messages, for our `Daemon`: decodes the
 * frame, runs `f` on its payload and replies with a `MUX` message carrying
 * the same id.
 *
 * **Gotchas**
 *
 * The daemon writes replies in request order, so on one connection a slow
 * request delays the replies to the requests after it (see the module
 * documentation); use {@link serveSession} for out-of-order replies. A
 * malformed frame or a failure of `f` sends no reply (the daemon logs it).
 *
 * @category constructors
 * @since 0.1.0
 */
export const handler = <E, R>(f: Handler<E, R>): Dispatcher.Handler<E | ProtocolError.ProtocolError, R> =>
(message) => {
  if (message._tag !== "Custom") {
    return Effect.fail(
      ProtocolError.make(new ProtocolError.UnexpectedMessage({ detail: `${message._tag} is not a MUX message` }))
    )
  }
  const frame = decodeFrame(message.payload)
  if (Result.isFailure(frame)) return Effect.fail(frame.failure)
  const id = frame.success.id
  return Effect.map(f(frame.success.payload), (reply) => toMessage({ id, payload: reply }))
}

/**
 * Registers {@link handler} for `"MUX"` in a dispatcher.
 *
 * ```ts
 * const daemon = yield* Daemon.make({
 *   listen: { tcp: { host: "127.0.0.1", port: 9000 } },
 *   dispatcher: Dispatcher.empty.pipe(Multiplexer.register((payload) => Effect.succeed(payload)))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const register = <E2, R2>(f: Handler<E2, R2>) =>
<E, R>(self: Dispatcher.Dispatcher<E, R>): Dispatcher.Dispatcher<E | E2 | ProtocolError.ProtocolError, R | R2> =>
  Dispatcher.register(self, COMMAND, handler(f))
