/**
 * The `node:crypto` provider (OpenSSL), for when `sodium-native` is missing.
 *
 * - **XChaCha20-Poly1305** = HChaCha20(key, nonce[0..16]) → per-message subkey,
 *   then IETF ChaCha20-Poly1305 (RFC 8439) with nonce `00000000 ‖ nonce[16..24]`.
 *   HChaCha20 is hand-written here (allocation-free, about twice as fast as
 *   calling noble's `hchacha`). The subkey is wrapped with
 *   `crypto.createSecretKey` before `createCipheriv`: on Node 24 a raw Buffer
 *   key makes `createCipheriv` about 5× slower. Every size goes to OpenSSL by
 *   default: creating an OpenSSL cipher costs a few microseconds per message,
 *   but measured on Node 24 it still matched or beat the pure-JS
 *   ChaCha20-Poly1305 of `@noble/ciphers` (with the same subkey) at every size
 *   from 0 bytes up (1.0–1.2× at 0–64 B, 1.4× at 128 B, 1.8× at 1 KiB). The
 *   {@link Options.nativeThreshold} option routes plaintexts shorter than a
 *   threshold to that JS path instead, for runtimes where the balance differs;
 *   both paths produce identical bytes.
 * - **X25519** with `generateKeyPairSync("x25519")` / `diffieHellman`, keys
 *   imported and exported in raw form (`raw-public` / `raw-private`), or
 *   through the fixed DER prefixes on Node versions without raw key formats.
 *   The private `KeyObject` of a freshly generated pair is remembered (keyed
 *   weakly by its `secretKey` array) until its first `x25519` call, which
 *   saves one scalar multiplication per handshake side; the bytes are checked
 *   against the array first, so a caller that changed the array gets the right
 *   answer anyway.
 * - **SHA-256** with the one-shot `crypto.hash` (inputs are concatenated in a
 *   scratch buffer when small, streamed through `createHash` otherwise).
 * - **Random bytes** from a 96 KiB pool filled by `randomFillSync`: each byte is
 *   handed out once (copied out, then zeroed in the pool) and the pool is
 *   refilled from the OS when used up.
 *
 * @since 0.1.0
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeCrypto from "node:crypto"
import * as Crypto from "./Crypto.ts"
import { checkLength, isZero } from "./internal/bytes.ts"
import * as OpenSsl from "./internal/openSsl.ts"
import { own } from "./internal/openSsl.ts"

/**
 * The default of {@link Options.nativeThreshold}: `0`, every message goes to
 * OpenSSL (measured fastest at every size on Node 24).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_NATIVE_THRESHOLD = 0

/**
 * Options of {@link makeWith}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Plaintexts of at least this many bytes are sealed and opened by OpenSSL,
   * shorter ones by the pure-JS ChaCha20-Poly1305. `0` sends everything to
   * OpenSSL, `Infinity` nothing. Default {@link DEFAULT_NATIVE_THRESHOLD}.
   */
  readonly nativeThreshold?: number | undefined
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------


/** A Buffer view of `bytes`, no copy. */
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)

const readU32 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)

const writeU32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v
  b[o + 1] = v >>> 8
  b[o + 2] = v >>> 16
  b[o + 3] = v >>> 24
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): 20 ChaCha rounds over
 * sigma ‖ key ‖ nonce[0..16], output words 0..3 and 12..15, no feed-forward.
 * `k` is the key as 8 little-endian words; the 32-byte subkey goes to `out`.
 */
const hchacha20 = (k: Uint32Array, nonce: Uint8Array, out: Uint8Array): void => {
  let x00 = 0x61707865, x01 = 0x3320646e, x02 = 0x79622d32, x03 = 0x6b206574
  let x04 = k[0], x05 = k[1], x06 = k[2], x07 = k[3]
  let x08 = k[4], x09 = k[5], x10 = k[6], x11 = k[7]
  let x12 = readU32(nonce, 0), x13 = readU32(nonce, 4), x14 = readU32(nonce, 8), x15 = readU32(nonce, 12)
  for (let round = 0; round < 20; round += 2) {
    // column rounds
    x00 = (x00 + x04) | 0, x12 ^= x00, x12 = (x12 << 16) | (x12 >>> 16)
    x08 = (x08 + x12) | 0, x04 ^= x08, x04 = (x04 << 12) | (x04 >>> 20)
    x00 = (x00 + x04) | 0, x12 ^= x00, x12 = (x12 << 8) | (x12 >>> 24)
    x08 = (x08 + x12) | 0, x04 ^= x08, x04 = (x04 << 7) | (x04 >>> 25)
    x01 = (x01 + x05) | 0, x13 ^= x01, x13 = (x13 << 16) | (x13 >>> 16)
    x09 = (x09 + x13) | 0, x05 ^= x09, x05 = (x05 << 12) | (x05 >>> 20)
    x01 = (x01 + x05) | 0, x13 ^= x01, x13 = (x13 << 8) | (x13 >>> 24)
    x09 = (x09 + x13) | 0, x05 ^= x09, x05 = (x05 << 7) | (x05 >>> 25)
    x02 = (x02 + x06) | 0, x14 ^= x02, x14 = (x14 << 16) | (x14 >>> 16)
    x10 = (x10 + x14) | 0, x06 ^= x10, x06 = (x06 << 12) | (x06 >>> 20)
    x02 = (x02 + x06) | 0, x14 ^= x02, x14 = (x14 << 8) | (x14 >>> 24)
    x10 = (x10 + x14) | 0, x06 ^= x10, x06 = (x06 << 7) | (x06 >>> 25)
    x03 = (x03 + x07) | 0, x15 ^= x03, x15 = (x15 << 16) | (x15 >>> 16)
    x11 = (x11 + x15) | 0, x07 ^= x11, x07 = (x07 << 12) | (x07 >>> 20)
    x03 = (x03 + x07) | 0, x15 ^= x03, x15 = (x15 << 8) | (x15 >>> 24)
    x11 = (x11 + x15) | 0, x07 ^= x11, x07 = (x07 << 7) | (x07 >>> 25)
    // diagonal rounds
    x00 = (x00 + x05) | 0, x15 ^= x00, x15 = (x15 << 16) | (x15 >>> 16)
    x10 = (x10 + x15) | 0, x05 ^= x10, x05 = (x05 << 12) | (x05 >>> 20)
    x00 = (x00 + x05) | 0, x15 ^= x00, x15 = (x15 << 8) | (x15 >>> 24)
    x10 = (x10 + x15) | 0, x05 ^= x10, x05 = (x05 << 7) | (x05 >>> 25)
    x01 = (x01 + x06) | 0, x12 ^= x01, x12 = (x12 << 16) | (x12 >>> 16)
    x11 = (x11 + x12) | 0, x06 ^= x11, x06 = (x06 << 12) | (x06 >>> 20)
    x01 = (x01 + x06) | 0, x12 ^= x01, x12 = (x12 << 8) | (x12 >>> 24)
    x11 = (x11 + x12) | 0, x06 ^= x11, x06 = (x06 << 7) | (x06 >>> 25)
    x02 = (x02 + x07) | 0, x13 ^= x02, x13 = (x13 << 16) | (x13 >>> 16)
    x08 = (x08 + x13) | 0, x07 ^= x08, x07 = (x07 << 12) | (x07 >>> 20)
    x02 = (x02 + x07) | 0, x13 ^= x02, x13 = (x13 << 8) | (x13 >>> 24)
    x08 = (x08 + x13) | 0, x07 ^= x08, x07 = (x07 << 7) | (x07 >>> 25)
    x03 = (x03 + x04) | 0, x14 ^= x03, x14 = (x14 << 16) | (x14 >>> 16)
    x09 = (x09 + x14) | 0, x04 ^= x09, x04 = (x04 << 12) | (x04 >>> 20)
    x03 = (x03 + x04) | 0, x14 ^= x03, x14 = (x14 << 8) | (x14 >>> 24)
    x09 = (x09 + x14) | 0, x04 ^= x09, x04 = (x04 << 7) | (x04 >>> 25)
  }
  writeU32(out, 0, x00)
  writeU32(out, 4, x01)
  writeU32(out, 8, x02)
  writeU32(out, 12, x03)
  writeU32(out, 16, x12)
  writeU32(out, 20, x13)
  writeU32(out, 24, x14)
  writeU32(out, 28, x15)
}

// ---------------------------------------------------------------------------
// random pool
// ---------------------------------------------------------------------------

// `randomFillSync` accepts at most 2^31 - 1 bytes per call.
const nodeFill = (buffer: Uint8Array): void => {
  const max = 0x7fffffff
  for (let offset = 0; offset < buffer.length; offset += max) {
    NodeCrypto.randomFillSync(buffer, offset, Math.min(max, buffer.length - offset))
  }
}

/**
 * A pool of secure random bytes that hands every byte out at most once: a
 * request is copied out of the pool and its bytes are zeroed in the pool, and
 * the pool is refilled from `fill` when what is left is too short. Requests
 * larger than `maxRequest` are filled directly. `fill` defaults to
 * `crypto.randomFillSync` (OpenSSL's CSPRNG, seeded by the OS).
 *
 * @category random
 * @since 0.1.0
 */
export class RandomPool {
  private readonly pool: Uint8Array
  private offset: number
  private readonly fill: (buffer: Uint8Array) => void
  private readonly maxRequest: number

  constructor(fill: (buffer: Uint8Array) => void = nodeFill, poolSize = 96 * 1024, maxRequest = 1024) {
    this.fill = fill
    this.pool = new Uint8Array(poolSize)
    // Filled lazily on the first request.
    this.offset = poolSize
    this.maxRequest = Math.min(maxRequest, poolSize)
  }

  /** `size` fresh random bytes in a new array. */
  take(size: number): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid random size: ${size}`)
    if (size > this.maxRequest) {
      const out = new Uint8Array(size)
      this.fill(out)
      return out
    }
    const pool = this.pool
    if (this.offset + size > pool.length) {
      this.fill(pool)
      this.offset = 0
    }
    const start = this.offset
    const end = start + size
    this.offset = end
    const out = pool.slice(start, end)
    pool.fill(0, start, end)
    return out
  }
}

// ---------------------------------------------------------------------------
// AEAD
// ---------------------------------------------------------------------------

const CIPHER = "chacha20-poly1305"

const makeAead = (nativeThreshold: number) => (key: Uint8Array): Crypto.Aead => {
  checkLength("key", key, Crypto.KEY_SIZE)
  // The key as 8 little-endian words: all HChaCha20 needs, copied so the
  // caller may wipe or reuse its buffer.
  const keyWords = new Uint32Array(8)
  for (let i = 0; i < 8; i++) keyWords[i] = readU32(key, i * 4)
  // Per-Aead scratch space (the operations are synchronous): the subkey is
  // wiped right after use, the IETF nonce holds no secret.
  const subkey = Buffer.alloc(32)
  const iv = Buffer.alloc(12)

  /** Derives the subkey and the IETF nonce for `nonce` into the scratch buffers. */
  const derive = (nonce: Uint8Array): void => {
    checkLength("nonce", nonce, Crypto.NONCE_SIZE)
    hchacha20(keyWords, nonce, subkey)
    iv.set(nonce.subarray(16, 24), 4)
  }

  const seal = (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Uint8Array => {
    const length = plaintext.length
    if (out !== undefined) checkLength("out", out, length + Crypto.TAG_SIZE)
    derive(nonce)
    if (length < nativeThreshold) {
      try {
        return chacha20poly1305(subkey, iv, aad).encrypt(plaintext, out)
      } finally {
        subkey.fill(0)
      }
    }
    const secret = NodeCrypto.createSecretKey(subkey)
    subkey.fill(0)
    return OpenSsl.seal(CIPHER, secret, iv, plaintext, aad, out)
  }

  const open = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined => {
    const length = sealed.length - Crypto.TAG_SIZE
    derive(nonce)
    if (length < 0) {
      subkey.fill(0)
      return undefined
    }
    if (length < nativeThreshold) {
      try {
        return chacha20poly1305(subkey, iv, aad).decrypt(sealed)
      } catch {
        return undefined
      } finally {
        subkey.fill(0)
      }
    }
    const secret = NodeCrypto.createSecretKey(subkey)
    subkey.fill(0)
    return OpenSsl.open(CIPHER, secret, iv, sealed, aad)
  }

  return { seal, open }
}

/**
 * Whether this runtime's `node:crypto` has `chacha20-poly1305`, which
 * {@link aead} needs.
 *
 * @category guards
 * @since 0.1.0
 */
export const isAeadSupported = (): boolean => NodeCrypto.getCiphers().includes(CIPHER)

/**
 * XChaCha20-Poly1305 bound to `key` through OpenSSL (hand-written HChaCha20 +
 * `chacha20-poly1305`), as used by this provider; exported for providers that
 * hand their large messages to OpenSSL. Requires {@link isAeadSupported}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const aead = (key: Uint8Array, options?: Options): Crypto.Aead =>
  makeAead(options?.nativeThreshold ?? DEFAULT_NATIVE_THRESHOLD)(key)

// ---------------------------------------------------------------------------
// X25519
// ---------------------------------------------------------------------------

// Fixed DER framing of X25519 keys (RFC 8410), for Node versions that do not
// know the raw key formats.
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex")
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex")

interface KeyCodec {
  readonly importPrivate: (secretKey: Uint8Array) => NodeCrypto.KeyObject
  readonly importPublic: (publicKey: Uint8Array) => NodeCrypto.KeyObject
  /** The raw secret; the caller wipes it after use. */
  readonly exportPrivate: (key: NodeCrypto.KeyObject) => Buffer
  readonly exportPublic: (key: NodeCrypto.KeyObject) => Buffer
}

const rawCodec: KeyCodec = {
  importPrivate: (secretKey) =>
    NodeCrypto.createPrivateKey({ key: asBuffer(secretKey), format: "raw-private", asymmetricKeyType: "x25519" }),
  importPublic: (publicKey) =>
    NodeCrypto.createPublicKey({ key: asBuffer(publicKey), format: "raw-public", asymmetricKeyType: "x25519" }),
  exportPrivate: (key) => key.export({ format: "raw-private" }),
  exportPublic: (key) => key.export({ format: "raw-public" })
}

const derCodec: KeyCodec = {
  importPrivate: (secretKey) => {
    const der = Buffer.alloc(PKCS8_PREFIX.length + 32)
    PKCS8_PREFIX.copy(der, 0)
    der.set(secretKey, PKCS8_PREFIX.length)
    try {
      return NodeCrypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" })
    } finally {
      der.fill(0)
    }
  },
  importPublic: (publicKey) => {
    const der = Buffer.alloc(SPKI_PREFIX.length + 32)
    SPKI_PREFIX.copy(der, 0)
    der.set(publicKey, SPKI_PREFIX.length)
    return NodeCrypto.createPublicKey({ key: der, format: "der", type: "spki" })
  },
  exportPrivate: (key) => {
    const der = key.export({ format: "der", type: "pkcs8" })
    const raw = Buffer.from(der.subarray(der.length - 32))
    der.fill(0)
    return raw
  },
  exportPublic: (key) => {
    const der = key.export({ format: "der", type: "spki" })
    return der.subarray(der.length - 32)
  }
}

/** Raw key formats when this Node supports them (Node ≥ 24.7), DER otherwise. */
const detectCodec = (): KeyCodec => {
  try {
    const pair = NodeCrypto.generateKeyPairSync("x25519")
    const raw = rawCodec.exportPublic(pair.publicKey)
    const again = rawCodec.exportPublic(rawCodec.importPublic(raw))
    return raw.length === 32 && raw.equals(again) ? rawCodec : derCodec
  } catch {
    return derCodec
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

const makeX25519 = (codec: KeyCodec) => {
  // Private KeyObjects of pairs generated here, until their first use.
  const generated = new WeakMap<Uint8Array, NodeCrypto.KeyObject>()

  const x25519KeyPair = (secretKey?: Uint8Array): Crypto.KeyPair => {
    if (secretKey !== undefined) {
      checkLength("secret key", secretKey, Crypto.KEY_SIZE)
      const privateKey = codec.importPrivate(secretKey)
      return { secretKey, publicKey: own(codec.exportPublic(NodeCrypto.createPublicKey(privateKey))) }
    }
    const pair = NodeCrypto.generateKeyPairSync("x25519")
    const raw = codec.exportPrivate(pair.privateKey)
    const sk = new Uint8Array(raw)
    raw.fill(0)
    generated.set(sk, pair.privateKey)
    return { secretKey: sk, publicKey: own(codec.exportPublic(pair.publicKey)) }
  }

  /** The remembered KeyObject for `secretKey` if it still matches its bytes. */
  const takeGenerated = (secretKey: Uint8Array): NodeCrypto.KeyObject | undefined => {
    const key = generated.get(secretKey)
    if (key === undefined) return undefined
    generated.delete(secretKey)
    const raw = codec.exportPrivate(key)
    const same = sameBytes(raw, secretKey)
    raw.fill(0)
    return same ? key : undefined
  }

  const x25519 = (secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | undefined => {
    checkLength("secret key", secretKey, Crypto.KEY_SIZE)
    if (peerPublicKey.length !== Crypto.KEY_SIZE) return undefined
    const privateKey = takeGenerated(secretKey) ?? codec.importPrivate(secretKey)
    let shared: Buffer
    try {
      // OpenSSL fails the derivation when the result is all zeros (low-order point).
      shared = NodeCrypto.diffieHellman({ privateKey, publicKey: codec.importPublic(peerPublicKey) })
    } catch {
      return undefined
    }
    if (isZero(shared)) return undefined
    return own(shared)
  }

  return { x25519KeyPair, x25519 }
}

// ---------------------------------------------------------------------------
// SHA-256
// ---------------------------------------------------------------------------

const SHA256_SCRATCH = 1024

const makeSha256 = () => {
  const scratch = Buffer.alloc(SHA256_SCRATCH)
  return (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
    if (parts.length === 1) return own(NodeCrypto.hash("sha256", parts[0], "buffer"))
    let total = 0
    for (let i = 0; i < parts.length; i++) total += parts[i].length
    if (total <= SHA256_SCRATCH) {
      let offset = 0
      for (let i = 0; i < parts.length; i++) {
        scratch.set(parts[i], offset)
        offset += parts[i].length
      }
      try {
        return own(NodeCrypto.hash("sha256", scratch.subarray(0, total), "buffer"))
      } finally {
        // The input may be key material (the session key derivation hashes the shared secret).
        scratch.fill(0, 0, total)
      }
    }
    const hash = NodeCrypto.createHash("sha256")
    for (let i = 0; i < parts.length; i++) hash.update(parts[i])
    return own(hash.digest())
  }
}

// ---------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------

/**
 * Builds the `node:crypto` provider, throwing when this runtime lacks
 * `chacha20-poly1305` or X25519 (for example a Node built without them).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: Options): Crypto.Crypto["Service"] => {
  if (!isAeadSupported()) {
    throw new Error(`node:crypto has no ${CIPHER}`)
  }
  const nativeThreshold = options?.nativeThreshold ?? DEFAULT_NATIVE_THRESHOLD
  if (!(nativeThreshold >= 0)) throw new RangeError(`invalid nativeThreshold: ${nativeThreshold}`)
  const random = new RandomPool()
  const { x25519, x25519KeyPair } = makeX25519(detectCodec())
  return Crypto.Crypto.of({
    name: "node",
    aead: makeAead(nativeThreshold),
    x25519KeyPair,
    x25519,
    sha256: makeSha256(),
    randomBytes: (size) => random.take(size)
  })
}

/**
 * Builds the `node:crypto` provider with options; fails with
 * `CryptoUnavailable` when this runtime lacks what it needs.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWith = (options?: Options): Effect.Effect<Crypto.Crypto["Service"], Crypto.CryptoUnavailable> =>
  Effect.try({
    try: () => makeUnsafe(options),
    catch: (cause) => new Crypto.CryptoUnavailable({ provider: "node", cause })
  })

/**
 * The `node:crypto` provider with default options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<Crypto.Crypto["Service"], Crypto.CryptoUnavailable> = makeWith()

/**
 * Provides `Crypto` with the `node:crypto` provider.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Crypto.Crypto, Crypto.CryptoUnavailable> = Layer.effect(Crypto.Crypto, make)
