/**
 * Uninitialised byte buffers for the hot paths (framing, sealing).
 *
 * `new Uint8Array(n)` zero-fills, and below 64 bytes V8 keeps the array in
 * its heap, from where it must be moved the first time native code (a socket
 * write, libsodium) sees it: about 600 ns per small frame on Node 24. On Node,
 * {@link allocUnsafe} is `Buffer.allocUnsafe`: small sizes are carved out of
 * a shared 8 KiB slab that already lives outside the V8 heap (about 60 ns),
 * larger ones are not zero-filled. Elsewhere it falls back to
 * `new Uint8Array`.
 *
 * Every byte of such a buffer must be written before it is read or handed out.
 *
 * @internal
 */

interface NodeBufferConstructor {
  readonly allocUnsafe: (size: number) => Uint8Array
  readonly allocUnsafeSlow: (size: number) => Uint8Array
}

const NodeBuffer: NodeBufferConstructor | undefined = (globalThis as { readonly Buffer?: NodeBufferConstructor }).Buffer

/**
 * An uninitialised buffer of `size` bytes; may be a view into a larger,
 * shared slab (use `byteOffset`, never transfer its `.buffer`). On Node it is
 * a `Buffer`: hand out plain `Uint8Array` views of it ({@link view}).
 *
 * @internal
 */
export const allocUnsafe: (size: number) => Uint8Array = NodeBuffer === undefined
  ? (size) => new Uint8Array(size)
  : NodeBuffer.allocUnsafe

/**
 * A plain `Uint8Array` over `bytes[start, start + length)` (never a `Buffer`,
 * whatever `bytes` is), sharing its memory.
 *
 * @internal
 */
export const view = (bytes: Uint8Array, start: number, length: number): Uint8Array =>
  new Uint8Array(bytes.buffer, bytes.byteOffset + start, length)

/**
 * Sizes from which {@link allocExact} skips the zero-filling (Node's pooling
 * threshold: smaller buffers are cheap to zero).
 */
const EXACT_UNSAFE_MIN = 4096

/**
 * A plain `Uint8Array` that owns a buffer of exactly `size` bytes
 * (`byteOffset` 0, nothing shared), left uninitialised from 4 KiB on when
 * running on Node.
 *
 * @internal
 */
export const allocExact = (size: number): Uint8Array => {
  if (NodeBuffer === undefined || size < EXACT_UNSAFE_MIN) return new Uint8Array(size)
  const buffer = NodeBuffer.allocUnsafeSlow(size)
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size)
}

/**
 * Throws a `RangeError` unless `bytes` has exactly `expected` bytes (a
 * programming error: wrong key, nonce or output size).
 *
 * @internal
 */
export const checkLength = (what: string, bytes: Uint8Array, expected: number): void => {
  if (bytes.length !== expected) {
    throw new RangeError(`${what} must be ${expected} bytes, got ${bytes.length}`)
  }
}

/**
 * Whether every byte is zero, in time independent of where a non-zero byte is.
 *
 * @internal
 */
export const isZero = (bytes: Uint8Array): boolean => {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]
  return acc === 0
}

/**
 * Constant-time equality of two byte arrays (their lengths are not secret).
 *
 * @internal
 */
export const equalConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}
