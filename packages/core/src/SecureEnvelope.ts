/**
 * The data frames of the extended profile (`docs/PROTOCOL.md` §4): every
 * message travels as one packet whose payload is
 *
 * ```
 * offset 0   8 bytes  sequence number n, u64 big-endian (0, 1, 2, … per direction)
 * offset 8   m bytes  AEAD(key of the direction, nonce of n, flags (1) ‖ body)
 * offset 8+m 16 bytes the tag
 * ```
 *
 * where `flags` holds the compression of `body` in its two low bits (0 none,
 * 1 LZ4, 2 Zstd; the other bits are zero) and `body` is the bincode message,
 * compressed when the negotiated algorithm made it smaller
 * (`Compression.maybeCompressAdaptive`). So a payload is 8 + 1 + |body| + 16
 * bytes (25 bytes of overhead against the compatible profile's 40).
 *
 * The AEAD is the one the handshake negotiated ({@link Cipher}):
 * XChaCha20-Poly1305 (the default, through the `Crypto` service) with the
 * 24-byte nonce `iv ‖ n` (u64 BE), or AES-256-GCM (`node:crypto`) with the
 * 12-byte nonce `iv[0..12] XOR (00000000 ‖ n)` (RFC 8446 §5.3) — in both
 * cases the IV of the direction with `n` XORed into its last 8 bytes.
 *
 * Each side sends with its own key and IV and numbers its frames from 0;
 * the receiver accepts only the next number, authenticated (the number is
 * part of the nonce). Hence:
 *
 * - a **replayed** (or duplicated) frame authenticates with a number below
 *   the expected one → `Replay`;
 * - a **reordered** frame, or one after a **dropped** frame, authenticates
 *   with a number above the expected one → `OutOfOrder`;
 * - a **reflected** frame (one this side sent, bounced back) does not
 *   authenticate under the receiving key but does under the sending key →
 *   `Reflection`;
 * - anything else that does not authenticate → `DecryptionFailure`.
 *
 * The three violations are `ProtocolError`s with a `SecurityError` reason
 * whose `cause` is an {@link IntegrityViolation} (see
 * {@link integrityViolation}). After any failure the envelope stays failed:
 * the sequence is broken, the connection must be closed.
 *
 * Decompression is bounded by `maxMessageSize` (16 MiB by default) before it
 * allocates; a frame compressed with an algorithm that was not negotiated is
 * refused.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Compression from "./Compression.ts"
import * as Crypto from "./Crypto.ts"
import type * as ExtendedHandshake from "./ExtendedHandshake.ts"
import * as Bytes from "./internal/bytes.ts"
import * as AesGcm from "./internal/aesGcm.ts"
import type * as Message from "./Message.ts"
import * as MessageCodec from "./MessageCodec.ts"
import * as Packet from "./Packet.ts"
import * as ProtocolError from "./ProtocolError.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/SecureEnvelope" as const

/**
 * Size of the sequence number in front of every frame.
 *
 * @category constants
 * @since 0.1.0
 */
export const SEQUENCE_SIZE = 8

/**
 * Size of the IV prefix of the nonce.
 *
 * @category constants
 * @since 0.1.0
 */
export const IV_SIZE = 16

/**
 * Bytes a frame adds to its body: sequence (8), flags (1), tag (16).
 *
 * @category constants
 * @since 0.1.0
 */
export const OVERHEAD = SEQUENCE_SIZE + 1 + Crypto.TAG_SIZE

/**
 * The smallest payload that can authenticate (an empty body).
 *
 * @category constants
 * @since 0.1.0
 */
export const MIN_PAYLOAD_SIZE = OVERHEAD

/**
 * The largest sequence number used; a side that reaches it stops sending
 * (`EncryptionFailure`) — 2^53 − 1 frames, centuries at any real rate.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER

/**
 * The AEAD of the data frames, negotiated by the handshake:
 * `"xchacha20-poly1305"` (the default, always available) or `"aes-256-gcm"`.
 *
 * @category models
 * @since 0.1.0
 */
export type Cipher = "xchacha20-poly1305" | "aes-256-gcm"

/**
 * The most AES blocks (16 bytes of plaintext, plus one per frame) one side
 * seals under its AES-256-GCM key: 2^36, i.e. 1 TiB per direction. Up to it the
 * advantage of an attacker against the confidentiality of AES-GCM stays below
 * 2^-57 (RFC 8446 §5.5; about 2^24.5 full-size TLS records). A side that
 * reaches it stops sending (`EncryptionFailure`): there is no rekeying, a new
 * connection gets new keys.
 *
 * @category constants
 * @since 0.1.0
 */
export const AES_GCM_MAX_BLOCKS = 2 ** 36

/**
 * The compression threshold by default: the crate's
 * `compression_threshold_bytes` default, 512 bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_COMPRESSION_THRESHOLD = 512

/**
 * The flag bits: the compression id in the two low bits.
 *
 * @category constants
 * @since 0.1.0
 */
export const FLAGS_COMPRESSION_MASK = 0x03

/**
 * The kinds of integrity violation.
 *
 * @category models
 * @since 0.1.0
 */
export type ViolationKind = "Replay" | "OutOfOrder" | "Reflection"

/**
 * An authentic frame arrived out of its place: replayed, reordered (or after
 * a dropped frame), or reflected back to its sender. The `cause` of the
 * `SecurityError` reason.
 *
 * @category errors
 * @since 0.1.0
 */
export class IntegrityViolation
  extends Schema.Error<IntegrityViolation>("network-protocol/SecureEnvelope/IntegrityViolation")({
    _tag: Schema.tag("IntegrityViolation"),
    kind: Schema.Literals(["Replay", "OutOfOrder", "Reflection"]),
    /** The sequence number the receiver expected. */
    expected: Schema.Number,
    /** The sequence number the frame carried. */
    received: Schema.Number
  })
{
  override get message() {
    const what = this.kind === "Replay"
      ? "replayed frame"
      : this.kind === "OutOfOrder"
      ? "frame out of order (reordered, or a frame was dropped)"
      : "reflected frame (sent by this side)"
    return `${what}: sequence ${this.received}, expected ${this.expected}`
  }
}

/**
 * The integrity violation behind an error, if it is one.
 *
 * @category errors
 * @since 0.1.0
 */
export const integrityViolation = (error: unknown): IntegrityViolation | undefined =>
  ProtocolError.isProtocolError(error) && error.reason._tag === "SecurityError" &&
    error.reason.cause instanceof IntegrityViolation
    ? error.reason.cause
    : undefined

/**
 * Options of an envelope.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The negotiated AEAD. Default `"xchacha20-poly1305"`. */
  readonly cipher?: Cipher | undefined
  /** The negotiated compression; `undefined` (default) for none. */
  readonly compression?: Compression.Kind | undefined
  /** The compression implementation; required when `compression` is set. */
  readonly codec?: Compression.Compression["Service"] | undefined
  /** Bodies smaller than this are never compressed. Default {@link DEFAULT_COMPRESSION_THRESHOLD}. */
  readonly compressionThreshold?: number | undefined
  /** Options of the adaptive compression (entropy cut-off, zstd level). */
  readonly adaptive?: Compression.AdaptiveOptions | undefined
  /** The largest body a compressed frame may decompress to. Default 16 MiB. */
  readonly maxMessageSize?: number | undefined
}

/**
 * The sealing and opening of one side of an extended session.
 *
 * @category models
 * @since 0.1.0
 */
export interface SecureEnvelope extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  /** Seals the next message into a packet (`SerializeError`, `EncryptionFailure`). */
  readonly seal: (message: Message.Message) => Result.Result<Packet.Packet, ProtocolError.ProtocolError>
  /**
   * Opens the next packet: `DecryptionFailure`, a `SecurityError` carrying an
   * {@link IntegrityViolation}, `DecompressionFailure` or `Serialization`;
   * never throws. Once it failed it keeps failing with the same error.
   */
  readonly open: (packet: Packet.Packet) => Result.Result<Message.Message, ProtocolError.ProtocolError>
  /** Frames sealed so far (the next sequence number sent). */
  readonly sent: number
  /** Frames opened so far (the next sequence number expected). */
  readonly received: number
  /** The negotiated AEAD. */
  readonly cipher: Cipher
  /** The negotiated compression. */
  readonly compression: Compression.Kind | undefined
  /** Whether {@link SecureEnvelope.destroy} has been called. */
  readonly destroyed: boolean
  /** Drops the ciphers; later calls fail. Idempotent. */
  readonly destroy: () => void
}

/**
 * Tells whether a value is a `SecureEnvelope`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isSecureEnvelope = (u: unknown): u is SecureEnvelope => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

const TWO_32 = 0x1_0000_0000

/**
 * Plaintexts are encoded in one buffer shared by every envelope of the
 * process (sealing is synchronous), grown on demand up to 1 MiB; bigger ones
 * get a buffer of their own.
 */
const MAX_SCRATCH_SIZE = 1024 * 1024
let scratch = new Uint8Array(4096)

const writeSequence = (out: Uint8Array, offset: number, n: number): void => {
  const hi = Math.floor(n / TWO_32)
  const lo = n >>> 0
  out[offset] = hi >>> 24
  out[offset + 1] = (hi >>> 16) & 0xff
  out[offset + 2] = (hi >>> 8) & 0xff
  out[offset + 3] = hi & 0xff
  out[offset + 4] = lo >>> 24
  out[offset + 5] = (lo >>> 16) & 0xff
  out[offset + 6] = (lo >>> 8) & 0xff
  out[offset + 7] = lo & 0xff
}

const readU32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0

const compressionId = (kind: Compression.Kind): number => kind === "lz4" ? 1 : 2

const kindOfId = (id: number): Compression.Kind | undefined => id === 1 ? "lz4" : id === 2 ? "zstd" : undefined

const decryptionFailure = () => ProtocolError.make(new ProtocolError.DecryptionFailure())

const violation = (kind: ViolationKind, expected: number, received: number) => {
  const cause = new IntegrityViolation({ kind, expected, received })
  return ProtocolError.make(new ProtocolError.SecurityError({ detail: cause.message, cause }))
}

const securityError = (detail: string) => ProtocolError.make(new ProtocolError.SecurityError({ detail }))

/**
 * The nonce of sequence number 0 for `cipher`: the 16-byte IV followed by 8
 * zero bytes (XChaCha20-Poly1305, 24 bytes), or the IV's first 12 bytes
 * (AES-256-GCM). The nonce of frame `n` is this with `n` (u64 BE) XORed into
 * its last 8 bytes ({@link setSequence}).
 */
const nonceBase = (cipher: Cipher, iv: Uint8Array): Uint8Array => {
  if (iv.length !== IV_SIZE) throw new RangeError(`an IV must be ${IV_SIZE} bytes, got ${iv.length}`)
  if (cipher === "aes-256-gcm") return iv.slice(0, AesGcm.NONCE_SIZE)
  const nonce = new Uint8Array(Crypto.NONCE_SIZE)
  nonce.set(iv, 0)
  return nonce
}

/** `nonce` ← `base` with the 8 sequence bytes `sequence[at, at + 8)` XORed into its last 8 bytes. */
const setSequence = (nonce: Uint8Array, base: Uint8Array, sequence: Uint8Array, at: number): void => {
  const offset = base.length - SEQUENCE_SIZE
  for (let i = 0; i < SEQUENCE_SIZE; i++) nonce[offset + i] = base[offset + i] ^ sequence[at + i]
}

const aeadOf = (crypto: Crypto.Crypto["Service"], cipher: Cipher, key: Uint8Array): Crypto.Aead =>
  cipher === "aes-256-gcm" ? AesGcm.make(key) : crypto.aead(key)

class SecureEnvelopeImpl implements SecureEnvelope {
  pipe() {
    return Pipeable.pipeArguments(this, arguments)
  }

  readonly [TypeId] = TypeId
  readonly cipher: Cipher
  readonly compression: Compression.Kind | undefined
  sent = 0
  received = 0
  private sendAead: Crypto.Aead | undefined
  private receiveAead: Crypto.Aead | undefined
  /** The nonces of sequence number 0. */
  private readonly sendBase: Uint8Array
  private readonly receiveBase: Uint8Array
  private readonly sendNonce: Uint8Array
  private readonly receiveNonce: Uint8Array
  /** Scratch nonce for telling a reflected frame. */
  private readonly reflectNonce: Uint8Array
  private readonly codec: Compression.Compression["Service"] | undefined
  private readonly threshold: number
  private readonly adaptive: Compression.AdaptiveOptions | undefined
  private readonly maxMessageSize: number
  private readonly compressionFlag: number
  /** The most AES blocks still allowed under the sending key (AES-256-GCM only). */
  private blocksLeft: number
  private failure: ProtocolError.ProtocolError | undefined = undefined

  constructor(crypto: Crypto.Crypto["Service"], keys: ExtendedHandshake.SessionKeys, options: Options) {
    const cipher = options.cipher ?? "xchacha20-poly1305"
    this.cipher = cipher
    this.sendBase = nonceBase(cipher, keys.sendIv)
    this.receiveBase = nonceBase(cipher, keys.receiveIv)
    this.sendNonce = this.sendBase.slice()
    this.receiveNonce = this.receiveBase.slice()
    this.reflectNonce = this.sendBase.slice()
    this.sendAead = aeadOf(crypto, cipher, keys.sendKey)
    this.receiveAead = aeadOf(crypto, cipher, keys.receiveKey)
    this.blocksLeft = cipher === "aes-256-gcm" ? AES_GCM_MAX_BLOCKS : Infinity
    this.compression = options.compression
    this.codec = options.codec
    if (this.compression !== undefined && this.codec === undefined) {
      throw new RangeError("a compression codec is needed when compression is negotiated")
    }
    this.compressionFlag = this.compression === undefined ? 0 : compressionId(this.compression)
    this.threshold = options.compressionThreshold ?? DEFAULT_COMPRESSION_THRESHOLD
    this.adaptive = options.adaptive
    this.maxMessageSize = options.maxMessageSize ?? Compression.DEFAULT_MAX_SIZE
  }

  get destroyed(): boolean {
    return this.sendAead === undefined
  }

  readonly seal = (message: Message.Message): Result.Result<Packet.Packet, ProtocolError.ProtocolError> => {
    const aead = this.sendAead
    if (aead === undefined || this.sent >= MAX_SEQUENCE) {
      return Result.fail(ProtocolError.make(new ProtocolError.EncryptionFailure()))
    }
    // flags ‖ bincode, encoded into the shared scratch space after the flags byte
    let buffer = scratch
    let end = MessageCodec.encodeInto(message, buffer, 1)
    if (end === -1) {
      const needed = 1 + MessageCodec.maxEncodedSize(message)
      if (needed <= MAX_SCRATCH_SIZE) {
        scratch = new Uint8Array(Math.min(MAX_SCRATCH_SIZE, Math.max(needed, 2 * scratch.length)))
        buffer = scratch
      } else {
        buffer = new Uint8Array(needed)
      }
      end = MessageCodec.encodeInto(message, buffer, 1)
    }
    if (typeof end !== "number") return Result.fail(end)
    let plaintext = buffer.subarray(0, end)
    plaintext[0] = 0
    const codec = this.codec
    if (this.compression !== undefined && codec !== undefined && end - 1 >= this.threshold) {
      const maybe = codec.maybeCompressAdaptive(this.compression, buffer.subarray(1, end), this.threshold, this.adaptive)
      if (maybe.compressed) {
        plaintext = new Uint8Array(1 + maybe.bytes.length)
        plaintext[0] = this.compressionFlag
        plaintext.set(maybe.bytes, 1)
      }
    }
    const blocks = ((plaintext.length + 15) >>> 4) + 1
    if (blocks > this.blocksLeft) {
      buffer.fill(0, 0, end)
      return Result.fail(ProtocolError.make(new ProtocolError.EncryptionFailure()))
    }
    this.blocksLeft -= blocks
    // every byte is written below (sequence, then ciphertext and tag)
    const payload = Bytes.allocExact(SEQUENCE_SIZE + plaintext.length + Crypto.TAG_SIZE)
    const n = this.sent
    writeSequence(payload, 0, n)
    setSequence(this.sendNonce, this.sendBase, payload, 0)
    aead.seal(this.sendNonce, plaintext, undefined, payload.subarray(SEQUENCE_SIZE))
    // the scratch space outlives the message: leave no plaintext in it
    buffer.fill(0, 0, end)
    this.sent = n + 1
    return Result.succeed(Packet.make(payload))
  }

  readonly open = (packet: Packet.Packet): Result.Result<Message.Message, ProtocolError.ProtocolError> => {
    if (this.failure !== undefined) return Result.fail(this.failure)
    const aead = this.receiveAead
    const payload = packet.payload
    if (aead === undefined || payload.length < MIN_PAYLOAD_SIZE) return this.fail(decryptionFailure())
    const expected = this.received
    const claimed = readU32(payload, 0) * TWO_32 + readU32(payload, 4)
    const nonce = this.receiveNonce
    setSequence(nonce, this.receiveBase, payload, 0)
    const sealed = payload.subarray(SEQUENCE_SIZE)
    const plaintext = aead.open(nonce, sealed)
    if (plaintext === undefined) {
      // Not ours to open: was it one of our own frames, bounced back?
      const reflect = this.reflectNonce
      setSequence(reflect, this.sendBase, payload, 0)
      const own = this.sendAead?.open(reflect, sealed)
      if (own !== undefined) {
        own.fill(0)
        return this.fail(violation("Reflection", expected, claimed))
      }
      return this.fail(decryptionFailure())
    }
    if (claimed !== expected) {
      plaintext.fill(0)
      return this.fail(violation(claimed < expected ? "Replay" : "OutOfOrder", expected, claimed))
    }
    const flag = plaintext[0]
    if ((flag & ~FLAGS_COMPRESSION_MASK) !== 0) return this.fail(securityError(`unknown envelope flags 0x${flag.toString(16)}`))
    let body = plaintext.subarray(1)
    if (flag !== 0) {
      const kind = kindOfId(flag)
      const codec = this.codec
      if (kind === undefined || kind !== this.compression || codec === undefined) {
        return this.fail(securityError(`frame compressed with an algorithm that was not negotiated (id ${flag})`))
      }
      const decompressed = codec.decompress(kind, body, this.maxMessageSize)
      if (Result.isFailure(decompressed)) return this.fail(decompressed.failure)
      body = decompressed.success
    }
    const decoded = MessageCodec.decode(body)
    if (Result.isFailure(decoded)) return this.fail(decoded.failure)
    this.received = expected + 1
    return decoded
  }

  readonly destroy = (): void => {
    this.sendAead = undefined
    this.receiveAead = undefined
    this.sendBase.fill(0)
    this.receiveBase.fill(0)
    this.sendNonce.fill(0)
    this.receiveNonce.fill(0)
    this.reflectNonce.fill(0)
  }

  private fail(error: ProtocolError.ProtocolError): Result.Result<never, ProtocolError.ProtocolError> {
    this.failure = error
    return Result.fail(error)
  }
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * An envelope for one side of a session, with an explicit crypto provider.
 * The keys are not kept (the ciphers take their own copies; the IVs are
 * copied): the caller may wipe them as soon as this returns. Throws a
 * `RangeError` for keys or IVs of the wrong size, or a compression without a
 * codec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (
  crypto: Crypto.Crypto["Service"],
  keys: ExtendedHandshake.SessionKeys,
  options: Options = {}
): SecureEnvelope => new SecureEnvelopeImpl(crypto, keys, options)

/**
 * An envelope using the `Crypto` service, destroyed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  keys: ExtendedHandshake.SessionKeys,
  options?: Options
): Effect.Effect<SecureEnvelope, never, Crypto.Crypto | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Crypto.Crypto, (crypto) => makeUnsafe(crypto, keys, options)),
    (envelope) => Effect.sync(envelope.destroy)
  )
