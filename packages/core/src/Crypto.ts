/**
 * The cryptographic primitives the protocol needs, behind one service with
 * interchangeable implementations that produce identical bytes:
 * XChaCha20-Poly1305 (24-byte nonce, 16-byte tag appended), X25519 and
 * SHA-256, plus secure random bytes.
 *
 * The operations are synchronous and CPU-bound, so the service exposes plain
 * functions: look the service up once per connection, then call them on the
 * hot path without wrapping every call in an Effect.
 *
 * Implementations (all byte-identical, checked against the shared vectors):
 *
 * - `CryptoSodium` — `sodium-native` (libsodium), an optional native
 *   dependency; the fastest. Large messages go to OpenSSL (the `CryptoNode`
 *   cipher), which is faster at bulk: sealed from 64 KiB, opened from 16 KiB.
 * - `CryptoNode` — `node:crypto` (OpenSSL): X25519, SHA-256, and
 *   XChaCha20-Poly1305 as a hand-written HChaCha20 plus OpenSSL's
 *   ChaCha20-Poly1305; random bytes from a pool.
 * - `CryptoNoble` — pure JS (`@noble/*`), always available.
 *
 * {@link layerDefault} picks the first of these that loads, in that order.
 *
 * Programming errors — a key that is not 32 bytes, a nonce that is not 24
 * bytes, an `out` buffer of the wrong size, a negative random size — throw a
 * `RangeError`. Everything that depends on data from a peer (a tampered,
 * truncated or wrongly keyed message, a low-order or malformed public key)
 * returns `undefined` instead and never throws.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * XChaCha20-Poly1305 bound to one 32-byte key.
 *
 * @category models
 * @since 0.1.0
 */
export interface Aead {
  /**
   * Seals `plaintext` with a 24-byte nonce: returns ciphertext ‖ 16-byte tag.
   * When `out` is given (exactly `plaintext.length + 16` bytes, possibly a
   * view into a larger buffer) the result is written there and `out` is returned.
   * Otherwise the result may itself be a view into a larger buffer that holds
   * other sealed (never secret) bytes, as with `Buffer.allocUnsafe`: use its
   * `byteOffset`/`length`, and do not transfer its `.buffer` to a worker.
   */
  readonly seal: (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array) => Uint8Array
  /**
   * Opens ciphertext ‖ tag. Returns `undefined` when authentication fails
   * (tampered, wrong key or nonce, or shorter than the tag); never throws on
   * such input (only a nonce that is not 24 bytes, a programming error, throws
   * a `RangeError`).
   */
  readonly open: (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) => Uint8Array | undefined
}

/**
 * An X25519 key pair (32-byte secret scalar and public key).
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyPair {
  readonly secretKey: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * The crypto provider.
 *
 * @category services
 * @since 0.1.0
 */
export class Crypto extends Context.Service<Crypto, {
  /** A short name of the implementation, e.g. `"sodium-native"`, `"node"`, `"noble"`. */
  readonly name: string
  /** XChaCha20-Poly1305 with a 32-byte key. */
  readonly aead: (key: Uint8Array) => Aead
  /** A key pair: fresh random, or derived from the given 32-byte secret. */
  readonly x25519KeyPair: (secretKey?: Uint8Array) => KeyPair
  /**
   * The X25519 shared secret (RFC 7748). Returns `undefined` when the result is
   * all zeros, i.e. the peer sent a low-order public key.
   */
  readonly x25519: (secretKey: Uint8Array, peerPublicKey: Uint8Array) => Uint8Array | undefined
  /** SHA-256 of the concatenation of `parts`. */
  readonly sha256: (...parts: ReadonlyArray<Uint8Array>) => Uint8Array
  /** `size` cryptographically secure random bytes. */
  readonly randomBytes: (size: number) => Uint8Array
}>()("network-protocol/Crypto") {}

/**
 * Key size of XChaCha20-Poly1305 and X25519, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const KEY_SIZE = 32

/**
 * Nonce size of XChaCha20-Poly1305, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const NONCE_SIZE = 24

/**
 * Size of the Poly1305 tag appended to every sealed message, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const TAG_SIZE = 16

/**
 * A crypto provider could not be loaded (for example the optional native
 * dependency `sodium-native` is not installed or has no binary for this
 * platform).
 *
 * @category errors
 * @since 0.1.0
 */
export class CryptoUnavailable extends Schema.Error<CryptoUnavailable>("network-protocol/Crypto/CryptoUnavailable")({
  _tag: Schema.tag("CryptoUnavailable"),
  provider: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message() {
    return `Crypto provider unavailable: ${this.provider}`
  }
}

/**
 * The names of the built-in providers, fastest first.
 *
 * @category constants
 * @since 0.1.0
 */
export const providerNames: ReadonlyArray<string> = ["sodium-native", "node", "noble"]

const loadProvider = (
  name: string,
  load: () => Promise<{ readonly make: Effect.Effect<Crypto["Service"], CryptoUnavailable> }>
): Effect.Effect<Crypto["Service"], CryptoUnavailable> =>
  Effect.flatMap(
    Effect.tryPromise({ try: load, catch: (cause) => new CryptoUnavailable({ provider: name, cause }) }),
    (module) => module.make
  )

// The providers import this module for the `Crypto` key, so they are loaded
// lazily (which also keeps a missing native addon from breaking the import).
const loaders: ReadonlyArray<Effect.Effect<Crypto["Service"], CryptoUnavailable>> = [
  loadProvider("sodium-native", () => import("./CryptoSodium.ts")),
  loadProvider("node", () => import("./CryptoNode.ts")),
  loadProvider(
    "noble",
    () => import("./CryptoNoble.ts").then((module) => ({ make: Effect.succeed(module.make) }))
  )
]

/**
 * Every built-in provider that loads here, fastest first (`sodium-native`,
 * `node`, `noble`). Providers that fail to load are left out; `noble` is pure
 * JS and always present. Meant for benchmarks and cross-checking tests.
 *
 * @category constructors
 * @since 0.1.0
 */
export const available: Effect.Effect<ReadonlyArray<Crypto["Service"]>> = Effect.map(
  Effect.forEach(loaders, Effect.option),
  Arr.getSomes
)

/**
 * The first of `candidates` that loads, trying them in order; fails with the
 * last candidate's `CryptoUnavailable` when none does.
 *
 * @category constructors
 * @since 0.1.0
 */
export const firstAvailable = (
  candidates: ReadonlyArray<Effect.Effect<Crypto["Service"], CryptoUnavailable>>
): Effect.Effect<Crypto["Service"], CryptoUnavailable> =>
  candidates.length === 0
    ? Effect.fail(new CryptoUnavailable({ provider: "none" }))
    : candidates.slice(0, -1).reduceRight(
      (next, candidate) => Effect.catch(candidate, () => next),
      candidates[candidates.length - 1]
    )

/**
 * The fastest built-in provider that loads: `sodium-native`, else `node`,
 * else `noble`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDefault: Effect.Effect<Crypto["Service"]> = Effect.orDie(firstAvailable(loaders))

/**
 * Provides {@link Crypto} with the fastest built-in provider that loads
 * (see {@link makeDefault}). A native dependency that cannot be loaded falls
 * back to the next provider instead of failing.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerDefault: Layer.Layer<Crypto> = Layer.effect(Crypto, makeDefault)
