/**
 * A session: a connection that carries `Message`s, after whatever handshake
 * its profile needs. The daemon and the client are written against this one
 * interface, whatever the transport and the wire profile:
 *
 * - **secure** (TCP and Unix sockets, the crate's secure stack): the X25519
 *   handshake, then every message sealed with XChaCha20-Poly1305 (SPEC §3–4);
 * - **plain** (inside TLS, the crate's TLS stack): bincode messages in packets,
 *   TLS does the encryption (SPEC §5.10).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Handshake from "@network-protocol/core/Handshake"
import type * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as SecureChannel from "@network-protocol/core/SecureChannel"
import type * as Connection from "@network-protocol/transport/Connection"
import * as SealedSession from "./internal/sealedSession.ts"

/**
 * What is known about a session's connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Info {
  /** `"tcp"`, `"unix"` or `"tls"`. */
  readonly transport: string
  /** The peer's address (`ip:port`, or the socket path). */
  readonly remoteAddress: string
  /** The local address. */
  readonly localAddress: string
  /**
   * `"secure"` (handshake + XChaCha20-Poly1305), `"plain"` (bincode inside
   * TLS) or `"extended"` (the opt-in extension of `ExtendedSession`).
   */
  readonly profile: "secure" | "plain" | "extended"
}

/**
 * A message connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Session {
  /**
   * The next batch of messages (at least one). Fails with `ConnectionClosed`
   * when the peer closed cleanly, and with the transport's, the framing's or
   * the channel's reason (e.g. `DecryptionFailure`) otherwise.
   */
  readonly receive: Effect.Effect<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError>
  /**
   * Sends messages in order, in one write; waits while the peer does not read
   * (backpressure).
   */
  readonly send: (messages: Arr.NonEmptyReadonlyArray<Message.Message>) => Effect.Effect<
    void,
    ProtocolError.ProtocolError
  >
  /** What is known about the connection. */
  readonly info: Info
  /** Closes the connection gracefully. Idempotent. */
  readonly close: Effect.Effect<void>
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * The crate's secure stack, server side: answers the client's handshake (SPEC
 * §3) over a framed connection, then seals and opens every message with the
 * session key (SPEC §4). A packet that fails to open fails `receive` with
 * `DecryptionFailure` (the connection is then closed by its owner).
 *
 * Apply a timeout to this effect to bound the handshake.
 *
 * @category constructors
 * @since 0.1.0
 */
export const secureServer = Effect.fnUntraced(function*(
  connection: Connection.Connection,
  options?: Handshake.ServerOptions
): Effect.fn.Return<Session, ProtocolError.ProtocolError, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope> {
  const reader = SealedSession.packetReader(connection)
  const crypto = yield* Crypto.Crypto
  const cache = yield* ReplayCache.ReplayCache
  // the handshake's secrets are wiped as soon as it is over, not when the connection ends
  const key = yield* Effect.acquireUseRelease(
    Effect.sync(() => Handshake.makeServerUnsafe(crypto, cache, options)),
    Effect.fnUntraced(function*(handshake) {
      const init = yield* decodeHandshake(yield* reader.next)
      const response = yield* Handshake.respond(handshake, init)
      yield* connection.send([Packet.make(yield* encode(response))])
      const confirm = yield* decodeHandshake(yield* reader.next)
      return yield* Handshake.finish(handshake, confirm)
    }),
    (handshake) => Effect.sync(handshake.destroy)
  )
  // no finalizer: the channel holds nothing that outlives the session
  const channel = SecureChannel.makeUnsafe(crypto, key)
  key.fill(0)
  return SealedSession.fromSealer(connection, channel, reader.drain(), "secure")
})

/**
 * The crate's secure stack, client side: sends the Init, checks the server's
 * Response, sends the Confirm (SPEC §3), then seals and opens every message
 * with the session key (SPEC §4).
 *
 * Apply a timeout to this effect to bound the handshake.
 *
 * @category constructors
 * @since 0.1.0
 */
export const secureClient = Effect.fnUntraced(function*(
  connection: Connection.Connection,
  options?: Handshake.ClientOptions
): Effect.fn.Return<Session, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope> {
  const reader = SealedSession.packetReader(connection)
  const crypto = yield* Crypto.Crypto
  // the handshake's secrets are wiped as soon as it is over, not when the connection ends
  const finished = yield* Effect.acquireUseRelease(
    Effect.sync(() => Handshake.makeClientUnsafe(crypto, options)),
    Effect.fnUntraced(function*(handshake) {
      const init = yield* Handshake.init(handshake)
      yield* connection.send([Packet.make(yield* encode(init))])
      const response = yield* decodeHandshake(yield* reader.next)
      const { confirm, sessionKey } = yield* Handshake.confirm(handshake, response)
      return { confirm: Packet.make(yield* encode(confirm)), sessionKey }
    }),
    (handshake) => Effect.sync(handshake.destroy)
  )
  const channel = SecureChannel.makeUnsafe(crypto, finished.sessionKey)
  finished.sessionKey.fill(0)
  // the Confirm leaves with the first messages sent in this tick
  return yield* SealedSession.fromSealerAfter(connection, finished.confirm, channel, reader.drain(), "secure")
})

/**
 * The crate's TLS stack: plain bincode messages in packets, with TLS doing the
 * encryption and no application handshake (SPEC §5.10). A payload that is not
 * a valid message is skipped, as the crate's TLS daemon does.
 *
 * @category constructors
 * @since 0.1.0
 */
export const plain = (connection: Connection.Connection): Session =>
  SealedSession.fromSealer(connection, plainSealer, [], "plain")

/** Plain bincode in packets; a payload that does not decode is skipped. */
const plainSealer: SealedSession.Sealer = {
  seal: (message) => Result.map(MessageCodec.encode(message), Packet.make),
  open: (packet) => {
    const decoded = MessageCodec.decode(packet.payload)
    return Result.isSuccess(decoded) ? decoded : skipped
  }
}

const skipped = Result.succeed(undefined)


const decodeHandshake = (packet: Packet.Packet): Effect.Effect<Message.Message, ProtocolError.ProtocolError> =>
  Effect.fromResult(MessageCodec.decode(packet.payload)).pipe(
    Effect.mapError((error) =>
      ProtocolError.make(new ProtocolError.DeserializeError({ detail: error.message, cause: error }))
    )
  )

const encode = (message: Message.Message) => Effect.fromResult(MessageCodec.encode(message))
