/**
 * The LZ4 *block* format (not the frame format), hand-written in TypeScript:
 * a compressor in the style of liblz4's fast mode (acceleration 1) and a
 * decompressor that is safe on hostile input.
 *
 * A block is a sequence of `token ‖ [literal length bytes] ‖ literals ‖
 * offset (u16 LE) ‖ [match length bytes]`, closed by a sequence that has
 * literals only. The compressor follows the format's end-of-block rules, so
 * that strict decoders (C liblz4's `LZ4_decompress_safe`) accept its output
 * as well as lenient ones (Rust `lz4_flex`):
 *
 * - the last 5 bytes of the input are always literals;
 * - the last match starts at least 12 bytes before the end of the input;
 * - an input shorter than 13 bytes is one literals-only sequence.
 *
 * The decompressor checks every read against the input and every write
 * against the output it is given, rejects match offsets of 0 or pointing
 * before the start of the output, and allocates nothing beyond the output the
 * caller sized. Errors are returned as negative codes, not thrown.
 *
 * Both directions are synchronous and allocation-light: the compressor reuses
 * one module-level hash table of up to 16,384 positions (sized to the input,
 * hashing 4 bytes below 8 KiB and 5 above) and a scratch buffer — the
 * functions are not re-entrant, which is fine on a single JavaScript thread —
 * and the decompressor allocates nothing. Output is deterministic.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"

const MIN_MATCH = 4
const LAST_LITERALS = 5
const MF_LIMIT = 12
const MAX_OFFSET = 65535
const SKIP_TRIGGER = 6
const MIN_HASH_LOG = 8
const MAX_HASH_LOG = 14
const HASH5_FROM = 8192
const PRIME = -1640531535 // 2654435761 as an int32 (Knuth's multiplicative hash)
const PRIME5 = 0x2f0f1ca5
const COPY_LOOP_MAX = 16
const LITERAL_LOOP_MAX = 32
const MATCH_LOOP_MAX = 64

const hashTable = new Int32Array(1 << MAX_HASH_LOG)

/**
 * The largest size a compressed block can have for an input of `inputSize`
 * bytes (liblz4's `LZ4_COMPRESSBOUND`).
 *
 * @category constants
 * @since 0.1.0
 */
export const compressBound = (inputSize: number): number => inputSize + Math.floor(inputSize / 255) + 16

const read32 = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)

/**
 * Hash of the 4 bytes at `i`, mixed with the 5th when `fifth` is non-zero.
 * Hashing 5 bytes keeps better candidates on large inputs (liblz4 and
 * lz4_flex do the same); 4 bytes is better on small ones. Measured on
 * JSON-like text, 5 bytes wins above 8 KiB.
 */
const hashAt = (b: Uint8Array, i: number, fifth: number, shift: number): number =>
  (Math.imul(read32(b, i), PRIME) ^ Math.imul(b[i + 4], fifth)) >>> shift

const copyBytes = (src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void => {
  const n = to - from
  if (n < COPY_LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i]
  } else {
    dst.set(src.subarray(from, to), at)
  }
}

/** Writes the extra length bytes of a length ≥ 15 (already minus 15) and returns the new output position. */
const writeLength = (out: Uint8Array, op: number, length: number): number => {
  while (length >= 255) {
    out[op++] = 255
    length -= 255
  }
  out[op++] = length
  return op
}

/**
 * Compresses `input` into `output` starting at `outputOffset` and returns the
 * position just after the last byte written. `output` must have room for
 * {@link compressBound}`(input.length)` bytes from `outputOffset`, else a
 * `RangeError` is thrown before anything is written.
 *
 * @category compression
 * @since 0.1.0
 */
export const compressInto = (input: Uint8Array, output: Uint8Array, outputOffset: number = 0): number => {
  const n = input.length
  if (outputOffset < 0 || output.length - outputOffset < compressBound(n)) {
    throw new RangeError(`LZ4 output needs ${compressBound(n)} bytes, has ${output.length - outputOffset}`)
  }
  let op = outputOffset
  let anchor = 0

  if (n > MF_LIMIT) {
    // Positions where a match may start: 0..mfLimit (inclusive); matches end at or before matchLimit.
    const mfLimit = n - MF_LIMIT
    const matchLimit = n - LAST_LITERALS
    let hashLog = 32 - Math.clz32(n - 1)
    if (hashLog < MIN_HASH_LOG) hashLog = MIN_HASH_LOG
    else if (hashLog > MAX_HASH_LOG) hashLog = MAX_HASH_LOG
    const shift = 32 - hashLog
    const fifth = n > HASH5_FROM ? PRIME5 : 0
    const table = hashTable
    table.fill(0, 0, 1 << hashLog)

    // Position 0 is in the table already: it was cleared to zeros.
    let ip = 1
    let forwardH = hashAt(input, ip, fifth, shift)

    search: for (;;) {
      // Find a match, skipping faster the longer nothing is found.
      let forwardIp = ip
      let step = 1
      let attempts = 1 << SKIP_TRIGGER
      let ref = 0
      for (;;) {
        const h = forwardH
        ip = forwardIp
        forwardIp += step
        step = attempts++ >>> SKIP_TRIGGER
        if (forwardIp > mfLimit + 1) break search
        ref = table[h]
        forwardH = hashAt(input, forwardIp, fifth, shift)
        table[h] = ip
        const offset = ip - ref
        if (offset > 0 && offset <= MAX_OFFSET && read32(input, ref) === read32(input, ip)) break
      }

      // Extend the match backwards over pending literals.
      while (ip > anchor && ref > 0 && input[ip - 1] === input[ref - 1]) {
        ip--
        ref--
      }

      // Literals.
      const literals = ip - anchor
      let token = op++
      if (literals >= 15) {
        output[token] = 0xf0
        op = writeLength(output, op, literals - 15)
      } else {
        output[token] = literals << 4
      }
      copyBytes(input, anchor, ip, output, op)
      op += literals

      for (;;) {
        // Offset and match length.
        const offset = ip - ref
        output[op++] = offset & 0xff
        output[op++] = offset >>> 8
        let mp = ip + MIN_MATCH
        let rp = ref + MIN_MATCH
        while (mp < matchLimit && input[mp] === input[rp]) {
          mp++
          rp++
        }
        const matchLength = mp - ip - MIN_MATCH
        if (matchLength >= 15) {
          output[token] |= 0x0f
          op = writeLength(output, op, matchLength - 15)
        } else {
          output[token] |= matchLength
        }
        ip = mp
        anchor = ip
        if (ip > mfLimit) break search

        table[hashAt(input, ip - 2, fifth, shift)] = ip - 2

        // Try an immediate next match (a sequence with no literals).
        const h = hashAt(input, ip, fifth, shift)
        ref = table[h]
        table[h] = ip
        const next = ip - ref
        if (next > 0 && next <= MAX_OFFSET && read32(input, ref) === read32(input, ip)) {
          token = op++
          output[token] = 0
          continue
        }
        break
      }
      ip++
      forwardH = hashAt(input, ip, fifth, shift)
    }
  }

  // The last sequence: literals only.
  const literals = n - anchor
  if (literals >= 15) {
    output[op++] = 0xf0
    op = writeLength(output, op, literals - 15)
  } else {
    output[op++] = literals << 4
  }
  copyBytes(input, anchor, n, output, op)
  return op + literals
}

let scratch = new Uint8Array(0)
const SCRATCH_MAX = 1 << 20

/**
 * Compresses `input` into a new block of exactly the compressed size (for
 * inputs over about 1 MiB, possibly a view wasting at most 1/8 of its buffer).
 *
 * @category compression
 * @since 0.1.0
 */
export const compress = (input: Uint8Array): Uint8Array => compressWithPrefix(input, 0)

/**
 * Compresses `input` into a new array of `prefix + compressed size` bytes,
 * leaving the first `prefix` bytes zero for the caller to fill (e.g. a size
 * prefix). Small inputs are compressed into a reused scratch buffer and copied
 * out, so the only allocation is the exact-size result.
 *
 * @category compression
 * @since 0.1.0
 */
export const compressWithPrefix = (input: Uint8Array, prefix: number): Uint8Array => {
  const bound = compressBound(input.length)
  if (bound > SCRATCH_MAX) {
    const out = new Uint8Array(prefix + bound)
    const end = compressInto(input, out, prefix)
    // Keep the result only when it wastes little; otherwise copy to the exact size.
    return end >= out.length - (out.length >>> 3) ? out.subarray(0, end) : out.slice(0, end)
  }
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, 4096))
  const length = compressInto(input, scratch, 0)
  const out = new Uint8Array(prefix + length)
  copyBytes(scratch, 0, length, out, prefix)
  return out
}

/**
 * The input ends inside a sequence (or right after a match, where a final
 * literals-only sequence must follow).
 *
 * @category errors
 * @since 0.1.0
 */
export const ERROR_TRUNCATED = -1

/**
 * The block decodes to more bytes than the output can hold.
 *
 * @category errors
 * @since 0.1.0
 */
export const ERROR_OUTPUT_OVERFLOW = -2

/**
 * A match has offset 0.
 *
 * @category errors
 * @since 0.1.0
 */
export const ERROR_ZERO_OFFSET = -3

/**
 * A match points before the start of the output.
 *
 * @category errors
 * @since 0.1.0
 */
export const ERROR_OFFSET_OUT_OF_RANGE = -4

/**
 * The text of a negative code returned by {@link decompressInto}.
 *
 * @category errors
 * @since 0.1.0
 */
export const errorMessage = (code: number): string => {
  switch (code) {
    case ERROR_TRUNCATED:
      return "LZ4 block is truncated"
    case ERROR_OUTPUT_OVERFLOW:
      return "LZ4 block decodes to more bytes than expected"
    case ERROR_ZERO_OFFSET:
      return "LZ4 block has a match offset of 0"
    case ERROR_OFFSET_OUT_OF_RANGE:
      return "LZ4 block has a match offset before the start of the output"
    default:
      return code >= 0 ? "no error" : `LZ4 error ${code}`
  }
}

/**
 * Decodes the block `input` into `output` and returns the number of bytes
 * written, or a negative error code (see {@link errorMessage}). Never writes
 * outside `output`, never reads outside `input`, never throws, never
 * allocates. Pass subarrays to decode a range.
 *
 * The whole of `input` must be one block: it must end with a literals-only
 * sequence, as every conforming encoder (and `lz4_flex`'s decoder) requires.
 *
 * @category decompression
 * @since 0.1.0
 */
export const decompressInto = (input: Uint8Array, output: Uint8Array): number => {
  const inEnd = input.length
  const outEnd = output.length
  let ip = 0
  let op = 0
  for (;;) {
    if (ip >= inEnd) return ERROR_TRUNCATED
    const token = input[ip++]

    // Literals.
    let literals = token >>> 4
    if (literals !== 0) {
      if (literals === 15) {
        let b = 255
        while (b === 255) {
          if (ip >= inEnd) return ERROR_TRUNCATED
          b = input[ip++]
          literals += b
        }
      }
      if (literals > inEnd - ip) return ERROR_TRUNCATED
      if (literals > outEnd - op) return ERROR_OUTPUT_OVERFLOW
      if (literals < LITERAL_LOOP_MAX) {
        const end = ip + literals
        while (ip < end) output[op++] = input[ip++]
      } else {
        output.set(input.subarray(ip, ip + literals), op)
        ip += literals
        op += literals
      }
    }
    if (ip === inEnd) return op

    // Match.
    if (inEnd - ip < 2) return ERROR_TRUNCATED
    const offset = input[ip] | (input[ip + 1] << 8)
    ip += 2
    if (offset === 0) return ERROR_ZERO_OFFSET
    if (offset > op) return ERROR_OFFSET_OUT_OF_RANGE
    let length = (token & 0x0f) + MIN_MATCH
    if (length === 15 + MIN_MATCH) {
      let b = 255
      while (b === 255) {
        if (ip >= inEnd) return ERROR_TRUNCATED
        b = input[ip++]
        length += b
      }
    }
    if (length > outEnd - op) return ERROR_OUTPUT_OVERFLOW
    let ref = op - offset
    if (length < MATCH_LOOP_MAX) {
      // Forward byte copy: correct for overlapping matches too.
      const end = op + length
      while (op < end) output[op++] = output[ref++]
    } else if (offset === 1) {
      output.fill(output[ref], op, op + length)
      op += length
    } else if (offset >= length) {
      output.copyWithin(op, ref, ref + length)
      op += length
    } else {
      // Overlapping: [ref, op) repeats with period `offset`; copying all of
      // it doubles the periodic region each round.
      const end = op + length
      while (op < end) {
        const chunk = Math.min(op - ref, end - op)
        output.copyWithin(op, ref, ref + chunk)
        op += chunk
      }
    }
  }
}

/**
 * Decodes the block `input`, which must decode to exactly
 * `uncompressedSize` bytes. Allocates exactly `uncompressedSize` bytes, so
 * the caller must have checked that size against its own bound.
 *
 * @category decompression
 * @since 0.1.0
 */
export const decompress = (input: Uint8Array, uncompressedSize: number): Result.Result<Uint8Array, string> => {
  if (!Number.isSafeInteger(uncompressedSize) || uncompressedSize < 0) {
    return Result.fail(`invalid LZ4 uncompressed size ${uncompressedSize}`)
  }
  const output = new Uint8Array(uncompressedSize)
  const written = decompressInto(input, output)
  if (written < 0) return Result.fail(errorMessage(written))
  if (written !== uncompressedSize) {
    return Result.fail(`LZ4 block decodes to ${written} bytes, expected ${uncompressedSize}`)
  }
  return Result.succeed(output)
}
