/**
 * The pure-JavaScript crypto provider: `@noble/ciphers` XChaCha20-Poly1305,
 * `@noble/curves` X25519 and `@noble/hashes` SHA-256, with randomness from
 * `globalThis.crypto.getRandomValues`.
 *
 * It runs anywhere (no native code, no `node:` import) and is the reference
 * the other providers are checked against; it is also the slowest (about
 * 50k seal+open of 64 bytes per second and 700 handshake sides per second on
 * the build machine). Prefer `Crypto.layerDefault`, which uses it only when
 * nothing faster loads.
 *
 * @since 0.1.0
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js"
import { x25519 as nobleX25519 } from "@noble/curves/ed25519.js"
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js"
import * as Layer from "effect/Layer"
import * as Crypto from "./Crypto.ts"
import { checkLength, isZero } from "./internal/bytes.ts"


// getRandomValues fills at most 65536 bytes per call (Web Crypto quota).
const RANDOM_CHUNK = 65536

const fillRandom = (out: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
  for (let offset = 0; offset < out.length; offset += RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(offset + RANDOM_CHUNK, out.length)))
  }
  return out
}

const randomBytes = (size: number): Uint8Array => {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid random size: ${size}`)
  return fillRandom(new Uint8Array(size))
}

const aead = (key: Uint8Array): Crypto.Aead => {
  checkLength("key", key, Crypto.KEY_SIZE)
  // A private copy: the caller may wipe or reuse its buffer.
  const ownKey = key.slice()
  return {
    seal(nonce, plaintext, aad, out) {
      checkLength("nonce", nonce, Crypto.NONCE_SIZE)
      if (out !== undefined) checkLength("out", out, plaintext.length + Crypto.TAG_SIZE)
      return xchacha20poly1305(ownKey, nonce, aad).encrypt(plaintext, out)
    },
    open(nonce, sealed, aad) {
      checkLength("nonce", nonce, Crypto.NONCE_SIZE)
      if (sealed.length < Crypto.TAG_SIZE) return undefined
      try {
        return xchacha20poly1305(ownKey, nonce, aad).decrypt(sealed)
      } catch {
        return undefined
      }
    }
  }
}

const x25519KeyPair = (secretKey?: Uint8Array): Crypto.KeyPair => {
  if (secretKey !== undefined) checkLength("secret key", secretKey, Crypto.KEY_SIZE)
  const sk = secretKey ?? randomBytes(Crypto.KEY_SIZE)
  return { secretKey: sk, publicKey: nobleX25519.getPublicKey(sk) }
}

const x25519 = (secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | undefined => {
  checkLength("secret key", secretKey, Crypto.KEY_SIZE)
  if (peerPublicKey.length !== Crypto.KEY_SIZE) return undefined
  let shared: Uint8Array
  try {
    // noble rejects the known low-order points before the ladder (throws).
    shared = nobleX25519.getSharedSecret(secretKey, peerPublicKey)
  } catch {
    return undefined
  }
  return isZero(shared) ? undefined : shared
}

const sha256 = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return nobleSha256(parts[0])
  const hash = nobleSha256.create()
  for (let i = 0; i < parts.length; i++) hash.update(parts[i])
  return hash.digest()
}

/**
 * The pure-JS provider, named `"noble"`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Crypto.Crypto["Service"] = Crypto.Crypto.of({
  name: "noble",
  aead,
  x25519KeyPair,
  x25519,
  sha256,
  randomBytes
})

/**
 * Provides `Crypto` with the pure-JS provider.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Crypto.Crypto> = Layer.succeed(Crypto.Crypto, make)
