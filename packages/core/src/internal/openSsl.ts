/**
 * One AEAD operation through `node:crypto` (OpenSSL), shared by the node
 * provider's XChaCha20-Poly1305 (`chacha20-poly1305` with the HChaCha20
 * subkey) and the extended profile's AES-256-GCM: a 16-byte tag, the output
 * written into one exact-size buffer (Node has no "update into" API, so the
 * ciphertext is copied once from `update`).
 *
 * @internal
 */
import * as NodeCrypto from "node:crypto"
import { allocExact } from "./bytes.ts"

/**
 * The algorithms used through OpenSSL.
 *
 * @internal
 */
export type Algorithm = "chacha20-poly1305" | "aes-256-gcm"

const TAG_SIZE = 16
const OPTIONS = { authTagLength: TAG_SIZE } as const

/**
 * `buffer` as a plain `Uint8Array` (Buffer's `slice` does not copy, which
 * surprises code written for `Uint8Array`). A view when `buffer` owns its
 * memory, a copy when it sits in a shared pool.
 *
 * @internal
 */
export const own = (buffer: Buffer): Uint8Array =>
  buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length
    ? new Uint8Array(buffer.buffer, 0, buffer.length)
    : new Uint8Array(buffer)

/**
 * Ciphertext ‖ tag of `plaintext`, written into `out` (sizes already
 * checked) or a new buffer.
 *
 * @internal
 */
export const seal = (
  algorithm: Algorithm,
  key: NodeCrypto.KeyObject,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  out: Uint8Array | undefined
): Uint8Array => {
  const length = plaintext.length
  // one call per algorithm: Node's typings have an overload for each
  const cipher = algorithm === "aes-256-gcm"
    ? NodeCrypto.createCipheriv(algorithm, key, iv, OPTIONS)
    : NodeCrypto.createCipheriv(algorithm, key, iv, OPTIONS)
  if (aad !== undefined) cipher.setAAD(aad, { plaintextLength: length })
  const ciphertext = cipher.update(plaintext)
  const tail = cipher.final()
  const result = out ?? allocExact(length + TAG_SIZE)
  result.set(ciphertext, 0)
  if (tail.length > 0) result.set(tail, ciphertext.length)
  result.set(cipher.getAuthTag(), length)
  return result
}

/**
 * The plaintext of ciphertext ‖ tag (at least the tag's size), or
 * `undefined` when it does not authenticate.
 *
 * @internal
 */
export const open = (
  algorithm: Algorithm,
  key: NodeCrypto.KeyObject,
  iv: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array | undefined
): Uint8Array | undefined => {
  const length = sealed.length - TAG_SIZE
  const decipher = algorithm === "aes-256-gcm"
    ? NodeCrypto.createDecipheriv(algorithm, key, iv, OPTIONS)
    : NodeCrypto.createDecipheriv(algorithm, key, iv, OPTIONS)
  decipher.setAuthTag(sealed.subarray(length))
  if (aad !== undefined) decipher.setAAD(aad, { plaintextLength: length })
  const plaintext = decipher.update(sealed.subarray(0, length))
  try {
    decipher.final()
  } catch {
    plaintext.fill(0)
    return undefined
  }
  return own(plaintext)
}
