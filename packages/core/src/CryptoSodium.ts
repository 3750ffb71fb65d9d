/**
 * The libsodium provider, through the optional native dependency
 * `sodium-native` (prebuilt binaries ship inside its npm package): the
 * fastest here — 10× or more the pure-JS provider for small messages and
 * 20–30× for X25519.
 *
 * - XChaCha20-Poly1305: `crypto_aead_xchacha20poly1305_ietf_encrypt` /
 *   `_decrypt`, writing straight into the caller's `out` when given. Large
 *   messages go to OpenSSL through `CryptoNode.aead` instead (when
 *   `node:crypto` has ChaCha20-Poly1305): plaintexts of
 *   {@link DEFAULT_BULK_THRESHOLDS} `seal` bytes (64 KiB) and more are sealed,
 *   and of `open` bytes (16 KiB) and more opened, by OpenSSL. libsodium's
 *   fixed cost per message is far lower (no cipher object, no subkey import),
 *   but OpenSSL's ChaCha20-Poly1305 streams faster, so it wins from a
 *   crossover size on, which is lower for opening: both produce an opened
 *   plaintext in a fresh buffer, but libsodium seals straight into `out`
 *   while OpenSSL (whose `update` always returns a new buffer) pays an
 *   allocation and a copy. See {@link Options.bulkThreshold} for the measured
 *   ratios. The bytes are the same either way.
 * - X25519: `crypto_scalarmult_base` / `crypto_scalarmult` (libsodium refuses
 *   the known low-order points and an all-zero result).
 * - SHA-256: `crypto_hash_sha256` (several parts are concatenated in a scratch
 *   buffer when small, streamed through `crypto_hash_sha256_init/update/final`
 *   otherwise).
 * - Random bytes: `CryptoNode.RandomPool` (filled by `crypto.randomFillSync`,
 *   faster than `randombytes_buf` for a large pool), each byte handed out once.
 *
 * The addon is loaded when {@link make} runs, not when this module is
 * imported, and a failure to load (not installed, no binary for this
 * platform, wrong ABI) is a `CryptoUnavailable` failure.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createRequire } from "node:module"
import * as Crypto from "./Crypto.ts"
import { allocExact, checkLength, isZero } from "./internal/bytes.ts"
import * as CryptoNode from "./CryptoNode.ts"

/**
 * The part of the `sodium-native` API this provider uses.
 *
 * @category models
 * @since 0.1.0
 */
export interface SodiumNative {
  readonly crypto_aead_xchacha20poly1305_ietf_encrypt: (
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array
  ) => number
  readonly crypto_aead_xchacha20poly1305_ietf_decrypt: (
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array
  ) => number
  readonly crypto_scalarmult_base: (q: Uint8Array, n: Uint8Array) => void
  readonly crypto_scalarmult: (q: Uint8Array, n: Uint8Array, p: Uint8Array) => void
  readonly crypto_hash_sha256: (out: Uint8Array, input: Uint8Array) => void
  readonly crypto_hash_sha256_init: (state: Uint8Array) => void
  readonly crypto_hash_sha256_update: (state: Uint8Array, input: Uint8Array) => void
  readonly crypto_hash_sha256_final: (state: Uint8Array, out: Uint8Array) => void
  readonly crypto_hash_sha256_STATEBYTES: number
}

const FUNCTIONS = [
  "crypto_aead_xchacha20poly1305_ietf_encrypt",
  "crypto_aead_xchacha20poly1305_ietf_decrypt",
  "crypto_scalarmult_base",
  "crypto_scalarmult",
  "crypto_hash_sha256",
  "crypto_hash_sha256_init",
  "crypto_hash_sha256_update",
  "crypto_hash_sha256_final"
] as const

const isSodiumNative = (u: unknown): u is SodiumNative => {
  if (typeof u !== "object" || u === null) return false
  const record = u as Record<string, unknown>
  return FUNCTIONS.every((name) => typeof record[name] === "function") &&
    typeof record.crypto_hash_sha256_STATEBYTES === "number"
}


const SHA256_SCRATCH = 1024
// V8 keeps typed arrays of up to 64 bytes inside its heap and must move them
// out (allocating a backing store) the first time native code sees them,
// which costs more than sealing 64 bytes. Inputs this small are copied into
// reused scratch space instead, and small results are produced there and
// copied out (a fresh small array that stays in the heap is cheap).
const SMALL = 64
// Sealed outputs up to SLAB_MAX bytes are carved out of a shared slab.
const SLAB_SIZE = 16 * 1024
const SLAB_MAX = 1024

/** A zeroed array whose memory lives outside the V8 heap from the start. */
const offHeap = (size: number): Uint8Array => new Uint8Array(new ArrayBuffer(size))

/**
 * The plaintext sizes from which {@link fromModule} hands messages to OpenSSL,
 * one for sealing and one for opening: plaintexts of at least `seal` bytes are
 * sealed, and of at least `open` bytes opened, by OpenSSL's
 * ChaCha20-Poly1305 rather than libsodium. `Infinity` keeps that operation in
 * libsodium, `0` sends every size to OpenSSL.
 *
 * @category models
 * @since 0.1.0
 */
export interface BulkThresholds {
  readonly seal: number
  readonly open: number
}

/**
 * The default {@link BulkThresholds}: sealing from 64 KiB, opening from
 * 16 KiB (the measured crossovers, rounded up; see {@link Options.bulkThreshold}).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_BULK_THRESHOLDS: BulkThresholds = { seal: 64 * 1024, open: 16 * 1024 }

/**
 * Options of {@link fromModule} and {@link load}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Where messages go to OpenSSL (`node:crypto`) rather than libsodium: one
   * size for both operations, or one each ({@link BulkThresholds});
   * `Infinity` keeps everything in libsodium. Default
   * {@link DEFAULT_BULK_THRESHOLDS}.
   *
   * OpenSSL's speed over libsodium's, medians of per-round ratios of
   * interleaved rounds (Node 24.21, OpenSSL 3.5, sodium-native 5.1, a noisy
   * 2-vCPU x86-64 VM with AVX-512; rerun with `packages/bench/src/crypto.ts`):
   *
   * | plaintext      | 8 KiB | 12 KiB | 16 KiB | 32 KiB | 48 KiB | 64 KiB | 1 MiB |
   * |----------------|-------|--------|--------|--------|--------|--------|-------|
   * | seal into out  | 0.57  | 0.69   | 0.72   | 0.85   | 1.01   | 1.09   | 1.38  |
   * | open           | 0.74  | 1.00   | 1.04   | 1.43   | 1.22   | 1.41   | 1.95  |
   */
  readonly bulkThreshold?: number | BulkThresholds | undefined
}

const checkThreshold = (what: string, threshold: number): number => {
  if (!(threshold >= 0)) throw new RangeError(`invalid bulkThreshold.${what}: ${threshold}`)
  return threshold
}

/**
 * Builds the provider over an already loaded `sodium-native` module.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromModule = (sodium: SodiumNative, options?: Options): Crypto.Crypto["Service"] => {
  const requested = options?.bulkThreshold ?? DEFAULT_BULK_THRESHOLDS
  const bulk = typeof requested === "number" ? { seal: requested, open: requested } : requested
  const openSslAead = CryptoNode.isAeadSupported()
  const sealThreshold = openSslAead ? checkThreshold("seal", bulk.seal) : Infinity
  const openThreshold = openSslAead ? checkThreshold("open", bulk.open) : Infinity
  const encrypt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt
  const decrypt = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt
  // The pool is filled by OpenSSL's user-space CSPRNG: libsodium's
  // `randombytes_buf` reads the OS in 256-byte system calls, which made nonce
  // generation 2× slower (both are cryptographically secure).
  const random = new CryptoNode.RandomPool()

  // Scratch space (the operations are synchronous); anything secret copied
  // in is wiped right after use.
  const nonceScratch = offHeap(Crypto.NONCE_SIZE)
  const inputScratch = offHeap(SMALL)
  const aadScratch = offHeap(SMALL)
  const outputScratch = offHeap(SMALL)
  const small = (bytes: Uint8Array, scratch: Uint8Array): Uint8Array => {
    if (bytes.length > SMALL) return bytes
    scratch.set(bytes)
    return scratch.subarray(0, bytes.length)
  }
  const smallAad = (aad: Uint8Array | undefined): Uint8Array | null =>
    aad === undefined ? null : small(aad, aadScratch)
  const nonceOf = (nonce: Uint8Array): Uint8Array => {
    checkLength("nonce", nonce, Crypto.NONCE_SIZE)
    nonceScratch.set(nonce)
    return nonceScratch
  }

  // Sealed outputs (public bytes only) are carved out of a shared slab, like
  // `Buffer.allocUnsafe` does; a slab is dropped once no result uses it.
  let slab = new Uint8Array(SLAB_SIZE)
  let slabOffset = 0
  const allocSealed = (length: number): Uint8Array => {
    if (length > SLAB_MAX) return allocExact(length)
    if (slabOffset + length > SLAB_SIZE) {
      slab = new Uint8Array(SLAB_SIZE)
      slabOffset = 0
    }
    const view = slab.subarray(slabOffset, slabOffset + length)
    slabOffset = (slabOffset + length + 7) & ~7
    return view
  }

  // One object per key, its methods shared by all keys of this provider.
  class SodiumAead implements Crypto.Aead {
    /** A private copy (outside the V8 heap): the caller may wipe or reuse its buffer. */
    readonly key: Uint8Array
    /** Made with the first large message: most connections never need it. */
    private openSsl: Crypto.Aead | undefined = undefined

    constructor(key: Uint8Array) {
      this.key = offHeap(Crypto.KEY_SIZE)
      this.key.set(key)
    }

    private bulk(): Crypto.Aead {
      return this.openSsl ??= CryptoNode.aead(this.key)
    }

    seal(nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Uint8Array {
      const length = plaintext.length
      if (length >= sealThreshold) return this.bulk().seal(nonce, plaintext, aad, out)
      const npub = nonceOf(nonce)
      let result: Uint8Array
      if (out === undefined) {
        result = allocSealed(length + Crypto.TAG_SIZE)
      } else {
        checkLength("out", out, length + Crypto.TAG_SIZE)
        result = out
      }
      encrypt(result, small(plaintext, inputScratch), smallAad(aad), null, npub, this.key)
      if (length <= SMALL) inputScratch.fill(0, 0, length)
      return result
    }

    open(nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined {
      const length = sealed.length - Crypto.TAG_SIZE
      if (length >= openThreshold) return this.bulk().open(nonce, sealed, aad)
      const npub = nonceOf(nonce)
      if (length < 0) return undefined
      const input = small(sealed, inputScratch)
      const target = length <= SMALL ? outputScratch.subarray(0, length) : allocExact(length)
      try {
        // sodium-native throws when the tag does not verify.
        decrypt(target, null, input, smallAad(aad), npub, this.key)
      } catch {
        return undefined
      }
      if (length > SMALL) return target
      const plaintext = target.slice()
      target.fill(0)
      return plaintext
    }
  }

  const aead = (key: Uint8Array): Crypto.Aead => {
    checkLength("key", key, Crypto.KEY_SIZE)
    return new SodiumAead(key)
  }

  const x25519KeyPair = (secretKey?: Uint8Array): Crypto.KeyPair => {
    if (secretKey !== undefined) checkLength("secret key", secretKey, Crypto.KEY_SIZE)
    const sk = secretKey ?? random.take(Crypto.KEY_SIZE)
    const publicKey = new Uint8Array(Crypto.KEY_SIZE)
    sodium.crypto_scalarmult_base(publicKey, sk)
    return { secretKey: sk, publicKey }
  }

  const x25519 = (secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | undefined => {
    checkLength("secret key", secretKey, Crypto.KEY_SIZE)
    if (peerPublicKey.length !== Crypto.KEY_SIZE) return undefined
    const shared = new Uint8Array(Crypto.KEY_SIZE)
    try {
      // libsodium fails (sodium-native throws) on low-order points / an all-zero result.
      sodium.crypto_scalarmult(shared, secretKey, peerPublicKey)
    } catch {
      return undefined
    }
    return isZero(shared) ? undefined : shared
  }

  const hashScratch = new Uint8Array(SHA256_SCRATCH)
  const digestScratch = offHeap(32)
  const state = new Uint8Array(sodium.crypto_hash_sha256_STATEBYTES)
  const sha256 = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
    let total = 0
    for (let i = 0; i < parts.length; i++) total += parts[i].length
    if (total <= SHA256_SCRATCH) {
      let offset = 0
      for (let i = 0; i < parts.length; i++) {
        hashScratch.set(parts[i], offset)
        offset += parts[i].length
      }
      sodium.crypto_hash_sha256(digestScratch, hashScratch.subarray(0, total))
      // The input may be key material (the session key derivation hashes the shared secret).
      hashScratch.fill(0, 0, total)
    } else if (parts.length === 1) {
      sodium.crypto_hash_sha256(digestScratch, parts[0])
    } else {
      sodium.crypto_hash_sha256_init(state)
      for (let i = 0; i < parts.length; i++) sodium.crypto_hash_sha256_update(state, parts[i])
      sodium.crypto_hash_sha256_final(state, digestScratch)
      state.fill(0)
    }
    const digest = digestScratch.slice()
    digestScratch.fill(0)
    return digest
  }

  return Crypto.Crypto.of({
    name: "sodium-native",
    aead,
    x25519KeyPair,
    x25519,
    sha256,
    randomBytes: (size) => random.take(size)
  })
}

/**
 * Loads the CommonJS module `moduleName` (default `"sodium-native"`) and builds
 * the provider over it; fails with `CryptoUnavailable` when it cannot be
 * loaded or does not look like `sodium-native`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const load = (
  moduleName = "sodium-native",
  options?: Options
): Effect.Effect<Crypto.Crypto["Service"], Crypto.CryptoUnavailable> =>
  Effect.try({
    try: () => {
      const module: unknown = createRequire(import.meta.url)(moduleName)
      if (!isSodiumNative(module)) throw new Error(`${moduleName} does not provide the sodium-native API`)
      return fromModule(module, options)
    },
    catch: (cause) => new Crypto.CryptoUnavailable({ provider: "sodium-native", cause })
  })

/**
 * The `sodium-native` provider; fails with `CryptoUnavailable` when the
 * optional dependency cannot be loaded.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<Crypto.Crypto["Service"], Crypto.CryptoUnavailable> = load()

/**
 * Provides `Crypto` with the `sodium-native` provider.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Crypto.Crypto, Crypto.CryptoUnavailable> = Layer.effect(Crypto.Crypto, make)
