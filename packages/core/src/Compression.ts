/**
 * Payload compression in the formats of the Rust crate `network-protocol`
 * 1.2.1 (SPEC §4.5, §12.2), behind one service with interchangeable
 * implementations:
 *
 * - **LZ4**: a 4-byte little-endian uncompressed size followed by one LZ4
 *   *block* (`lz4_flex::compress_prepend_size`), not the LZ4 frame format.
 * - **Zstd**: standard zstd frames, level 1 by default like the crate
 *   (configurable 1..22).
 *
 * Decompression is always bounded before it allocates (16 MiB by default):
 * an LZ4 size prefix above the bound, or one that the block could not
 * possibly produce, is rejected before any output is allocated, and the
 * output must be exactly the announced size; a zstd input is walked frame by
 * frame first, so a declared content size above the bound, a truncated
 * frame, trailing garbage or raw/RLE blocks adding up past the bound are
 * rejected before decoding, and the decoder itself is capped at the bound.
 * Like the crate's streaming decoder, a zstd input may hold several frames
 * (their outputs are concatenated) and skippable frames. Corrupt or
 * truncated input is a `DecompressionFailure`, never an exception; an
 * invalid level or bound passed by the caller is a `RangeError`.
 *
 * Implementations:
 *
 * - {@link layerPortable}: the pure TypeScript `Lz4Block` and Node's built-in
 *   `node:zlib` zstd (experimental in Node, about 30 µs per call).
 * - {@link layerNative}: the optional native addons `lz4-napi` (the Rust
 *   `lz4_flex` itself, so byte-for-byte the crate's codec) and `zstd-napi`
 *   (libzstd with reused contexts). Small LZ4 inputs, and large ones that a
 *   512-byte entropy sample finds incompressible, still go through the
 *   TypeScript codec, which is faster there (no call overhead; lz4_flex is
 *   slow on incompressible data).
 * - {@link layerDefault}: native where the addon loads, portable otherwise
 *   (chosen per codec).
 *
 * The operations are synchronous and CPU-bound, so the service exposes plain
 * functions returning `Result`s: look the service up once, then call them per
 * message without wrapping every call in an Effect.
 *
 * The adaptive helper follows the crate (skip below the threshold, always try
 * below 1 KiB, otherwise sample the entropy of the first 512 bytes, keep the
 * result only when strictly smaller) but its default entropy cut-off is
 * {@link DEFAULT_ENTROPY_THRESHOLD} (7.0 bits/byte) rather than the crate's
 * 4.0, which skips ordinary text that compresses well (SPEC §15.2 #29); pass
 * {@link CRATE_ENTROPY_THRESHOLD} for the crate's behaviour. Nothing about
 * this is on the wire: the caller carries the `compressed` flag.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import { createRequire } from "node:module"
import * as zlib from "node:zlib"
import * as Lz4Block from "./Lz4Block.ts"
import * as ProtocolError from "./ProtocolError.ts"

// -----------------------------------------------------------------------------
// models and constants
// -----------------------------------------------------------------------------

/**
 * The compression algorithms of the crate's `CompressionKind`.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind = "lz4" | "zstd"

/**
 * Output of `maybeCompress` and `maybeCompressAdaptive`: the bytes to send,
 * and whether they are compressed (the caller must carry this flag; nothing
 * in the bytes says so).
 *
 * @category models
 * @since 0.1.0
 */
export interface MaybeCompressed {
  readonly bytes: Uint8Array
  readonly compressed: boolean
}

/**
 * Options of `maybeCompressAdaptive`.
 *
 * @category models
 * @since 0.1.0
 */
export interface AdaptiveOptions {
  /**
   * Inputs of 1 KiB or more are compressed only when the Shannon entropy of
   * their first 512 bytes is below this (bits per byte). Default
   * {@link DEFAULT_ENTROPY_THRESHOLD}; the crate uses {@link CRATE_ENTROPY_THRESHOLD}.
   */
  readonly entropyThreshold?: number | undefined
  /** Zstd level, 1..22 (default {@link DEFAULT_ZSTD_LEVEL}). Ignored by LZ4. */
  readonly level?: number | undefined
}

/**
 * The largest output a decompression produces unless told otherwise: 16 MiB,
 * like the crate.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_MAX_SIZE = 16 * 1024 * 1024

/**
 * The crate's (hard-coded) zstd level.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_ZSTD_LEVEL = 1

/**
 * The lowest zstd level accepted.
 *
 * @category constants
 * @since 0.1.0
 */
export const MIN_ZSTD_LEVEL = 1

/**
 * The highest zstd level accepted.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_ZSTD_LEVEL = 22

/**
 * The entropy cut-off of the crate's adaptive compression, in bits per byte.
 * It skips ordinary text (about 4.5–5.5 bits/byte) that compresses well.
 *
 * @category constants
 * @since 0.1.0
 */
export const CRATE_ENTROPY_THRESHOLD = 4.0

/**
 * The default entropy cut-off of `maybeCompressAdaptive`, in bits per byte.
 * Random, encrypted and already-compressed data measure about 7.5–7.7 on a
 * 512-byte sample (the sample is too small to reach 8), while text, JSON and
 * most structured binary data measure well below 7: the cut-off skips the
 * incompressible and tries everything else (a result that is not smaller is
 * discarded anyway).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_ENTROPY_THRESHOLD = 7.0

/**
 * Below this size `maybeCompressAdaptive` compresses without sampling entropy.
 *
 * @category constants
 * @since 0.1.0
 */
export const ADAPTIVE_SMALL_SIZE = 1024

/**
 * How many leading bytes `maybeCompressAdaptive` samples for entropy.
 *
 * @category constants
 * @since 0.1.0
 */
export const ENTROPY_SAMPLE_SIZE = 512

/**
 * Size of the little-endian uncompressed-size prefix of the LZ4 format.
 *
 * @category constants
 * @since 0.1.0
 */
export const LZ4_PREFIX_SIZE = 4

/**
 * The primitive operations an implementation provides.
 *
 * @category models
 * @since 0.1.0
 */
export interface Codec {
  /** A short description of the implementation, e.g. `"lz4=lz4-napi zstd=zstd-napi"`. */
  readonly name: string
  /**
   * Compresses `data`. `level` (zstd only, default 1) must be an integer in
   * 1..22, else a `RangeError` is thrown (a programming error, not a data error).
   */
  readonly compress: (kind: Kind, data: Uint8Array, level?: number) => Uint8Array
  /**
   * Decompresses `data`, producing at most `maxSize` bytes (default
   * {@link DEFAULT_MAX_SIZE}). Never throws on bad input.
   */
  readonly decompress: (
    kind: Kind,
    data: Uint8Array,
    maxSize?: number
  ) => Result.Result<Uint8Array, ProtocolError.ProtocolError>
}

/**
 * The compression service.
 *
 * @category services
 * @since 0.1.0
 */
export class Compression extends Context.Service<Compression, Codec & {
  /**
   * The crate's `maybe_compress`: compresses whenever
   * `data.length >= threshold`, even if the result is larger.
   */
  readonly maybeCompress: (kind: Kind, data: Uint8Array, threshold: number, level?: number) => MaybeCompressed
  /**
   * The crate's `maybe_compress_adaptive`: below `threshold` not compressed;
   * below 1 KiB compressed; otherwise compressed only when the entropy of the
   * first 512 bytes is below the cut-off. The compressed form is kept only
   * when strictly smaller.
   */
  readonly maybeCompressAdaptive: (
    kind: Kind,
    data: Uint8Array,
    threshold: number,
    options?: AdaptiveOptions
  ) => MaybeCompressed
  /**
   * The crate's `maybe_decompress`: decompresses when `compressed`, else
   * returns `data` unchanged.
   */
  readonly maybeDecompress: (
    kind: Kind,
    data: Uint8Array,
    compressed: boolean,
    maxSize?: number
  ) => Result.Result<Uint8Array, ProtocolError.ProtocolError>
}>()("network-protocol/Compression") {}

// -----------------------------------------------------------------------------
// entropy and the derived operations
// -----------------------------------------------------------------------------

const symbolCounts = new Uint32Array(256)

/**
 * Shannon entropy of `bytes` in bits per byte (0 for an empty input, at most
 * 8). Allocation-free.
 *
 * @category utils
 * @since 0.1.0
 */
export const shannonEntropy = (bytes: Uint8Array): number => {
  const n = bytes.length
  if (n === 0) return 0
  const counts = symbolCounts
  counts.fill(0)
  for (let i = 0; i < n; i++) counts[bytes[i]]++
  let entropy = 0
  for (let s = 0; s < 256; s++) {
    const c = counts[s]
    if (c !== 0) {
      const p = c / n
      entropy -= p * Math.log2(p)
    }
  }
  return entropy
}

/**
 * Builds the service from an implementation's primitive operations.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (codec: Codec): Compression["Service"] => {
  const { compress, decompress } = codec
  return {
    name: codec.name,
    compress,
    decompress,
    maybeCompress: (kind, data, threshold, level) =>
      data.length >= threshold
        ? { bytes: compress(kind, data, level), compressed: true }
        : { bytes: data, compressed: false },
    maybeCompressAdaptive: (kind, data, threshold, options) => {
      if (data.length < threshold) return { bytes: data, compressed: false }
      if (data.length >= ADAPTIVE_SMALL_SIZE) {
        const cutoff = options?.entropyThreshold ?? DEFAULT_ENTROPY_THRESHOLD
        const sample = data.length > ENTROPY_SAMPLE_SIZE ? data.subarray(0, ENTROPY_SAMPLE_SIZE) : data
        if (!(shannonEntropy(sample) < cutoff)) return { bytes: data, compressed: false }
      }
      const bytes = compress(kind, data, options?.level)
      return bytes.length < data.length ? { bytes, compressed: true } : { bytes: data, compressed: false }
    },
    maybeDecompress: (kind, data, compressed, maxSize) =>
      compressed ? decompress(kind, data, maxSize) : Result.succeed(data)
  }
}

// -----------------------------------------------------------------------------
// shared helpers
// -----------------------------------------------------------------------------

const fail = (detail: string): Result.Result<never, ProtocolError.ProtocolError> =>
  Result.fail(ProtocolError.make(new ProtocolError.DecompressionFailure({ detail })))

const checkLevel = (level: number | undefined): number => {
  if (level === undefined) return DEFAULT_ZSTD_LEVEL
  if (!Number.isInteger(level) || level < MIN_ZSTD_LEVEL || level > MAX_ZSTD_LEVEL) {
    throw new RangeError(`zstd level must be an integer in ${MIN_ZSTD_LEVEL}..${MAX_ZSTD_LEVEL}, got ${level}`)
  }
  return level
}

const checkMaxSize = (maxSize: number | undefined): number => {
  if (maxSize === undefined) return DEFAULT_MAX_SIZE
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`maxSize must be a non-negative integer, got ${maxSize}`)
  }
  return maxSize
}

const errorText = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** A plain `Uint8Array` view of a Node `Buffer` (whose `slice` would not copy). */
const plain = (bytes: Uint8Array): Uint8Array =>
  bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Trims `out` to `length`, copying only when the view would waste much memory. */
const trim = (out: Uint8Array, length: number): Uint8Array =>
  length === out.length
    ? out
    : length >= out.length - (out.length >>> 3)
    ? out.subarray(0, length)
    : out.slice(0, length)

const readU32 = (b: Uint8Array, i: number): number =>
  (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0

/**
 * The uncompressed size an LZ4 input announces, or a failure detail. Checked
 * before anything is allocated: the size must be within `maxSize`, and a
 * block can produce at most 255 bytes per byte of input.
 */
const lz4Size = (data: Uint8Array, maxSize: number): number | string => {
  if (data.length < LZ4_PREFIX_SIZE) return `LZ4 input of ${data.length} bytes is shorter than its size prefix`
  const size = readU32(data, 0)
  if (size > maxSize) return `LZ4 input claims ${size} bytes, more than the limit of ${maxSize}`
  if (size > (data.length - LZ4_PREFIX_SIZE) * 255) {
    return `LZ4 input claims ${size} bytes, more than a ${data.length - LZ4_PREFIX_SIZE}-byte block can hold`
  }
  if (data.length === LZ4_PREFIX_SIZE) return "LZ4 input has a size prefix but no block"
  return size
}

const lz4CompressPortable = (data: Uint8Array): Uint8Array => {
  if (data.length > 0xffff_ffff) throw new RangeError("LZ4 input larger than 4 GiB")
  const out = Lz4Block.compressWithPrefix(data, LZ4_PREFIX_SIZE)
  const n = data.length
  out[0] = n & 0xff
  out[1] = (n >>> 8) & 0xff
  out[2] = (n >>> 16) & 0xff
  out[3] = n >>> 24
  return out
}

const lz4DecompressPortable = (data: Uint8Array, size: number): Uint8Array | string => {
  const out = new Uint8Array(size)
  const written = Lz4Block.decompressInto(data.subarray(LZ4_PREFIX_SIZE), out)
  if (written < 0) return Lz4Block.errorMessage(written)
  if (written !== size) return `LZ4 block decodes to ${written} bytes, its prefix says ${size}`
  return out
}

// -----------------------------------------------------------------------------
// zstd frame walking
// -----------------------------------------------------------------------------

const ZSTD_MAGIC = 0xfd2fb528
const SKIPPABLE_MAGIC = 0x184d2a50
const SKIPPABLE_MASK = 0xfffffff0
const ZSTD_BLOCK_MAX = 128 * 1024
const DICT_ID_SIZES = [0, 1, 2, 4]

/**
 * Walks zstd frames without decoding them (RFC 8878 §3.1): validates the
 * structure (magic numbers, header, block headers, lengths), and bounds the
 * decoded size before any decoder runs.
 */
class ZstdScan {
  /** Exact decoded size of all frames, or -1 when a frame does not declare its size. */
  contentSize = 0
  /** An upper bound on the decoded size of all frames. */
  upperBound = 0
  /** Frames that carry data (not skippable). */
  dataFrames = 0
  /** Skippable frames. */
  skippableFrames = 0
  /** For {@link frame}: whether the frame was skippable, its declared size (or -1), its bound. */
  frameSkippable = false
  frameContentSize = 0
  frameUpperBound = 0
  /** For {@link frame}: the least the frame decodes to (its declared size, or its raw and RLE blocks). */
  frameLower = 0

  /** Scans all of `data`; returns a failure detail, or `undefined` when it is well formed. */
  scan(data: Uint8Array, maxSize: number): string | undefined {
    const n = data.length
    if (n === 0) return "zstd input is empty"
    this.contentSize = 0
    this.upperBound = 0
    this.dataFrames = 0
    this.skippableFrames = 0
    let lower = 0
    let pos = 0
    while (pos < n) {
      const end = this.frame(data, pos, maxSize - lower)
      if (typeof end === "string") return end
      pos = end
      if (this.frameSkippable) {
        this.skippableFrames++
        continue
      }
      this.dataFrames++
      this.upperBound += this.frameUpperBound
      if (this.frameContentSize < 0 || this.contentSize < 0) {
        this.contentSize = -1
      } else {
        this.contentSize += this.frameContentSize
        if (this.contentSize > maxSize) {
          return `zstd frames declare ${this.contentSize} bytes, more than the limit of ${maxSize}`
        }
      }
      lower += this.frameLower
    }
    return undefined
  }

  /**
   * Parses the frame at `pos` and returns the position after it, or a
   * failure detail. `room` is how many decoded bytes are still allowed.
   */
  frame(data: Uint8Array, pos: number, room: number): number | string {
    const n = data.length
    if (n - pos < 4) return "zstd input is truncated (frame magic)"
    const magic = readU32(data, pos)
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (n - pos < 8) return "zstd input is truncated (skippable frame header)"
      const size = readU32(data, pos + 4)
      if (size > n - pos - 8) return "zstd input is truncated (skippable frame)"
      this.frameSkippable = true
      this.frameContentSize = 0
      this.frameUpperBound = 0
      this.frameLower = 0
      return pos + 8 + size
    }
    if (magic !== ZSTD_MAGIC) return "not a zstd frame (bad magic number)"
    pos += 4
    if (pos >= n) return "zstd input is truncated (frame header)"
    const descriptor = data[pos++]
    const fcsFlag = descriptor >>> 6
    const singleSegment = (descriptor & 0x20) !== 0
    if ((descriptor & 0x08) !== 0) return "zstd frame header has its reserved bit set"
    const hasChecksum = (descriptor & 0x04) !== 0
    const dictIdSize = DICT_ID_SIZES[descriptor & 0x03]
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag
    if (n - pos < (singleSegment ? 0 : 1) + dictIdSize + fcsSize) return "zstd input is truncated (frame header)"
    if (!singleSegment) pos++ // window descriptor
    pos += dictIdSize
    let declared = -1
    switch (fcsSize) {
      case 1:
        declared = data[pos]
        break
      case 2:
        declared = (data[pos] | (data[pos + 1] << 8)) + 256
        break
      case 4:
        declared = readU32(data, pos)
        break
      case 8:
        declared = readU32(data, pos) + readU32(data, pos + 4) * 0x1_0000_0000
        break
    }
    pos += fcsSize
    if (declared > room) return `zstd frame declares ${declared} bytes, more than the limit allows`

    // Blocks: exact sizes of raw and RLE blocks, at most 128 KiB per compressed block.
    let lower = 0
    let upper = 0
    for (;;) {
      if (n - pos < 3) return "zstd input is truncated (block header)"
      const header = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16)
      pos += 3
      const type = (header >>> 1) & 3
      const size = header >>> 3
      if (type === 3) return "zstd block has the reserved type"
      if (size > ZSTD_BLOCK_MAX) return "zstd block is larger than 128 KiB"
      const stored = type === 1 ? 1 : size
      if (stored > n - pos) return "zstd input is truncated (block)"
      pos += stored
      if (type === 2) {
        upper += ZSTD_BLOCK_MAX
      } else {
        lower += size
        upper += size
        if (lower > room) return "zstd frame decodes to more bytes than the limit allows"
      }
      if ((header & 1) !== 0) break
    }
    if (hasChecksum) {
      if (n - pos < 4) return "zstd input is truncated (checksum)"
      pos += 4
    }
    if (declared >= 0) {
      // Checked before a decoder allocates the declared size.
      if (lower > declared || declared > upper) return "zstd frame blocks do not match its declared size"
      upper = declared
    }
    this.frameSkippable = false
    this.frameContentSize = declared
    this.frameUpperBound = upper
    this.frameLower = declared >= 0 ? declared : lower
    return pos
  }
}

// -----------------------------------------------------------------------------
// portable implementation
// -----------------------------------------------------------------------------

const zlibCompressOptions: ReadonlyArray<zlib.ZstdOptions> = Array.from(
  { length: MAX_ZSTD_LEVEL + 1 },
  (_, level) => ({ params: { [zlib.constants.ZSTD_c_compressionLevel]: level } })
)

const ZLIB_CHUNK_MIN = 64
const ZLIB_CHUNK_MAX = 1 << 20

interface ZstdImpl {
  readonly name: string
  readonly compress: (data: Uint8Array, level: number) => Uint8Array
  readonly decompress: (data: Uint8Array, maxSize: number) => Uint8Array | string
}

interface Lz4Impl {
  readonly name: string
  readonly compress: (data: Uint8Array) => Uint8Array
  /** Decodes a prefixed input whose announced `size` was already checked. */
  readonly decompress: (data: Uint8Array, size: number) => Uint8Array | string
}

const lz4Portable: Lz4Impl = {
  name: "typescript",
  compress: lz4CompressPortable,
  decompress: lz4DecompressPortable
}

/**
 * Decodes one zstd frame with node:zlib, producing at most `limit` bytes.
 * `expected` is the declared size, or an upper bound when `declared` is
 * false: it sizes zlib's output chunks so that most frames decode into one.
 */
const zlibDecodeFrame = (
  frame: Uint8Array,
  limit: number,
  expected: number,
  declared: boolean
): Uint8Array | string => {
  try {
    const out = zlib.zstdDecompressSync(frame, {
      maxOutputLength: Math.max(1, limit),
      chunkSize: Math.min(Math.max(ZLIB_CHUNK_MIN, expected), ZLIB_CHUNK_MAX)
    })
    if (out.length > limit) return `zstd output exceeds the limit of ${limit} bytes`
    if (declared && out.length !== expected) return `zstd frame decodes to ${out.length} bytes, declared ${expected}`
    return trim(plain(out), out.length)
  } catch (error) {
    return Predicate.hasProperty(error, "code") && error.code === "ERR_BUFFER_TOO_LARGE"
      ? `zstd output exceeds the limit of ${limit} bytes`
      : `zstd: ${errorText(error)}`
  }
}

const makeZstdPortable = (): ZstdImpl => {
  const scan = new ZstdScan()
  return {
    name: "node:zlib",
    compress: (data, level) => plain(zlib.zstdCompressSync(data, zlibCompressOptions[level])),
    decompress: (data, maxSize) => {
      const invalid = scan.scan(data, maxSize)
      if (invalid !== undefined) return invalid
      if (scan.dataFrames === 1 && scan.skippableFrames === 0) {
        const limit = Math.min(maxSize, scan.upperBound)
        const declared = scan.contentSize >= 0
        return zlibDecodeFrame(data, limit, declared ? scan.contentSize : limit, declared)
      }
      // node:zlib stops after the first frame: decode frame by frame.
      const parts: Array<Uint8Array> = []
      let total = 0
      let pos = 0
      while (pos < data.length) {
        const end = scan.frame(data, pos, maxSize - total)
        if (typeof end === "string") return end
        if (!scan.frameSkippable) {
          const limit = Math.min(maxSize - total, scan.frameUpperBound)
          const declared = scan.frameContentSize >= 0
          const expected = declared ? scan.frameContentSize : limit
          const part = zlibDecodeFrame(data.subarray(pos, end), limit, expected, declared)
          if (typeof part === "string") return part
          parts.push(part)
          total += part.length
        }
        pos = end
      }
      const out = new Uint8Array(total)
      let at = 0
      for (const part of parts) {
        out.set(part, at)
        at += part.length
      }
      return out
    }
  }
}

const makeCodec = (lz4: Lz4Impl, zstd: ZstdImpl): Codec => ({
  name: `lz4=${lz4.name} zstd=${zstd.name}`,
  compress: (kind, data, level) => {
    const zstdLevel = checkLevel(level)
    return kind === "lz4" ? lz4.compress(data) : zstd.compress(data, zstdLevel)
  },
  decompress: (kind, data, maxSize) => {
    const limit = checkMaxSize(maxSize)
    let out: Uint8Array | string
    if (kind === "lz4") {
      const size = lz4Size(data, limit)
      out = typeof size === "string" ? size : lz4.decompress(data, size)
    } else {
      out = zstd.decompress(data, limit)
    }
    return typeof out === "string" ? fail(out) : Result.succeed(out)
  }
})

/**
 * The portable implementation: pure TypeScript LZ4 and `node:zlib` zstd.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makePortable = (): Compression["Service"] => make(makeCodec(lz4Portable, makeZstdPortable()))

/**
 * The portable implementation as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPortable: Layer.Layer<Compression> = Layer.sync(Compression, makePortable)

// -----------------------------------------------------------------------------
// native implementation
// -----------------------------------------------------------------------------

interface Lz4Napi {
  readonly compressSync: (data: Buffer) => Uint8Array
  readonly uncompressSync: (data: Uint8Array) => Uint8Array
}

interface ZstdCCtx {
  compress(dst: Uint8Array, src: Uint8Array, level: number): number
}

interface ZstdDCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number
}

interface ZstdBinding {
  readonly CCtx: new() => ZstdCCtx
  readonly DCtx: new() => ZstdDCtx
  readonly compressBound: (size: number) => number
}

const isFunction = (u: unknown): boolean => typeof u === "function"

const isLz4Napi = (u: unknown): u is Lz4Napi =>
  Predicate.hasProperty(u, "compressSync") && isFunction(u.compressSync) &&
  Predicate.hasProperty(u, "uncompressSync") && isFunction(u.uncompressSync)

const isZstdBinding = (u: unknown): u is ZstdBinding =>
  Predicate.hasProperty(u, "CCtx") && isFunction(u.CCtx) &&
  Predicate.hasProperty(u, "DCtx") && isFunction(u.DCtx) &&
  Predicate.hasProperty(u, "compressBound") && isFunction(u.compressBound)

const loadFailure = (what: string) => (cause: unknown) =>
  ProtocolError.make(new ProtocolError.CompressionFailure({ cause: new Error(`cannot load ${what}`, { cause }) }))

const load = <A>(id: string, guard: (u: unknown) => u is A): Effect.Effect<A, ProtocolError.ProtocolError> =>
  Effect.try({
    try: () => {
      const module: unknown = createRequire(import.meta.url)(id)
      if (!guard(module)) throw new Error(`${id} does not have the expected API`)
      return module
    },
    catch: loadFailure(id)
  })

/**
 * Tuning of the native implementation.
 *
 * @category models
 * @since 0.1.0
 */
export interface NativeOptions {
  /**
   * LZ4 inputs from this size on are compressed by `lz4-napi` unless a
   * 512-byte entropy sample says they are incompressible; smaller inputs, and
   * incompressible ones, by the TypeScript codec (no native call overhead on
   * small inputs; 2–6× faster than `lz4-napi` on incompressible data).
   * Default 4096; 0 sends everything to `lz4-napi`.
   */
  readonly lz4CompressNativeFrom?: number | undefined
  /**
   * LZ4 outputs from this size on are decoded by `lz4-napi`, smaller ones by
   * the TypeScript codec. Default 1024.
   */
  readonly lz4DecompressNativeFrom?: number | undefined
}

const SCRATCH_LIMIT = 1 << 20

const makeLz4Native = (napi: Lz4Napi, options?: NativeOptions): Lz4Impl => {
  const compressFrom = options?.lz4CompressNativeFrom ?? 4096
  const decompressFrom = options?.lz4DecompressNativeFrom ?? 1024
  const sampleFrom = compressFrom === 0 ? Infinity : compressFrom
  return {
    name: "lz4-napi",
    compress: (data) =>
      data.length < compressFrom ||
        (data.length >= sampleFrom &&
          shannonEntropy(data.subarray(0, ENTROPY_SAMPLE_SIZE)) >= DEFAULT_ENTROPY_THRESHOLD)
        ? lz4CompressPortable(data)
        : plain(napi.compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength))),
    decompress: (data, size) => {
      if (size < decompressFrom) return lz4DecompressPortable(data, size)
      let out: Uint8Array
      try {
        out = napi.uncompressSync(data)
      } catch (error) {
        return `LZ4: ${errorText(error)}`
      }
      // lz4_flex accepts a block that decodes to fewer bytes than announced.
      if (out.length !== size) return `LZ4 block decodes to ${out.length} bytes, its prefix says ${size}`
      return plain(out)
    }
  }
}

const makeZstdNative = (binding: ZstdBinding): ZstdImpl => {
  const cctx = new binding.CCtx()
  const dctx = new binding.DCtx()
  const scan = new ZstdScan()
  let scratch = new Uint8Array(0)

  const getScratch = (size: number): Uint8Array => {
    if (scratch.length < size) scratch = new Uint8Array(Math.max(size, 4096))
    return scratch
  }

  const compress = (data: Uint8Array, level: number): Uint8Array => {
    const bound = binding.compressBound(data.length)
    if (bound > SCRATCH_LIMIT) {
      const out = new Uint8Array(bound)
      return trim(out, cctx.compress(out, data, level))
    }
    const buffer = getScratch(bound)
    const length = cctx.compress(buffer, data, level)
    return buffer.slice(0, length)
  }

  return {
    name: "zstd-napi",
    compress,
    decompress: (data, maxSize) => {
      const invalid = scan.scan(data, maxSize)
      if (invalid !== undefined) return invalid
      if (scan.dataFrames === 0) return new Uint8Array(0)
      // One-shot decoding into a buffer of the exact declared size, or (for
      // frames that do not declare it) of the scan's upper bound capped at
      // the limit: libzstd fails rather than write past the buffer.
      const declared = scan.contentSize
      const capacity = declared >= 0 ? declared : Math.min(scan.upperBound, maxSize)
      const pooled = declared < 0 && capacity <= SCRATCH_LIMIT
      const out = declared >= 0 ? new Uint8Array(declared) : pooled ? getScratch(capacity) : new Uint8Array(capacity)
      let written: number
      try {
        written = dctx.decompress(out.length === capacity ? out : out.subarray(0, capacity), data)
      } catch (error) {
        return capacity === maxSize && capacity < scan.upperBound && /too small/i.test(errorText(error))
          ? `zstd output exceeds the limit of ${maxSize} bytes`
          : `zstd: ${errorText(error)}`
      }
      if (declared >= 0) {
        return written === declared ? out : `zstd frames decode to ${written} bytes, declared ${declared}`
      }
      return pooled ? out.slice(0, written) : trim(out, written)
    }
  }
}

/**
 * The native implementation: `lz4-napi` (with TypeScript for small inputs)
 * and `zstd-napi`. Fails with a `CompressionFailure` when either addon cannot
 * be loaded.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeNative = (
  options?: NativeOptions
): Effect.Effect<Compression["Service"], ProtocolError.ProtocolError> =>
  Effect.gen(function*() {
    const lz4 = yield* load("lz4-napi", isLz4Napi)
    const zstd = yield* load("zstd-napi/binding", isZstdBinding)
    const zstdImpl = yield* Effect.try({ try: () => makeZstdNative(zstd), catch: loadFailure("zstd-napi contexts") })
    return make(makeCodec(makeLz4Native(lz4, options), zstdImpl))
  })

/**
 * The native implementation as a layer; fails when an addon cannot be loaded.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNative: Layer.Layer<Compression, ProtocolError.ProtocolError> = Layer.effect(
  Compression,
  makeNative()
)

/**
 * The fastest implementation available: for each codec the native addon when
 * it loads, else the portable one. Never fails.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDefault = (options?: NativeOptions): Effect.Effect<Compression["Service"]> =>
  Effect.gen(function*() {
    const lz4 = yield* load("lz4-napi", isLz4Napi).pipe(
      Effect.map((napi) => makeLz4Native(napi, options)),
      Effect.orElseSucceed(() => lz4Portable)
    )
    const zstd = yield* load("zstd-napi/binding", isZstdBinding).pipe(
      Effect.flatMap((binding) =>
        Effect.try({ try: () => makeZstdNative(binding), catch: loadFailure("zstd-napi contexts") })
      ),
      Effect.orElseSucceed(makeZstdPortable)
    )
    return make(makeCodec(lz4, zstd))
  })

/**
 * The default implementation as a layer: native where available, portable
 * otherwise.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerDefault: Layer.Layer<Compression> = Layer.effect(Compression, makeDefault())
