/**
 * A framed packet connection: the wire format of SPEC §1 over a byte stream.
 *
 * A `Connection` is a scoped resource. `receive` pulls the next batch of
 * decoded packets, `send` writes a batch of packets as one coalesced write,
 * `close` ends it gracefully, and closing the scope that acquired it releases
 * the socket whatever happened.
 *
 * - **Backpressure, end to end.** The socket is read only while `receive` is
 *   pulling: a slow consumer stops reading, Node's buffer fills, the kernel
 *   window closes and the peer's writes wait. `send` waits for `drain` when
 *   Node's write buffer is over its high-water mark.
 * - **Early rejection.** Magic, version and declared length are checked as
 *   soon as the header bytes arrive (`PacketCodec.PacketDecoder`): a peer that
 *   sends garbage, a wrong version or a 4 GiB length is disconnected at once,
 *   before any body byte is buffered, and `receive` fails with the framing
 *   reason (`InvalidHeader`, `UnsupportedVersion`, `OversizedPacket`).
 * - **Clean versus broken.** The peer closing between frames is a
 *   `ConnectionClosed` reason; the stream ending inside a frame, a reset or
 *   any other socket error is an `Io` reason whose `cause` is the Node error
 *   (see `ErrorCode`); TLS failures are `TlsError`.
 *
 * Connections are made by `Tcp.connect`, `Unix.connect`, `Tls.connect` and by
 * the servers of those modules; `fromSocket` frames any Effect `Socket`.
 *
 * @since 0.1.0
 */
import type * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Arr from "effect/Array"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as Net from "node:net"
import * as internal from "./internal/connection.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * A framed packet connection.
 *
 * **Details**
 *
 * - `receive` yields the next non-empty batch of packets: every whole frame
 *   that arrived with the bytes it read. Payloads may be views into the read
 *   buffer; they stay valid (the buffer is never reused) but share memory with
 *   their neighbours, so `slice()` one you keep for long if memory matters.
 *   Once it fails it keeps failing with the same error.
 * - `send` encodes the packets into one buffer and writes it (one syscall
 *   when the socket is writable). It fails with `OversizedPacket`, without
 *   writing anything, if a payload is over `maxPayloadSize`, and with
 *   `ConnectionClosed` after `close`.
 * - `close` flushes what was sent, sends FIN (TLS: close_notify), discards
 *   what the peer still sends, and waits up to `closeTimeout` for the peer to
 *   close its side before destroying the socket. Calling it twice is a no-op.
 *
 * **Gotchas**
 *
 * `receive` has a single consumer: do not call it from two fibers at once.
 * `send` may be called concurrently; each call's bytes stay contiguous.
 *
 * @category models
 * @since 0.1.0
 */
export interface Connection {
  readonly [TypeId]: typeof TypeId
  readonly receive: Effect.Effect<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError>
  readonly send: (packets: Arr.NonEmptyReadonlyArray<Packet.Packet>) => Effect.Effect<void, ProtocolError.ProtocolError>
  readonly info: Info
  readonly close: Effect.Effect<void>
}

/**
 * Receives what a connection reads, in push mode (see {@link Push}).
 *
 * @category low level
 * @since 0.1.0
 */
export interface Sink {
  /** A non-empty batch of decoded packets; the array now belongs to the sink. */
  onPackets(packets: Arr.NonEmptyReadonlyArray<Packet.Packet>): void
  /** The end of the input, once: `ConnectionClosed` for a clean end, else the failure. */
  onEnd(error: ProtocolError.ProtocolError): void
  /** The socket can take more after a `write` that returned `false`. */
  onDrain(): void
}

/**
 * The push side of a connection over a Node socket: packets are handed to a
 * {@link Sink} from the socket's events, with no fiber waiting on `receive`.
 * The daemon serves sessions this way, so an idle connection holds no fiber.
 *
 * **Details**
 *
 * - `attach` starts reading into the sink; packets decoded earlier are
 *   delivered at once. A connection has one reader: after `attach`, do not
 *   call `receive`.
 * - `pause` / `resume` stop and restart reading (backpressure: a paused
 *   socket closes the peer's TCP window).
 * - `write` writes a batch at once, as `send` does, and returns `true` when
 *   the socket took it, `false` when it must drain first (the sink's
 *   `onDrain` follows), or the error, without writing anything.
 *
 * @category low level
 * @since 0.1.0
 */
export interface Push {
  attach(sink: Sink): void
  pause(): void
  resume(): void
  write(packets: Arr.NonEmptyReadonlyArray<Packet.Packet>): ProtocolError.ProtocolError | boolean
}

/**
 * The push side of a connection made by this package over a Node socket
 * (TCP, Unix socket, TLS), `undefined` for other connections.
 *
 * @category low level
 * @since 0.1.0
 */
export const push: (connection: Connection) => Push | undefined = internal.push

/**
 * The kind of byte stream under a connection. `"socket"` is any Effect
 * `Socket` framed with `fromSocket`.
 *
 * @category models
 * @since 0.1.0
 */
export type Transport = "tcp" | "unix" | "tls" | "socket"

/**
 * What is known about a connection's endpoints.
 *
 * **Details**
 *
 * TCP and TLS addresses are `host:port` (`[v6]:port` for IPv6). A Unix socket
 * connection shows the socket path as the server's address on both sides
 * (`remoteAddress` on the client, `localAddress` on the server) and an empty
 * string for the unnamed client end.
 *
 * @category models
 * @since 0.1.0
 */
export interface Info {
  readonly transport: Transport
  readonly remoteAddress: string
  readonly localAddress: string
  readonly tls?: TlsInfo | undefined
}

/**
 * The TLS session of a connection, as negotiated.
 *
 * @category models
 * @since 0.1.0
 */
export interface TlsInfo {
  /** `"TLSv1.3"` or `"TLSv1.2"`. */
  readonly protocol: string | undefined
  /** The OpenSSL name of the cipher suite, e.g. `"TLS_AES_256_GCM_SHA384"`. */
  readonly cipher: string | undefined
  /** Whether the session was resumed from an earlier one (no full handshake). */
  readonly resumed: boolean
  /** Whether the peer's certificate chain verified against the trusted CAs. */
  readonly authorized: boolean
  /** Why it did not verify, when `authorized` is `false`. */
  readonly authorizationError: string | undefined
  /** The ALPN protocol agreed on, if any. */
  readonly alpnProtocol: string | undefined
  /** SHA-256 of the peer's end-entity certificate (DER), lowercase hex, if it sent one. */
  readonly peerCertificateSha256: string | undefined
  /** The SNI server name (client side: the one sent). */
  readonly serverName: string | undefined
}

/**
 * Options of a framed connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The largest payload accepted and sent, inclusive. Default 16 MiB (the crate's limit). */
  readonly maxPayloadSize?: number | undefined
  /**
   * How long `close`, or the release of the scope, waits for queued bytes to
   * be flushed and the peer to close before destroying the socket. Default
   * 5 seconds.
   */
  readonly closeTimeout?: Duration.Input | undefined
}

/**
 * Tells whether a value is a `Connection`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isConnection = (u: unknown): u is Connection => Predicate.hasProperty(u, TypeId)

/**
 * Frames a connected Node socket (`net.Socket` or `tls.TLSSocket`). The
 * socket now belongs to the current scope: when the scope closes, bytes
 * already queued by `send` are flushed (up to `closeTimeout`), then the
 * socket is destroyed and the scope waits for it to be gone.
 *
 * **Details**
 *
 * The socket is paused and read on demand (`receive`), or pushed to a sink
 * (`push`). The socket must not be read by anyone else.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromNodeSocket = (
  socket: Net.Socket,
  options: Options & { readonly info: Info }
): Effect.Effect<Connection, never, Scope.Scope> => internal.fromNodeSocket(socket, options)

/**
 * Frames any Effect `Socket` (for example `NodeSocket.makeNet`, a WebSocket,
 * or an in-memory duplex). Acquiring the connection opens the socket; closing
 * the scope closes it.
 *
 * **Details**
 *
 * `close` writes a `CloseEvent(1000)`; a framing error writes a
 * `CloseEvent(1002)`. A socket closed with code 1000 between frames is
 * `ConnectionClosed`; any other close code is an `Io` reason.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSocket = (
  socket: Socket.Socket,
  options: Options & { readonly info?: Info | undefined } = {}
): Effect.Effect<Connection, ProtocolError.ProtocolError, Scope.Scope> => internal.fromEffectSocket(socket, options)
