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
 * @since 0.1.0
 */
import * as Context from "effect/Context"

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
   */
  readonly seal: (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array) => Uint8Array
  /**
   * Opens ciphertext ‖ tag. Returns `undefined` when authentication fails
   * (tampered, wrong key or nonce, or shorter than the tag); never throws.
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
