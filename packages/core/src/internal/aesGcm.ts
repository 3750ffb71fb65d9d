/**
 * AES-256-GCM through `node:crypto` (OpenSSL: AES-NI / VAES where the CPU has
 * them), for the extended profile's optional cipher suite
 * (`docs/PROTOCOL.md` §5.1): 32-byte key, 12-byte nonce, 16-byte tag, with the
 * same shape as `Crypto.Aead` (only the nonce size differs).
 *
 * The key is wrapped once in a `KeyObject` (`createSecretKey` copies it; the
 * caller may wipe its array at once): on Node 24 `createCipheriv` with a raw
 * key costs several times more per message. The operation itself is
 * `openSsl.ts`'s, shared with the node provider.
 *
 * @internal
 */
import * as NodeCrypto from "node:crypto"
import type * as Crypto from "../Crypto.ts"
import { checkLength } from "./bytes.ts"
import * as OpenSsl from "./openSsl.ts"

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
    if (out !== undefined) checkLength("out", out, plaintext.length + TAG_SIZE)
    return OpenSsl.seal("aes-256-gcm", secret, nonce, plaintext, aad, out)
  }

  const open = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined => {
    checkLength("nonce", nonce, NONCE_SIZE)
    if (sealed.length < TAG_SIZE) return undefined
    return OpenSsl.open("aes-256-gcm", secret, nonce, sealed, aad)
  }

  return { seal, open }
}
