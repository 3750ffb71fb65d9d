/**
 * Sessions of the opt-in extended profile (`docs/PROTOCOL.md`,
 * `docs/SECURITY.md`): the `ExtendedHandshake` (server authentication by a
 * pinned Ed25519 identity, optional client authentication, key confirmation)
 * followed by the `SecureEnvelope` (per-direction keys, sequence numbers
 * that refuse replayed, reordered, dropped and reflected frames, negotiated
 * compression inside the encryption, and a negotiated AEAD: XChaCha20-Poly1305
 * by default, AES-256-GCM when both sides list it in `ciphers`).
 *
 * Both constructors fall back to the crate's profile when the peer does not
 * speak the extension, so they work against the Rust crate and against our
 * compatible peers:
 *
 * - {@link client} offers the extension in its Init; a server that answers
 *   without one gets the crate's Confirm and the crate's framing (session
 *   profile `"secure"`), unless the client requires the extension (a `pin`,
 *   or `require`), in which case the handshake fails with a
 *   `HandshakeError` and nothing is sent.
 * - {@link server} answers a client that offered the extension with the
 *   extended profile, and any other client exactly like
 *   `Session.secureServer` (the crate's handshake), unless it requires the
 *   extension.
 *
 * ```ts
 * import * as Identity from "@network-protocol/core/Identity"
 * import * as ExtendedSession from "@network-protocol/service/ExtendedSession"
 *
 * // server: its identity (np keygen) — clients pin identity.fingerprint
 * const session = yield* ExtendedSession.server(connection, { identity: yield* Identity.load("identity.key") })
 * // client
 * const session = yield* ExtendedSession.client(connection, { pin: "sha256:3f1c…", compression: ["lz4"] })
 * // AES-256-GCM for the data frames (opt-in on both sides; XChaCha20-Poly1305 otherwise)
 * const fast = yield* ExtendedSession.client(connection, { ciphers: ["aes-256-gcm"] })
 * ```
 *
 * A frame that breaks the sequence fails `receive` with a `SecurityError`
 * whose cause is a `SecureEnvelope.IntegrityViolation` (`Replay`,
 * `OutOfOrder`, `Reflection`); a forged one with `DecryptionFailure`. The
 * owner of the session (the daemon, the client) then closes the connection.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Compression from "@network-protocol/core/Compression"
import type * as Crypto from "@network-protocol/core/Crypto"
import * as ExtendedHandshake from "@network-protocol/core/ExtendedHandshake"
import * as Identity from "@network-protocol/core/Identity"
import * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as SecureChannel from "@network-protocol/core/SecureChannel"
import * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import type * as Connection from "@network-protocol/transport/Connection"
import * as SealedSession from "./internal/sealedSession.ts"
import type * as Session from "./Session.ts"

/**
 * Options of both sides beyond the handshake: how the envelope compresses.
 *
 * @category models
 * @since 0.1.0
 */
export interface EnvelopeOptions {
  /** Bodies smaller than this are never compressed. Default 512 bytes. */
  readonly compressionThreshold?: number | undefined
  /** Options of the adaptive compression (entropy cut-off, zstd level). */
  readonly adaptive?: Compression.AdaptiveOptions | undefined
  /** The largest body a compressed frame may decompress to. Default 16 MiB. */
  readonly maxMessageSize?: number | undefined
  /**
   * The compression implementation. Default: the `Compression` service when
   * provided, else `Compression.makeDefault()` (shared by all sessions).
   */
  readonly codec?: Compression.Compression["Service"] | undefined
}

/**
 * Options of the client side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientOptions extends ExtendedHandshake.ClientOptions, EnvelopeOptions {}

/**
 * Options of the server side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerOptions extends ExtendedHandshake.ServerOptions, EnvelopeOptions {}

/**
 * What the handshake agreed on.
 *
 * @category models
 * @since 0.1.0
 */
export interface Security {
  /** `"extended"`, or `"compatible"` when the peer speaks only the crate's format. */
  readonly profile: "compatible" | "extended"
  /** The AEAD of the data frames (always `"xchacha20-poly1305"` in the compatible profile). */
  readonly cipher: SecureEnvelope.Cipher
  /** The negotiated compression (extended profile only). */
  readonly compression: Compression.Kind | undefined
  /** The peer's verified identity public key, when it authenticated. */
  readonly peerIdentity: Uint8Array | undefined
  /** Its fingerprint, `sha256:<hex>`. */
  readonly peerFingerprint: string | undefined
}

/**
 * A session with what its handshake agreed on.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExtendedSession extends Session.Session {
  readonly security: Security
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

let sharedCodec: Compression.Compression["Service"] | undefined = undefined

const codecFor = (options: EnvelopeOptions): Effect.Effect<Compression.Compression["Service"]> => {
  if (options.codec !== undefined) return Effect.succeed(options.codec)
  return Effect.flatMap(Effect.serviceOption(Compression.Compression), (service) => {
    if (Option.isSome(service)) return Effect.succeed(service.value)
    if (sharedCodec !== undefined) return Effect.succeed(sharedCodec)
    return Effect.map(Compression.makeDefault(), (codec) => (sharedCodec = codec))
  })
}

const fromSealer = (
  connection: Connection.Connection,
  sealer: SealedSession.Sealer,
  pending: ReadonlyArray<Packet.Packet>,
  security: Security
): ExtendedSession =>
  // the sealed session keeps its methods on its prototype: add `security` to it rather than copy it
  Object.assign(
    SealedSession.fromSealer(connection, sealer, pending, security.profile === "extended" ? "extended" : "secure"),
    { security }
  )

const COMPATIBLE: Security = {
  profile: "compatible",
  cipher: "xchacha20-poly1305",
  compression: undefined,
  peerIdentity: undefined,
  peerFingerprint: undefined
}

/** The session of a completed handshake; wipes the outcome's keys. */
const open = Effect.fnUntraced(function*(
  connection: Connection.Connection,
  outcome: ExtendedHandshake.Outcome,
  pending: ReadonlyArray<Packet.Packet>,
  options: EnvelopeOptions
): Effect.fn.Return<ExtendedSession, never, Crypto.Crypto | Scope.Scope> {
  if (outcome.profile === "compatible") {
    const channel = yield* SecureChannel.make(outcome.sessionKey)
    outcome.sessionKey.fill(0)
    return fromSealer(connection, channel, pending, COMPATIBLE)
  }
  const keys = outcome.keys
  const codec = outcome.compression === undefined ? undefined : yield* codecFor(options)
  const envelope = yield* SecureEnvelope.make(keys, {
    cipher: outcome.cipher,
    compression: outcome.compression,
    codec,
    compressionThreshold: options.compressionThreshold,
    adaptive: options.adaptive,
    maxMessageSize: options.maxMessageSize
  })
  keys.sendKey.fill(0)
  keys.receiveKey.fill(0)
  keys.sendIv.fill(0)
  keys.receiveIv.fill(0)
  const peer = outcome.peerIdentity
  return fromSealer(connection, envelope, pending, {
    profile: "extended",
    cipher: outcome.cipher,
    compression: outcome.compression,
    peerIdentity: peer,
    peerFingerprint: peer === undefined ? undefined : Identity.formatFingerprint(Identity.fingerprintOf(peer))
  })
})

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * The client side: offers the extension, checks the server (pins), falls
 * back to the crate's profile when the server does not speak the extension
 * and nothing requires it. Apply a timeout to bound the handshake.
 *
 * @category constructors
 * @since 0.1.0
 */
export const client = Effect.fnUntraced(function*(
  connection: Connection.Connection,
  options: ClientOptions = {}
): Effect.fn.Return<ExtendedSession, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope> {
  const reader = SealedSession.packetReader(connection)
  const handshake = yield* ExtendedHandshake.makeClient(options)
  const init = yield* ExtendedHandshake.init(handshake)
  yield* connection.send([Packet.make(init)])
  const response = yield* reader.next
  const { confirm, outcome } = yield* Effect.fromResult(handshake.confirm(response.payload))
  yield* connection.send([Packet.make(confirm)])
  return yield* open(connection, outcome, reader.drain(), options)
})

/**
 * The server side: answers a client that offers the extension with the
 * extended profile, any other exactly like `Session.secureServer`, unless the
 * extension is required (`require`, `requireClientAuth`, `trustedClients`).
 * Apply a timeout to bound the handshake.
 *
 * @category constructors
 * @since 0.1.0
 */
export const server = Effect.fnUntraced(function*(
  connection: Connection.Connection,
  options: ServerOptions = {}
): Effect.fn.Return<ExtendedSession, ProtocolError.ProtocolError, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope> {
  const reader = SealedSession.packetReader(connection)
  const handshake = yield* ExtendedHandshake.makeServer(options)
  const init = yield* reader.next
  const response = yield* ExtendedHandshake.respond(handshake, init.payload)
  yield* connection.send([Packet.make(response)])
  const confirm = yield* reader.next
  const outcome = yield* Effect.fromResult(handshake.finish(confirm.payload))
  return yield* open(connection, outcome, reader.drain(), options)
})
