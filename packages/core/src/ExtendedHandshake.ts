/**
 * The extended handshake (`docs/PROTOCOL.md`): the crate's three handshake
 * messages, each followed by an extension block that the crate's bincode
 * decoder ignores (SPEC §2.2: trailing bytes after a complete message are
 * ignored). It adds, as an opt-in negotiated on top of the compatible
 * profile:
 *
 * - **server authentication**: a long-term Ed25519 identity signs the
 *   transcript (both ephemeral keys, both nonces, the timestamp and every
 *   negotiated field), and the client checks it against its pins;
 * - optional **client authentication**, the same way in the Confirm;
 * - **key confirmation** both ways (HMAC "Finished" values over the
 *   transcript), so any change to the handshake is caught;
 * - **per-direction keys and IVs** from HKDF-SHA256 over the X25519 secret
 *   and the transcript, for the sequenced envelope of `SecureEnvelope`;
 * - **compression** negotiated (LZ4 or Zstd);
 * - the **AEAD** of the data frames negotiated: XChaCha20-Poly1305 (always
 *   offered, the default) or, when both sides list it, AES-256-GCM.
 *
 * ```
 * client                                              server
 * Init body (60) ‖ client hello ext (8)        ──►
 *                                              ◄──  Response body (84) ‖ server hello ext (40 | 136)
 * Confirm body (36) ‖ client finish ext (40 | 136) ──►
 * ```
 *
 * Fallback (SPEC-compatible in both directions):
 *
 * - A server that speaks only the crate's format ignores the client's block
 *   and answers a plain 84-byte Response: the client then finishes the
 *   crate's handshake (plain Confirm, crate session key) unless it requires
 *   the extension (a pin, or `require`), in which case it refuses — a
 *   downgrade is never silent.
 * - A client that speaks only the crate's format sends no block: the server
 *   runs the crate's handshake (`Handshake`) unchanged, unless it requires
 *   the extension.
 *
 * Key schedule (all hashes SHA-256, `lp(x)` = u32 BE length ‖ x):
 *
 * ```
 * TH2 = H("NPX1 transcript" ‖ lp(Init payload) ‖ lp(Response payload up to the server signature))
 * OKM = HKDF(ikm = X25519 shared secret, salt = TH2, info = "NPX1 keys", 160 bytes)
 *     = key c→s (32) ‖ key s→c (32) ‖ iv c→s (16) ‖ iv s→c (16) ‖ finished key s (32) ‖ finished key c (32)
 * server signature = Ed25519(server identity, "NPX1 server signature" ‖ 00 ‖ TH2)
 * server finished  = HMAC(finished key s, TH2)
 * TH3 = H("NPX1 transcript" ‖ lp(Init payload) ‖ lp(Response payload) ‖ lp(Confirm payload up to the client signature))
 * client signature = Ed25519(client identity, "NPX1 client signature" ‖ 00 ‖ TH3)
 * client finished  = HMAC(finished key c, TH3)
 * ```
 *
 * Like `Handshake`, the machines are pure (no I/O), per connection, fail for
 * good on the first error, and wipe their secrets as soon as they are no
 * longer needed. Errors are `ProtocolError`s: `HandshakeError` (with the texts
 * of {@link errors}), `DeserializeError` for a message that does not decode,
 * `ConfigError` for a malformed pin.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type * as Compression from "./Compression.ts"
import * as Crypto from "./Crypto.ts"
import { equalConstantTime } from "./internal/bytes.ts"
import { Machine } from "./internal/handshakeMachine.ts"
import * as Handshake from "./Handshake.ts"
import * as Identity from "./Identity.ts"
import * as Message from "./Message.ts"
import * as MessageCodec from "./MessageCodec.ts"
import * as ProtocolError from "./ProtocolError.ts"
import * as ReplayCache from "./ReplayCache.ts"
import type * as SecureEnvelope from "./SecureEnvelope.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/ExtendedHandshake" as const

/**
 * The magic bytes every extension block starts with: ASCII `NPX1`.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAGIC: Uint8Array = new Uint8Array([0x4e, 0x50, 0x58, 0x31])

/**
 * The extension version this implementation speaks.
 *
 * @category constants
 * @since 0.1.0
 */
export const VERSION = 1

/**
 * Size of the fixed header of every extension block: magic (4), version (1),
 * flags (1), compression (1), cipher (1; reserved in the Confirm).
 *
 * @category constants
 * @since 0.1.0
 */
export const HEADER_SIZE = 8

/**
 * Size of the bincode body of the Init (SPEC §2.1).
 *
 * @category constants
 * @since 0.1.0
 */
export const INIT_BODY_SIZE = 60

/**
 * Size of the bincode body of the Response.
 *
 * @category constants
 * @since 0.1.0
 */
export const RESPONSE_BODY_SIZE = 84

/**
 * Size of the bincode body of the Confirm.
 *
 * @category constants
 * @since 0.1.0
 */
export const CONFIRM_BODY_SIZE = 36

/**
 * Size of a Finished value (HMAC-SHA256).
 *
 * @category constants
 * @since 0.1.0
 */
export const FINISHED_SIZE = 32

/**
 * Flag bits of the extension headers.
 *
 * - `clientIdentity` (Init, Confirm): the client holds an identity / the
 *   Confirm carries the client's public key and signature.
 * - `serverIdentity` (Response): the Response carries the server's public key
 *   and signature.
 * - `clientAuthRequested` / `clientAuthRequired` (Response): the server asks
 *   the client to authenticate, optionally / mandatorily.
 *
 * Unknown bits are ignored by receivers.
 *
 * @category constants
 * @since 0.1.0
 */
export const flags = {
  clientIdentity: 0x01,
  serverIdentity: 0x01,
  clientAuthRequested: 0x02,
  clientAuthRequired: 0x04
} as const

/**
 * Compression bits offered in the client hello (a bitmask), and the ids the
 * server hello and the envelope use (0 = none).
 *
 * @category constants
 * @since 0.1.0
 */
export const compression = {
  offerBits: { lz4: 0x01, zstd: 0x02 },
  ids: { none: 0, lz4: 1, zstd: 2 }
} as const

/**
 * The AEAD of the data frames: the bits the client hello offers (a bitmask,
 * header byte 7) besides XChaCha20-Poly1305, which every peer supports and
 * is never listed, and the ids of the server's choice (header byte 7 of the
 * server hello; 0 = XChaCha20-Poly1305, what a peer that does not know the
 * byte sends).
 *
 * @category constants
 * @since 0.1.0
 */
export const ciphers = {
  offerBits: { "aes-256-gcm": 0x01 },
  ids: { "xchacha20-poly1305": 0, "aes-256-gcm": 1 }
} as const

/**
 * The default of the `ciphers` options: XChaCha20-Poly1305 only (the crate's
 * AEAD, also chosen whenever nothing else is agreed); AES-256-GCM is opt-in.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_CIPHERS: ReadonlyArray<SecureEnvelope.Cipher> = ["xchacha20-poly1305"]

/**
 * The error texts (the `detail` of the `HandshakeError` reason) specific to
 * the extension. The compatible path keeps the crate's texts (`Handshake.errors`).
 *
 * @category constants
 * @since 0.1.0
 */
export const errors = {
  downgrade:
    "the server answered with the compatible profile (no extension block) but the extension is required; refusing to downgrade",
  extensionRequired: "the client did not offer the extended profile, which this server requires",
  malformedExtension: "malformed extension block",
  unsupportedVersion: "unsupported extension version",
  unofferedCompression: "the server chose a compression the client did not offer",
  unofferedCipher: "the server chose a cipher the client did not offer",
  serverFinished: "the server's Finished does not verify (handshake tampered with)",
  clientFinished: "the client's Finished does not verify (handshake tampered with)",
  serverIdentityMissing: "the server presented no identity, but its key is pinned",
  serverIdentityMismatch: "the server's identity does not match the pinned key",
  serverSignature: "the server's signature over the transcript does not verify",
  clientIdentityMissing: "the client presented no identity, but this server requires client authentication",
  clientIdentityUntrusted: "the client's identity is not trusted",
  clientSignature: "the client's signature over the transcript does not verify",
  clientAuthUnavailable: "the server requires client authentication, but no client identity is configured",
  clientFinishMissing: "the client's Confirm carries no extension block"
} as const

/**
 * The parsed extension block of an Init.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientHello {
  readonly version: number
  readonly flags: number
  /** Offered compression, a bitmask of `compression.offerBits`. */
  readonly compression: number
  /** Offered ciphers besides XChaCha20-Poly1305, a bitmask of `ciphers.offerBits`. */
  readonly ciphers: number
}

/**
 * A public key and its signature over the transcript.
 *
 * @category models
 * @since 0.1.0
 */
export interface SignedIdentity {
  readonly publicKey: Uint8Array
  readonly signature: Uint8Array
}

/**
 * The parsed extension block of a Response.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerHello {
  readonly version: number
  readonly flags: number
  /** The compression chosen for both directions, `undefined` for none. */
  readonly compression: Compression.Kind | undefined
  /** The AEAD chosen for both directions. */
  readonly cipher: SecureEnvelope.Cipher
  readonly identity: SignedIdentity | undefined
  readonly finished: Uint8Array
  /** Bytes of the payload covered by TH2 (everything before the signature). */
  readonly coreLength: number
}

/**
 * The parsed extension block of a Confirm.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientFinish {
  readonly version: number
  readonly flags: number
  readonly identity: SignedIdentity | undefined
  readonly finished: Uint8Array
  /** Bytes of the payload covered by TH3 (everything before the signature). */
  readonly coreLength: number
}

/**
 * A handshake payload split into its bincode message and its extension block
 * (`undefined` when there is none, as from the crate).
 *
 * @category models
 * @since 0.1.0
 */
export interface Parsed<M, X> {
  readonly message: M
  readonly extension: X | undefined
}

/**
 * The keys of one side of an extended session: its sending and receiving
 * AEAD keys and 16-byte IVs (the nonce of frame `n` is `iv ‖ n` as u64 BE for
 * XChaCha20-Poly1305, `iv[0..12] XOR (0 ‖ n)` for AES-256-GCM). The caller
 * owns them; wipe them with `fill(0)` once the envelope is built.
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionKeys {
  readonly sendKey: Uint8Array
  readonly receiveKey: Uint8Array
  readonly sendIv: Uint8Array
  readonly receiveIv: Uint8Array
}

/**
 * What a completed handshake agreed on.
 *
 * - `compatible`: the crate's profile (the peer sent no extension block, or
 *   answered without one); `sessionKey` is the crate's single key.
 * - `extended`: per-direction keys, the negotiated AEAD and compression, and
 *   the peer's identity public key when it authenticated (verified, and matched
 *   against the pins when some are set).
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome =
  | { readonly profile: "compatible"; readonly sessionKey: Uint8Array }
  | {
    readonly profile: "extended"
    readonly keys: SessionKeys
    readonly cipher: SecureEnvelope.Cipher
    readonly compression: Compression.Kind | undefined
    readonly peerIdentity: Uint8Array | undefined
  }

/**
 * Options of the client side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientOptions {
  /** The client's identity, used when the server asks for client authentication. */
  readonly identity?: Identity.Identity | undefined
  /**
   * Accepted server identities. When set, the server must authenticate with
   * one of them, and the compatible fallback is refused.
   */
  readonly pin?: Identity.Pin | ReadonlyArray<Identity.Pin> | undefined
  /**
   * Refuse the compatible fallback even without a pin (the extended profile's
   * integrity protection is required, server authentication is not).
   * Default: `false` (always `true` when `pin` is set).
   */
  readonly require?: boolean | undefined
  /** Compression offered, in the client's order of preference. Default: none. */
  readonly compression?: ReadonlyArray<Compression.Kind> | undefined
  /**
   * AEADs offered for the data frames, in the client's order of preference
   * (the server's order decides). XChaCha20-Poly1305 is always accepted, listed
   * or not. Default {@link DEFAULT_CIPHERS}: XChaCha20-Poly1305 only
   * (`["aes-256-gcm"]` or `["aes-256-gcm", "xchacha20-poly1305"]` opts in to AES-256-GCM).
   */
  readonly ciphers?: ReadonlyArray<SecureEnvelope.Cipher> | undefined
  /** Fixed ephemeral material (test vectors only). */
  readonly fixed?: Handshake.FixedSecrets | undefined
}

/**
 * Options of the server side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerOptions extends Handshake.ServerOptions {
  /** The server's identity; without it the extended profile is unauthenticated. */
  readonly identity?: Identity.Identity | undefined
  /** Ask clients to authenticate, without requiring it. */
  readonly requestClientAuth?: boolean | undefined
  /** Require clients to authenticate (implies `require`). */
  readonly requireClientAuth?: boolean | undefined
  /**
   * Accepted client identities. When set, clients must authenticate with one
   * of them (implies `requireClientAuth`).
   */
  readonly trustedClients?: Identity.Pin | ReadonlyArray<Identity.Pin> | undefined
  /** Refuse clients that do not offer the extension. Default `false`. */
  readonly require?: boolean | undefined
  /**
   * Compression accepted, in the server's order of preference: the first one
   * the client also offers is chosen. Default: none.
   */
  readonly compression?: ReadonlyArray<Compression.Kind> | undefined
  /**
   * AEADs accepted for the data frames, in the server's order of preference:
   * the first one the client offered is chosen (XChaCha20-Poly1305 is offered
   * by every client, and chosen when nothing listed before it was offered).
   * Default {@link DEFAULT_CIPHERS}: XChaCha20-Poly1305 only.
   */
  readonly ciphers?: ReadonlyArray<SecureEnvelope.Cipher> | undefined
}

/**
 * What the client gets from the server's Response: the Confirm payload to
 * send and the outcome.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientResult {
  readonly confirm: Uint8Array
  readonly outcome: Outcome
}

/**
 * The client side of one extended handshake.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientHandshake extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly side: "client"
  readonly phase: Handshake.ClientPhase
  /** Step 1: the Init payload (body ‖ client hello), stamped with `nowMillis`. */
  readonly init: (nowMillis: number) => Result.Result<Uint8Array, ProtocolError.ProtocolError>
  /** Step 3: checks the Response payload; the Confirm payload and the outcome. */
  readonly confirm: (response: Uint8Array) => Result.Result<ClientResult, ProtocolError.ProtocolError>
  /** Wipes every secret still held. */
  readonly destroy: () => void
}

/**
 * The server side of one extended handshake.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerHandshake extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly side: "server"
  readonly phase: Handshake.ServerPhase
  /** Step 2: checks the Init payload at `nowMillis`; the Response payload. */
  readonly respond: (init: Uint8Array, nowMillis: number) => Result.Result<Uint8Array, ProtocolError.ProtocolError>
  /** Step 4: checks the Confirm payload; the outcome. */
  readonly finish: (confirm: Uint8Array) => Result.Result<Outcome, ProtocolError.ProtocolError>
  /** Wipes every secret still held. */
  readonly destroy: () => void
}

/**
 * Tells whether a value is an extended handshake machine.
 *
 * @category guards
 * @since 0.1.0
 */
export const isExtendedHandshake = (u: unknown): u is ClientHandshake | ServerHandshake =>
  Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// encoding helpers
// -----------------------------------------------------------------------------

const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))

const TRANSCRIPT_LABEL = ascii("NPX1 transcript")
const KEYS_INFO = ascii("NPX1 keys")
const SERVER_CONTEXT = ascii("NPX1 server signature\0")
const CLIENT_CONTEXT = ascii("NPX1 client signature\0")
const OKM_SIZE = 160
const IDENTITY_SIZE = Identity.KEY_SIZE + Identity.SIGNATURE_SIZE

const handshakeError = (detail: string) => ProtocolError.make(new ProtocolError.HandshakeError({ detail }))

const fail = (detail: string): Result.Result<never, ProtocolError.ProtocolError> => Result.fail(handshakeError(detail))

const hasMagic = (bytes: Uint8Array, offset: number): boolean =>
  bytes.length >= offset + 4 && bytes[offset] === MAGIC[0] && bytes[offset + 1] === MAGIC[1] &&
  bytes[offset + 2] === MAGIC[2] && bytes[offset + 3] === MAGIC[3]

const lp = (bytes: Uint8Array): Uint8Array => {
  const n = bytes.length
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A copy (never a view, even of a Node `Buffer`, whose `slice` does not copy). */
const copy = (bytes: Uint8Array, start: number = 0, end: number = bytes.length): Uint8Array =>
  new Uint8Array(bytes.subarray(start, end))

const header = (flagBits: number, compressionByte: number, cipherByte: number): Uint8Array =>
  new Uint8Array([MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, flagBits, compressionByte, cipherByte])


const HMAC_BLOCK = 64

/**
 * HMAC-SHA256 (RFC 2104) over the provider's SHA-256, for keys of at most 64
 * bytes (here always 32): `node:crypto`'s `createHmac` costs ~18 µs per call
 * (it builds a key object), this ~2 µs.
 */
const hmac = (crypto: Crypto.Crypto["Service"], key: Uint8Array, ...data: ReadonlyArray<Uint8Array>): Uint8Array => {
  const ipad = new Uint8Array(HMAC_BLOCK).fill(0x36)
  const opad = new Uint8Array(HMAC_BLOCK).fill(0x5c)
  for (let i = 0; i < key.length; i++) {
    ipad[i] ^= key[i]
    opad[i] ^= key[i]
  }
  const inner = crypto.sha256(ipad, ...data)
  const out = crypto.sha256(opad, inner)
  ipad.fill(0)
  opad.fill(0)
  inner.fill(0)
  return out
}

/** HKDF-SHA256 (RFC 5869): extract with `salt`, expand `info` to `length` bytes. */
const hkdf = (
  crypto: Crypto.Crypto["Service"],
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number
): Uint8Array => {
  const prk = hmac(crypto, salt, ikm)
  const out = new Uint8Array(length)
  let previous: Uint8Array = new Uint8Array(0)
  for (let block = 1, at = 0; at < length; block++, at += 32) {
    const next = hmac(crypto, prk, previous, info, new Uint8Array([block]))
    previous.fill(0)
    previous = next
    out.set(next.subarray(0, Math.min(32, length - at)), at)
  }
  previous.fill(0)
  prk.fill(0)
  return out
}

const kindOfId = (id: number): Compression.Kind | undefined | null =>
  id === compression.ids.none ? undefined : id === compression.ids.lz4 ? "lz4" : id === compression.ids.zstd ? "zstd" : null

const idOfKind = (kind: Compression.Kind | undefined): number =>
  kind === undefined ? compression.ids.none : compression.ids[kind]

const offerBitsOf = (kinds: ReadonlyArray<Compression.Kind>): number => {
  let bits = 0
  for (const kind of kinds) bits |= compression.offerBits[kind]
  return bits
}

const cipherOfId = (id: number): SecureEnvelope.Cipher | null =>
  id === ciphers.ids["xchacha20-poly1305"] ? "xchacha20-poly1305" : id === ciphers.ids["aes-256-gcm"] ? "aes-256-gcm" : null

const cipherOfferBitsOf = (kinds: ReadonlyArray<SecureEnvelope.Cipher>): number => {
  let bits = 0
  for (const kind of kinds) if (kind === "aes-256-gcm") bits |= ciphers.offerBits[kind]
  return bits
}

/** The first of the server's ciphers the client offered; XChaCha20-Poly1305 when none was. */
const chooseCipher = (accepted: ReadonlyArray<SecureEnvelope.Cipher>, offered: number): SecureEnvelope.Cipher => {
  for (const kind of accepted) {
    if (kind === "xchacha20-poly1305" || (kind === "aes-256-gcm" && (offered & ciphers.offerBits[kind]) !== 0)) {
      return kind
    }
  }
  return "xchacha20-poly1305"
}

const decodeBody = (payload: Uint8Array): Result.Result<Message.Message, ProtocolError.ProtocolError> => {
  const decoded = MessageCodec.decode(payload)
  return Result.isSuccess(decoded) ? decoded : Result.fail(ProtocolError.make(
    new ProtocolError.DeserializeError({ detail: decoded.failure.message, cause: decoded.failure })
  ))
}

const encodeBody = (message: Message.Message): Uint8Array => {
  const encoded = MessageCodec.encode(message)
  // The machines only build messages with correctly sized fields.
  if (Result.isFailure(encoded)) throw encoded.failure
  return encoded.success
}

/** TH over length-prefixed parts. */
const transcript = (crypto: Crypto.Crypto["Service"], parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all: Array<Uint8Array> = [TRANSCRIPT_LABEL]
  for (const part of parts) all.push(lp(part), part)
  return crypto.sha256(...all)
}

interface Schedule {
  readonly c2sKey: Uint8Array
  readonly s2cKey: Uint8Array
  readonly c2sIv: Uint8Array
  readonly s2cIv: Uint8Array
  readonly serverFinishedKey: Uint8Array
  readonly clientFinishedKey: Uint8Array
}

/** HKDF-SHA256 over the shared secret (wiped) with the transcript hash as salt. */
const keySchedule = (crypto: Crypto.Crypto["Service"], shared: Uint8Array, th2: Uint8Array): Schedule => {
  const okm = hkdf(crypto, shared, th2, KEYS_INFO, OKM_SIZE)
  shared.fill(0)
  const schedule = {
    c2sKey: okm.slice(0, 32),
    s2cKey: okm.slice(32, 64),
    c2sIv: okm.slice(64, 80),
    s2cIv: okm.slice(80, 96),
    serverFinishedKey: okm.slice(96, 128),
    clientFinishedKey: okm.slice(128, 160)
  }
  okm.fill(0)
  return schedule
}

const wipeSchedule = (schedule: Schedule | undefined): void => {
  if (schedule === undefined) return
  schedule.c2sKey.fill(0)
  schedule.s2cKey.fill(0)
  schedule.c2sIv.fill(0)
  schedule.s2cIv.fill(0)
  schedule.serverFinishedKey.fill(0)
  schedule.clientFinishedKey.fill(0)
}

// -----------------------------------------------------------------------------
// parsing (total: never throws, whatever the input)
// -----------------------------------------------------------------------------

/**
 * Splits an Init payload: the `SecureHandshakeInit` and, when the 60-byte
 * body is followed by `NPX1`, the client hello. Bytes after the body that do
 * not start with the magic are ignored, as the crate ignores them; bytes
 * after the 8-byte client hello are ignored too (room for later versions;
 * they are part of the transcript).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseInit = (
  payload: Uint8Array
): Result.Result<Parsed<Message.Message, ClientHello>, ProtocolError.ProtocolError> => {
  const decoded = decodeBody(payload)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const message = decoded.success
  if (message._tag !== "SecureHandshakeInit" || !hasMagic(payload, INIT_BODY_SIZE)) {
    return Result.succeed({ message, extension: undefined })
  }
  const at = INIT_BODY_SIZE
  if (payload.length < at + HEADER_SIZE) return fail(errors.malformedExtension)
  const version = payload[at + 4]
  if (version < VERSION) return fail(errors.unsupportedVersion)
  return Result.succeed({
    message,
    extension: { version, flags: payload[at + 5], compression: payload[at + 6], ciphers: payload[at + 7] }
  })
}

const parseSigned = (payload: Uint8Array, at: number): SignedIdentity => ({
  publicKey: copy(payload, at, at + Identity.KEY_SIZE),
  signature: copy(payload, at + Identity.KEY_SIZE, at + IDENTITY_SIZE)
})

/**
 * Splits a Response payload: the `SecureHandshakeResponse` and, when the
 * 84-byte body is followed by `NPX1`, the server hello, which must then be
 * exactly `8 (+ 96 with an identity) + 32` bytes long.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseResponse = (
  payload: Uint8Array
): Result.Result<Parsed<Message.Message, ServerHello>, ProtocolError.ProtocolError> => {
  const decoded = decodeBody(payload)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const message = decoded.success
  if (message._tag !== "SecureHandshakeResponse" || !hasMagic(payload, RESPONSE_BODY_SIZE)) {
    return Result.succeed({ message, extension: undefined })
  }
  const at = RESPONSE_BODY_SIZE
  if (payload.length < at + HEADER_SIZE) return fail(errors.malformedExtension)
  const version = payload[at + 4]
  if (version !== VERSION) return fail(errors.unsupportedVersion)
  const flagBits = payload[at + 5]
  const chosen = kindOfId(payload[at + 6])
  const cipher = cipherOfId(payload[at + 7])
  if (chosen === null || cipher === null) return fail(errors.malformedExtension)
  const withIdentity = (flagBits & flags.serverIdentity) !== 0
  const coreLength = at + HEADER_SIZE + (withIdentity ? Identity.KEY_SIZE : 0)
  const total = at + HEADER_SIZE + (withIdentity ? IDENTITY_SIZE : 0) + FINISHED_SIZE
  if (payload.length !== total) return fail(errors.malformedExtension)
  return Result.succeed({
    message,
    extension: {
      version,
      flags: flagBits,
      compression: chosen,
      cipher,
      identity: withIdentity ? parseSigned(payload, at + HEADER_SIZE) : undefined,
      finished: copy(payload, total - FINISHED_SIZE),
      coreLength
    }
  })
}

/**
 * Splits a Confirm payload: the `SecureHandshakeConfirm` and, when the
 * 36-byte body is followed by `NPX1`, the client finish, which must then be
 * exactly `8 (+ 96 with an identity) + 32` bytes long.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseConfirm = (
  payload: Uint8Array
): Result.Result<Parsed<Message.Message, ClientFinish>, ProtocolError.ProtocolError> => {
  const decoded = decodeBody(payload)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const message = decoded.success
  if (message._tag !== "SecureHandshakeConfirm" || !hasMagic(payload, CONFIRM_BODY_SIZE)) {
    return Result.succeed({ message, extension: undefined })
  }
  const at = CONFIRM_BODY_SIZE
  if (payload.length < at + HEADER_SIZE) return fail(errors.malformedExtension)
  const version = payload[at + 4]
  if (version !== VERSION) return fail(errors.unsupportedVersion)
  const flagBits = payload[at + 5]
  const withIdentity = (flagBits & flags.clientIdentity) !== 0
  const coreLength = at + HEADER_SIZE + (withIdentity ? Identity.KEY_SIZE : 0)
  const total = at + HEADER_SIZE + (withIdentity ? IDENTITY_SIZE : 0) + FINISHED_SIZE
  if (payload.length !== total) return fail(errors.malformedExtension)
  return Result.succeed({
    message,
    extension: {
      version,
      flags: flagBits,
      identity: withIdentity ? parseSigned(payload, at + HEADER_SIZE) : undefined,
      finished: copy(payload, total - FINISHED_SIZE),
      coreLength
    }
  })
}

// -----------------------------------------------------------------------------
// client
// -----------------------------------------------------------------------------

const CLIENT_NONCE_LABEL = ascii("client_nonce")
const SERVER_NONCE_LABEL = ascii("server_nonce")

class Client extends Machine<Handshake.ClientPhase> implements ClientHandshake {
  readonly [TypeId] = TypeId
  readonly side = "client" as const
  phase: Handshake.ClientPhase = "Initial"
  private readonly crypto: Crypto.Crypto["Service"]
  private readonly options: ClientOptions
  private readonly offered: number
  private readonly offeredCiphers: number
  private secretKey: Uint8Array | undefined = undefined
  private clientNonce: Uint8Array | undefined = undefined
  private initPayload: Uint8Array | undefined = undefined

  constructor(crypto: Crypto.Crypto["Service"], options: ClientOptions) {
    super()
    this.crypto = crypto
    this.options = options
    this.offered = offerBitsOf(options.compression ?? [])
    this.offeredCiphers = cipherOfferBitsOf(options.ciphers ?? DEFAULT_CIPHERS)
  }

  readonly init = (nowMillis: number): Result.Result<Uint8Array, ProtocolError.ProtocolError> => {
    if (this.phase !== "Initial") return fail(Handshake.errors.alreadyStarted)
    const pins = Identity.pinFingerprints(this.options.pin)
    if (Result.isFailure(pins)) {
      this.phase = "Failed"
      return Result.fail(pins.failure)
    }
    if (!Number.isFinite(nowMillis) || nowMillis < 0) {
      this.phase = "Failed"
      return Result.fail(ProtocolError.make(new ProtocolError.Custom({ detail: Handshake.errors.timeWentBackwards })))
    }
    const fixed = this.options.fixed
    const pair = this.crypto.x25519KeyPair(fixed?.secretKey === undefined ? undefined : copy(fixed.secretKey))
    const nonce = fixed?.nonce === undefined ? this.crypto.randomBytes(Handshake.NONCE_SIZE) : copy(fixed.nonce)
    const body = encodeBody(Message.SecureHandshakeInit({
      pubKey: pair.publicKey,
      timestamp: BigInt(Math.floor(nowMillis)),
      nonce: copy(nonce)
    }))
    const flagBits = this.options.identity === undefined ? 0 : flags.clientIdentity
    this.secretKey = pair.secretKey
    this.clientNonce = nonce
    this.initPayload = concat(body, header(flagBits, this.offered, this.offeredCiphers))
    this.phase = "AwaitingResponse"
    return Result.succeed(copy(this.initPayload))
  }

  readonly confirm = (payload: Uint8Array): Result.Result<ClientResult, ProtocolError.ProtocolError> => {
    const secretKey = this.secretKey
    const clientNonce = this.clientNonce
    const initPayload = this.initPayload
    if (this.phase !== "AwaitingResponse" || secretKey === undefined || clientNonce === undefined || initPayload === undefined) {
      return fail(this.phase === "Initial" ? Handshake.errors.clientNonceNotFound : Handshake.errors.clientSecretNotFound)
    }
    const parsed = parseResponse(payload)
    if (Result.isFailure(parsed)) return this.failWith(parsed.failure)
    const { extension, message } = parsed.success
    if (message._tag !== "SecureHandshakeResponse") return this.fail(Handshake.errors.unexpectedResponse)
    if (!equalConstantTime(message.nonceVerification, this.crypto.sha256(clientNonce))) {
      return this.fail(Handshake.errors.serverVerification)
    }
    const pins = Identity.pinFingerprints(this.options.pin)
    if (Result.isFailure(pins)) return this.failWith(pins.failure)
    const required = this.options.require === true || pins.success.length > 0
    if (extension === undefined && required) return this.fail(errors.downgrade)
    const shared = this.crypto.x25519(secretKey, message.pubKey)
    this.wipe()
    if (shared === undefined) return this.fail(Handshake.errors.lowOrderKey)
    const confirmBody = encodeBody(
      Message.SecureHandshakeConfirm({ nonceVerification: this.crypto.sha256(message.nonce) })
    )
    if (extension === undefined) {
      const sessionKey = this.crypto.sha256(shared, CLIENT_NONCE_LABEL, clientNonce, SERVER_NONCE_LABEL, message.nonce)
      shared.fill(0)
      this.phase = "Done"
      return Result.succeed({ confirm: confirmBody, outcome: { profile: "compatible", sessionKey } })
    }
    if (extension.compression !== undefined && (this.offered & compression.offerBits[extension.compression]) === 0) {
      shared.fill(0)
      return this.fail(errors.unofferedCompression)
    }
    if (extension.cipher === "aes-256-gcm" && (this.offeredCiphers & ciphers.offerBits[extension.cipher]) === 0) {
      shared.fill(0)
      return this.fail(errors.unofferedCipher)
    }
    const th2 = transcript(this.crypto, [initPayload, payload.subarray(0, extension.coreLength)])
    const schedule = keySchedule(this.crypto, shared, th2)
    const failing = (detail: string) => {
      wipeSchedule(schedule)
      return this.fail(detail)
    }
    if (!equalConstantTime(extension.finished, hmac(this.crypto, schedule.serverFinishedKey, th2))) return failing(errors.serverFinished)
    const identity = extension.identity
    if (pins.success.length > 0) {
      if (identity === undefined) return failing(errors.serverIdentityMissing)
      if (!Identity.matchesAny(identity.publicKey, pins.success)) return failing(errors.serverIdentityMismatch)
    }
    if (identity !== undefined && !Identity.verify(identity.publicKey, concat(SERVER_CONTEXT, th2), identity.signature)) {
      return failing(errors.serverSignature)
    }
    const requested = (extension.flags & (flags.clientAuthRequested | flags.clientAuthRequired)) !== 0
    const own = requested ? this.options.identity : undefined
    if ((extension.flags & flags.clientAuthRequired) !== 0 && own === undefined) {
      return failing(errors.clientAuthUnavailable)
    }
    const confirmCore = own === undefined
      ? concat(confirmBody, header(0, 0, 0))
      : concat(confirmBody, header(flags.clientIdentity, 0, 0), own.publicKey)
    const th3 = transcript(this.crypto, [initPayload, payload, confirmCore])
    const confirm = own === undefined
      ? concat(confirmCore, hmac(this.crypto, schedule.clientFinishedKey, th3))
      : concat(confirmCore, own.sign(concat(CLIENT_CONTEXT, th3)), hmac(this.crypto, schedule.clientFinishedKey, th3))
    schedule.serverFinishedKey.fill(0)
    schedule.clientFinishedKey.fill(0)
    this.phase = "Done"
    return Result.succeed({
      confirm,
      outcome: {
        profile: "extended",
        keys: {
          sendKey: schedule.c2sKey,
          receiveKey: schedule.s2cKey,
          sendIv: schedule.c2sIv,
          receiveIv: schedule.s2cIv
        },
        cipher: extension.cipher,
        compression: extension.compression,
        peerIdentity: identity?.publicKey
      }
    })
  }

  protected wipe(): void {
    this.secretKey?.fill(0)
    this.secretKey = undefined
  }
}

// -----------------------------------------------------------------------------
// server
// -----------------------------------------------------------------------------

interface Pending {
  readonly initPayload: Uint8Array
  readonly responsePayload: Uint8Array
  readonly serverNonce: Uint8Array
  readonly schedule: Schedule
  readonly cipher: SecureEnvelope.Cipher
  readonly compression: Compression.Kind | undefined
}

class Server extends Machine<Handshake.ServerPhase> implements ServerHandshake {
  readonly [TypeId] = TypeId
  readonly side = "server" as const
  phase: Handshake.ServerPhase = "AwaitingInit"
  private readonly crypto: Crypto.Crypto["Service"]
  private readonly replayCache: ReplayCache.ReplayCache
  private readonly options: ServerOptions
  private readonly futureTolerance: bigint
  private readonly maxAge: bigint
  /** The crate's machine, when the client sent no extension. */
  private compatible: Handshake.ServerHandshake | undefined = undefined
  private pending: Pending | undefined = undefined

  constructor(crypto: Crypto.Crypto["Service"], replayCache: ReplayCache.ReplayCache, options: ServerOptions) {
    super()
    this.crypto = crypto
    this.replayCache = replayCache
    this.options = options
    this.futureTolerance = BigInt(options.futureToleranceMillis ?? Handshake.DEFAULT_FUTURE_TOLERANCE_MILLIS)
    this.maxAge = BigInt(options.maxAgeMillis ?? Handshake.DEFAULT_MAX_AGE_MILLIS)
  }

  readonly respond = (payload: Uint8Array, nowMillis: number): Result.Result<Uint8Array, ProtocolError.ProtocolError> => {
    if (this.phase !== "AwaitingInit") return fail(Handshake.errors.alreadyStarted)
    const trusted = Identity.pinFingerprints(this.options.trustedClients)
    if (Result.isFailure(trusted)) return this.failWith(trusted.failure)
    const requireAuth = this.options.requireClientAuth === true || trusted.success.length > 0
    const parsed = parseInit(payload)
    if (Result.isFailure(parsed)) return this.failWith(parsed.failure)
    const { extension, message } = parsed.success
    if (message._tag !== "SecureHandshakeInit") return this.fail(Handshake.errors.unexpectedInit)
    if (extension === undefined) {
      if (this.options.require === true || requireAuth) return this.fail(errors.extensionRequired)
      const compatible = Handshake.makeServerUnsafe(this.crypto, this.replayCache, this.options)
      this.compatible = compatible
      const response = compatible.respond(message, nowMillis)
      if (Result.isFailure(response)) return this.failWith(response.failure)
      this.phase = "AwaitingConfirm"
      return Result.succeed(encodeBody(response.success))
    }
    if (!Number.isFinite(nowMillis) || nowMillis < 0) return this.fail(Handshake.errors.staleTimestamp)
    const now = BigInt(Math.floor(nowMillis))
    if (message.timestamp > now + this.futureTolerance || now - message.timestamp > this.maxAge) {
      return this.fail(Handshake.errors.staleTimestamp)
    }
    if (this.replayCache.isReplayUnsafe(message.nonce, message.timestamp, nowMillis)) {
      return this.fail(Handshake.errors.replay)
    }
    const fixed = this.options.fixed
    const pair = this.crypto.x25519KeyPair(fixed?.secretKey === undefined ? undefined : copy(fixed.secretKey))
    const shared = this.crypto.x25519(pair.secretKey, message.pubKey)
    pair.secretKey.fill(0)
    if (shared === undefined) return this.fail(Handshake.errors.lowOrderKey)
    const serverNonce = fixed?.nonce === undefined ? this.crypto.randomBytes(Handshake.NONCE_SIZE) : copy(fixed.nonce)
    let chosen: Compression.Kind | undefined = undefined
    for (const kind of this.options.compression ?? []) {
      if ((extension.compression & compression.offerBits[kind]) !== 0) {
        chosen = kind
        break
      }
    }
    const cipher = chooseCipher(this.options.ciphers ?? DEFAULT_CIPHERS, extension.ciphers)
    const identity = this.options.identity
    const flagBits = (identity === undefined ? 0 : flags.serverIdentity) |
      (requireAuth ? flags.clientAuthRequested | flags.clientAuthRequired : 0) |
      (this.options.requestClientAuth === true ? flags.clientAuthRequested : 0)
    const body = encodeBody(Message.SecureHandshakeResponse({
      pubKey: pair.publicKey,
      nonce: copy(serverNonce),
      nonceVerification: this.crypto.sha256(message.nonce)
    }))
    const core = identity === undefined
      ? concat(body, header(flagBits, idOfKind(chosen), ciphers.ids[cipher]))
      : concat(body, header(flagBits, idOfKind(chosen), ciphers.ids[cipher]), identity.publicKey)
    const initPayload = copy(payload)
    const th2 = transcript(this.crypto, [initPayload, core])
    const schedule = keySchedule(this.crypto, shared, th2)
    const finished = hmac(this.crypto, schedule.serverFinishedKey, th2)
    schedule.serverFinishedKey.fill(0)
    const response = identity === undefined
      ? concat(core, finished)
      : concat(core, identity.sign(concat(SERVER_CONTEXT, th2)), finished)
    this.pending = { initPayload, responsePayload: response, serverNonce, schedule, cipher, compression: chosen }
    this.phase = "AwaitingConfirm"
    return Result.succeed(copy(response))
  }

  readonly finish = (payload: Uint8Array): Result.Result<Outcome, ProtocolError.ProtocolError> => {
    if (this.phase !== "AwaitingConfirm") {
      return fail(this.phase === "AwaitingInit" ? Handshake.errors.serverNonceNotFound : Handshake.errors.serverSecretNotFound)
    }
    const compatible = this.compatible
    if (compatible !== undefined) {
      const decoded = decodeBody(payload)
      if (Result.isFailure(decoded)) return this.failWith(decoded.failure)
      const key = compatible.finish(decoded.success)
      if (Result.isFailure(key)) return this.failWith(key.failure)
      this.compatible = undefined
      this.phase = "Done"
      return Result.succeed({ profile: "compatible", sessionKey: key.success })
    }
    const pending = this.pending
    if (pending === undefined) return fail(Handshake.errors.serverSecretNotFound)
    const parsed = parseConfirm(payload)
    if (Result.isFailure(parsed)) return this.failWith(parsed.failure)
    const { extension, message } = parsed.success
    if (message._tag !== "SecureHandshakeConfirm") return this.fail(Handshake.errors.unexpectedConfirm)
    if (!equalConstantTime(message.nonceVerification, this.crypto.sha256(pending.serverNonce))) {
      return this.fail(Handshake.errors.clientVerification)
    }
    if (extension === undefined) return this.fail(errors.clientFinishMissing)
    const th3 = transcript(this.crypto, [
      pending.initPayload,
      pending.responsePayload,
      payload.subarray(0, extension.coreLength)
    ])
    if (!equalConstantTime(extension.finished, hmac(this.crypto, pending.schedule.clientFinishedKey, th3))) {
      return this.fail(errors.clientFinished)
    }
    const trusted = Identity.pinFingerprints(this.options.trustedClients)
    if (Result.isFailure(trusted)) return this.failWith(trusted.failure)
    const requireAuth = this.options.requireClientAuth === true || trusted.success.length > 0
    const identity = extension.identity
    if (identity === undefined) {
      if (requireAuth) return this.fail(errors.clientIdentityMissing)
    } else {
      if (trusted.success.length > 0 && !Identity.matchesAny(identity.publicKey, trusted.success)) {
        return this.fail(errors.clientIdentityUntrusted)
      }
      if (!Identity.verify(identity.publicKey, concat(CLIENT_CONTEXT, th3), identity.signature)) {
        return this.fail(errors.clientSignature)
      }
    }
    const schedule = pending.schedule
    schedule.clientFinishedKey.fill(0)
    this.pending = undefined
    this.phase = "Done"
    return Result.succeed({
      profile: "extended",
      keys: {
        sendKey: schedule.s2cKey,
        receiveKey: schedule.c2sKey,
        sendIv: schedule.s2cIv,
        receiveIv: schedule.c2sIv
      },
      cipher: pending.cipher,
      compression: pending.compression,
      peerIdentity: identity?.publicKey
    })
  }

  protected wipe(): void {
    this.compatible?.destroy()
    this.compatible = undefined
    wipeSchedule(this.pending?.schedule)
    this.pending = undefined
  }
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * A client machine with an explicit crypto provider. Call `destroy()` if it
 * is abandoned before `confirm` (see {@link makeClient}).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClientUnsafe = (crypto: Crypto.Crypto["Service"], options: ClientOptions = {}): ClientHandshake =>
  new Client(crypto, options)

/**
 * A server machine with an explicit crypto provider and the server's shared
 * replay cache. Call `destroy()` if it is abandoned before `finish`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServerUnsafe = (
  crypto: Crypto.Crypto["Service"],
  replayCache: ReplayCache.ReplayCache,
  options: ServerOptions = {}
): ServerHandshake => new Server(crypto, replayCache, options)

/**
 * A client machine using the `Crypto` service, wiped when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClient = (
  options?: ClientOptions
): Effect.Effect<ClientHandshake, never, Crypto.Crypto | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Crypto.Crypto, (crypto) => makeClientUnsafe(crypto, options)),
    (handshake) => Effect.sync(handshake.destroy)
  )

/**
 * A server machine using the `Crypto` and `ReplayCache` services, wiped when
 * the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServer = (
  options?: ServerOptions
): Effect.Effect<ServerHandshake, never, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const crypto = yield* Crypto.Crypto
      const cache = yield* ReplayCache.ReplayCache
      return makeServerUnsafe(crypto, cache, options)
    }),
    (handshake) => Effect.sync(handshake.destroy)
  )

/**
 * Step 1 with the time from `Clock`: the Init payload.
 *
 * @category steps
 * @since 0.1.0
 */
export const init = (client: ClientHandshake): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
  Clock.clockWith((clock) => Effect.suspend(() => Effect.fromResult(client.init(clock.currentTimeMillisUnsafe()))))

/**
 * Step 2 with the time from `Clock`: the Response payload.
 *
 * @category steps
 * @since 0.1.0
 */
export const respond = (
  server: ServerHandshake,
  payload: Uint8Array
): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
  Clock.clockWith((clock) =>
    Effect.suspend(() => Effect.fromResult(server.respond(payload, clock.currentTimeMillisUnsafe())))
  )
