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
import type * as Effect from "effect/Effect"
import type * as Message from "@network-protocol/core/Message"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"

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
  /** `"secure"` (handshake + XChaCha20-Poly1305) or `"plain"` (bincode inside TLS). */
  readonly profile: "secure" | "plain"
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
