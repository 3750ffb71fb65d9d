/**
 * The secure transport as Effect's `effect/socket` contract: a `Socket` whose
 * bytes travel sealed in the crate's packets after the crate's handshake, and
 * a `SocketServer` whose accepted sockets are secure. Anything written against
 * `Socket`/`SocketServer` runs over it unchanged: `effect/rpc`
 * (`RpcClient.layerProtocolSocket`, `RpcServer.layerProtocolSocketServer`),
 * `effect/cluster` (see `ClusterTransport`), or a hand-written protocol.
 *
 * ```ts
 * import * as SecureSocket from "@network-protocol/service/SecureSocket"
 *
 * const server = yield* SecureSocket.makeServer({ host: "127.0.0.1", port: 0 })
 * const socket = yield* SecureSocket.makeNet({ host: "127.0.0.1", port })
 * // provide Crypto.layerDefault
 * ```
 *
 * **Wire format ("stream" profile).** Every reader acquisition opens a
 * connection and runs the crate's handshake over it, byte for byte (SPEC §3:
 * `SecureHandshakeInit` / `Response` / `Confirm` as bincode messages in
 * `NPRO` frames). After it, every frame (SPEC §1) carries a chunk of the
 * application's bytes:
 *
 * ```
 * payload = nonce (24 random bytes) ‖ XChaCha20-Poly1305(session key, nonce, chunk, aad)
 * aad     = direction (0x43 'C' from the client, 0x53 'S' from the server) ‖ u64 BE frame counter
 * ```
 *
 * It is the crate's sealing (SPEC §4) of raw bytes instead of bincode
 * `Message`s: no bincode envelope, one AEAD call per chunk straight from the
 * caller's buffer into the outgoing frame, and the frame boundaries carry no
 * meaning (the reader hands out chunks; byte-stream parsers such as
 * `RpcSerialization` do not care). The AAD is not transmitted: each side
 * counts the frames it sends and receives, so a frame that is replayed,
 * reordered, dropped, or reflected back to its sender fails to authenticate —
 * the in-session protection the crate lacks (SPEC §15.1 #4). A frame that
 * fails to authenticate, or that is not a frame, ends the connection.
 *
 * The crate's own daemon speaks bincode messages inside the same handshake
 * and framing, so it does not understand this profile, and this socket does
 * not understand it: the stream profile is for peers that both use it.
 *
 * **Socket semantics** (as `NodeSocket`):
 *
 * - acquiring `reader` dials (client) and runs the handshake, bounded by
 *   `handshakeTimeout`; a handshake that fails or times out fails the
 *   acquisition with `SocketOpenError` (`kind: "Timeout"` for the timeout);
 * - `pull` yields decrypted chunks and never completes: a clean close fails
 *   it with `SocketCloseError(1000)`, an abortive one with
 *   `SocketCloseError(1006)`, a frame that does not authenticate or a framing
 *   error with `SocketReadError` (its `cause` is the `ProtocolError`), and a
 *   stream that ends inside a frame with `SocketReadError`; closing the scope
 *   of the acquisition fails a suspended `pull`;
 * - the writer is detached: writes suspend until a handshake has completed
 *   (and, after a disconnect, until the next one has), then seal and send;
 *   releasing the writer scope half-closes the connection; writing a
 *   `CloseEvent` closes it as `NodeSocket` does; `reader.upgrade` is not
 *   supported.
 *
 * **Servers** hand a connection to their handler only once the server side of
 * the handshake succeeded (like a TLS server): a peer that sends garbage, a
 * plaintext protocol, a replayed Init or nothing at all within
 * `handshakeTimeout` is closed and logged at debug level. All connections of
 * a server share one `ReplayCache` (the `ReplayCache` service if one is
 * provided, otherwise a new one per server).
 *
 * Note (SPEC §15.1 #1): as in the crate, the handshake authenticates neither
 * side; it stops passive eavesdropping and tampering, not an active man in the
 * middle. Run the socket inside TLS (`fromSocket` over `NodeSocket.makeTls`,
 * `fromServer` over `NodeSocketServer.makeTls`) when peers must be
 * authenticated.
 *
 * @since 0.1.0
 */
import * as Crypto from "@network-protocol/core/Crypto"
import type * as Handshake from "@network-protocol/core/Handshake"
import * as Packet from "@network-protocol/core/Packet"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as internal from "./internal/secureSocket.ts"

/**
 * Options shared by both sides.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * How long the handshake may take once the connection is open; exceeding it
   * fails the reader acquisition with `SocketOpenError` (`kind: "Timeout"`).
   * Default 10 seconds.
   */
  readonly handshakeTimeout?: Duration.Input | undefined
  /**
   * The largest frame payload accepted and sent, inclusive (a chunk is split
   * into frames of at most this size minus the 40-byte nonce and tag). Default
   * 16 MiB, the crate's limit. A larger frame from the peer ends the
   * connection as soon as its header arrives.
   */
  readonly maxPayloadSize?: number | undefined
}

/**
 * Options of the client side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientOptions extends Options {
  /** Options of the handshake (fixed test material only). */
  readonly handshake?: Handshake.ClientOptions | undefined
}

/**
 * Options of the server side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerOptions extends Options {
  /** Options of the handshake: clock tolerances (and fixed test material). */
  readonly handshake?: Handshake.ServerOptions | undefined
  /**
   * Options of the server's replay cache, when the `ReplayCache` service is
   * not provided.
   */
  readonly replayCache?: ReplayCache.Options | undefined
}

/**
 * Where `makeNet` connects: a TCP host and port, or a Unix socket path.
 *
 * @category models
 * @since 0.1.0
 */
export type NetAddress =
  | {
    /** Default `"localhost"`. */
    readonly host?: string | undefined
    readonly port: number
  }
  | { readonly path: string }

/**
 * Options of `makeNet`.
 *
 * @category models
 * @since 0.1.0
 */
export type NetOptions = NetAddress & ClientOptions & {
  /** How long to wait for the TCP/Unix connection (not the handshake). Default: no limit. */
  readonly openTimeout?: Duration.Input | undefined
  /** Maximum raw chunks per read, see `NodeSocket.makeNet`. Default 4096. */
  readonly chunkSize?: number | undefined
}

/**
 * Where `makeServer` listens: a TCP host and port (`0` picks a free port,
 * read it back from `address`), or a Unix socket path.
 *
 * @category models
 * @since 0.1.0
 */
export type ListenAddress =
  | {
    /** Default: all interfaces, as `net.Server.listen`. */
    readonly host?: string | undefined
    readonly port: number
  }
  | { readonly path: string }

/**
 * Options of `makeServer`.
 *
 * @category models
 * @since 0.1.0
 */
export type ListenOptions = ListenAddress & ServerOptions & {
  /** The listen backlog. */
  readonly backlog?: number | undefined
}

const clientConfig = (crypto: Crypto.Crypto["Service"], options: ClientOptions | undefined): internal.Config => ({
  role: "client",
  crypto,
  handshake: options?.handshake,
  handshakeTimeout: options?.handshakeTimeout === undefined
    ? internal.defaultHandshakeTimeout
    : Duration.fromInputUnsafe(options.handshakeTimeout),
  maxPayloadSize: options?.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
})

const serverConfig = (options: ServerOptions | undefined): Effect.Effect<internal.ServerConfig, never, Crypto.Crypto> =>
  Effect.gen(function*() {
    const crypto = yield* Crypto.Crypto
    const provided = yield* Effect.serviceOption(ReplayCache.ReplayCache)
    return {
      role: "server",
      crypto,
      replayCache: Option.isSome(provided) ? provided.value : ReplayCache.makeUnsafe(options?.replayCache),
      handshake: options?.handshake,
      handshakeTimeout: options?.handshakeTimeout === undefined
        ? internal.defaultHandshakeTimeout
        : Duration.fromInputUnsafe(options.handshakeTimeout),
      maxPayloadSize: options?.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
    }
  })

/**
 * The client side of the secure transport over any Effect `Socket` (a
 * `NodeSocket.makeNet`/`makeTls` socket, a WebSocket, an in-memory duplex):
 * every acquisition of the reader opens `raw` and runs the client handshake
 * over it.
 *
 * **Details**
 *
 * Errors of `raw` pass through unchanged (a refused connection is `raw`'s
 * `SocketOpenError`, a clean close `SocketCloseError(1000)`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSocket = (
  raw: Socket.Socket,
  options?: ClientOptions
): Effect.Effect<Socket.Socket, never, Crypto.Crypto> =>
  Effect.map(Crypto.Crypto, (crypto) => internal.make(raw, clientConfig(crypto, options)))

/**
 * A secure client socket over TCP or a Unix socket (`TCP_NODELAY` on). Each
 * reader acquisition connects and runs the handshake; see the module
 * documentation for the semantics.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeNet = (options: NetOptions): Effect.Effect<Socket.Socket, never, Crypto.Crypto> =>
  Effect.flatMap(
    NodeSocket.makeNet(
      "path" in options
        ? { path: options.path, openTimeout: options.openTimeout, chunkSize: options.chunkSize }
        : {
          host: options.host ?? "localhost",
          port: options.port,
          noDelay: true,
          openTimeout: options.openTimeout,
          chunkSize: options.chunkSize
        }
    ),
    (raw) => fromSocket(raw, options)
  )

/**
 * Provides `Socket.Socket` with {@link makeNet}, e.g. for
 * `RpcClient.layerProtocolSocket()`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNet = (options: NetOptions): Layer.Layer<Socket.Socket, never, Crypto.Crypto> =>
  Layer.effect(Socket.Socket)(makeNet(options))

/**
 * Makes any `SocketServer` secure: its handler receives only connections that
 * completed the server side of the handshake (see the module documentation).
 * All connections share one replay cache.
 *
 * **Details**
 *
 * Use it over `NodeSocketServer.makeTls` for the handshake inside TLS, or
 * over a WebSocket server. The address is the inner server's.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromServer = (
  inner: SocketServer.SocketServer["Service"],
  options?: ServerOptions
): Effect.Effect<SocketServer.SocketServer["Service"], never, Crypto.Crypto> =>
  Effect.map(serverConfig(options), (config) => internal.makeServer(inner, config))

/**
 * A secure server listening on TCP (`TCP_NODELAY` on) or a Unix socket. It
 * listens as soon as it is made; connections that arrive before `run` wait.
 * Closing the scope stops it and closes its connections.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServer = (
  options: ListenOptions
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Crypto.Crypto | Scope.Scope> =>
  Effect.flatMap(
    NodeSocketServer.make(
      "path" in options
        ? { path: options.path, backlog: options.backlog }
        : { host: options.host, port: options.port, backlog: options.backlog, noDelay: true }
    ),
    (inner) => fromServer(inner, options)
  )

/**
 * Provides `SocketServer` with {@link makeServer}, e.g. for
 * `RpcServer.layerProtocolSocketServer`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerServer = (
  options: ListenOptions
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Crypto.Crypto> =>
  Layer.effect(SocketServer.SocketServer)(makeServer(options))
