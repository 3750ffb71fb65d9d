/**
 * AES-256-GCM through `node:crypto` (OpenSSL: AES-NI / VAES where the CPU has
 * them), for the extended profile's optional cipher suite
 * (`docs/PROTOCOL.md` §5.1): 32-byte key, 12-byte nonce, 16-byte tag, with the
 * same shape as `Crypto.Aead` (only the nonce size differs).
 *
 * The key is wrapped once in a `KeyObject` (`createSecretKey` copies it; the
 * caller may wipe its array at once): on Node 24 `createCipheriv` with a raw
 * key costs several times more per message. Node has no "update into"
 * API, so the ciphertext is copied once from `cipher.update` into the output.
 *
 * @internal
 */
import * as NodeCrypto from "node:crypto"
import type * as Crypto from "../Crypto.ts"
import { checkLength } from "./bytes.ts"

/**
 * Size of a key.
 *
 * @internal
 */
export const KEY_SIZE = 32

/**
 * Size of a nonce (RFC 5116 `N_MIN` = `N_MAX` for AES-GCM as TLS uses it).
 *
 * @internal
 */
export const NONCE_SIZE = 12

/**
 * Size of the tag.
 *
 * @internal
 */
export const TAG_SIZE = 16

const CIPHER = "aes-256-gcm"
const OPTIONS = { authTagLength: TAG_SIZE } as const

/**
 * A plain `Uint8Array` of what OpenSSL returned: a view when the `Buffer`
 * owns its memory, a copy when it sits in Node's shared pool.
 */
const own = (buffer: Buffer): Uint8Array =>
  buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length
    ? new Uint8Array(buffer.buffer, 0, buffer.length)
    : new Uint8Array(buffer)

/**
 * AES-256-GCM bound to `key` (copied into a `KeyObject`): `seal` returns (or
 * writes into `out`, exactly `plaintext.length + 16` bytes) ciphertext ‖ tag;
 * `open` returns the plaintext or `undefined` when the input does not
 * authenticate (or is shorter than the tag). A key or nonce of the wrong size
 * throws a `RangeError`.
 *
 * @internal
 */
export const make = (key: Uint8Array): Crypto.Aead => {
  checkLength("key", key, KEY_SIZE)
  const secret = NodeCrypto.createSecretKey(key)

  const seal = (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Uint8Array => {
    checkLength("nonce", nonce, NONCE_SIZE)
    const length = plaintext.length
    if (out !== undefined) checkLength("out", out, length + TAG_SIZE)
    const cipher = NodeCrypto.createCipheriv(CIPHER, secret, nonce, OPTIONS)
    if (aad !== undefined) cipher.setAAD(aad)
    const ciphertext = cipher.update(plaintext)
    const tail = cipher.final()
    const result = out ?? new Uint8Array(length + TAG_SIZE)
    result.set(ciphertext, 0)
    if (tail.length > 0) result.set(tail, ciphertext.length)
    result.set(cipher.getAuthTag(), length)
    return result
  }

  const open = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined => {
    checkLength("nonce", nonce, NONCE_SIZE)
    const length = sealed.length - TAG_SIZE
    if (length < 0) return undefined
    const decipher = NodeCrypto.createDecipheriv(CIPHER, secret, nonce, OPTIONS)
    decipher.setAuthTag(sealed.subarray(length))
    if (aad !== undefined) decipher.setAAD(aad)
    const plaintext = decipher.update(sealed.subarray(0, length))
    try {
      decipher.final()
    } catch {
      plaintext.fill(0)
      return undefined
    }
    return own(plaintext)
  }

  return { seal, open }
}
