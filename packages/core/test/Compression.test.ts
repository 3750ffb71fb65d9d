import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import { createRequire } from "node:module"
import * as zlib from "node:zlib"
import * as Compression from "../src/Compression.ts"
import * as Lz4Block from "../src/Lz4Block.ts"
import * as ProtocolError from "../src/ProtocolError.ts"
import { hex, toHex, vectors } from "./vectors.ts"

type Service = Compression.Compression["Service"]

// -----------------------------------------------------------------------------
// implementations and helpers
// -----------------------------------------------------------------------------

const portable = Compression.makePortable()
const native = await Effect.runPromise(Effect.option(Compression.makeNative()))
const nativeNapiOnly = await Effect.runPromise(
  Effect.option(Compression.makeNative({ lz4CompressNativeFrom: 0, lz4DecompressNativeFrom: 0 }))
)
const defaultImpl = await Effect.runPromise(Compression.makeDefault())

/** Every implementation, plus the native one with every LZ4 operation forced through lz4-napi. */
const implementations: ReadonlyArray<readonly [string, Service]> = [
  ["portable", portable],
  ...(native._tag === "Some" ? [["native", native.value] as const] : []),
  ...(nativeNapiOnly._tag === "Some" ? [["native, lz4-napi only", nativeNapiOnly.value] as const] : []),
  ["default", defaultImpl]
]

interface Lz4NapiRaw {
  readonly compressSync: (data: Buffer) => Buffer
  readonly uncompressSync: (data: Uint8Array) => Buffer
}

/** lz4-napi used directly: Rust lz4_flex, the crate's own LZ4 codec (when it loads). */
const lz4Napi = ((): Lz4NapiRaw | undefined => {
  try {
    const module: Lz4NapiRaw = createRequire(import.meta.url)("lz4-napi")
    return module
  } catch {
    return undefined
  }
})()

/** Decoders besides the implementations: lz4_flex directly, and node:zlib directly. */
const rawDecoders: ReadonlyArray<readonly [string, Compression.Kind, (data: Uint8Array) => Uint8Array]> = [
  ...(lz4Napi === undefined ? [] : [["lz4-napi uncompressSync", "lz4", lz4Napi.uncompressSync] as const]),
  ["node:zlib zstdDecompressSync", "zstd", (data: Uint8Array) => zlib.zstdDecompressSync(data)]
]

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

const equalBytes = (actual: Uint8Array, expected: Uint8Array, message?: string) => {
  assert.strictEqual(actual.length, expected.length, message)
  assert.strictEqual(Buffer.compare(Buffer.from(actual), Buffer.from(expected)), 0, message)
}

const success = (result: Result.Result<Uint8Array, ProtocolError.ProtocolError>, message?: string): Uint8Array => {
  if (Result.isFailure(result)) assert.fail(`${message ?? "decompress"}: ${result.failure.message}`)
  return result.success
}

/** Asserts a DecompressionFailure and returns its message. */
const failure = (result: Result.Result<Uint8Array, ProtocolError.ProtocolError>, message?: string): string => {
  if (Result.isSuccess(result)) return assert.fail(`${message ?? "decompress"}: expected a failure`)
  assert.isTrue(ProtocolError.isProtocolError(result.failure))
  assert.strictEqual(result.failure.reason._tag, "DecompressionFailure", message)
  return result.failure.message
}

const roundTrip = (impl: Service, kind: Compression.Kind, data: Uint8Array, message?: string): Uint8Array => {
  const compressed = impl.compress(kind, data)
  equalBytes(success(impl.decompress(kind, compressed), message), data, message)
  return compressed
}

/** A fixed-seed xorshift32 generator. */
const prng = (seed: number) => {
  let state = seed >>> 0 || 1
  return (): number => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state
  }
}

const randomBytes = (size: number, seed: number = 1): Uint8Array => {
  const next = prng(seed)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = next() & 0xff
  return out
}

/** JSON-like records of exactly `size` bytes. */
const jsonLike = (size: number, seed: number = 3): Uint8Array => {
  const next = prng(seed)
  const words = ["alpha", "beta", "gamma", "delta", "network", "protocol", "frame", "payload", "session", "cache"]
  let s = "["
  let id = 1000
  while (s.length < size) {
    id += 1 + (next() % 9)
    const phrase = Array.from({ length: 3 + (next() % 8) }, () => words[next() % words.length]).join(" ")
    s += JSON.stringify({ id, at: new Date(1_700_000_000_000 + (next() % 1e9)).toISOString(), text: phrase }) + ","
  }
  return text(s.slice(0, size))
}

const inputs: ReadonlyArray<readonly [string, Uint8Array]> = [
  ["empty", new Uint8Array(0)],
  ["1 B", new Uint8Array([0x42])],
  ["12 B", jsonLike(12)],
  ["13 B", jsonLike(13)],
  ["64 B JSON", jsonLike(64)],
  ["4 KiB JSON", jsonLike(4096)],
  ["64 KiB JSON", jsonLike(65536)],
  ["1 MiB JSON", jsonLike(1 << 20)],
  ["random 4 KiB", randomBytes(4096)],
  ["random 64 KiB", randomBytes(65536)],
  ["200 KB of one byte", new Uint8Array(200_000).fill(0x5a)]
]

let bomb: Promise<Uint8Array> | undefined

/** 100 MiB (a repeated random 4 KiB pattern: compressed blocks, not RLE) streamed into one zstd frame. */
const compressedBlockBomb = (): Promise<Uint8Array> => {
  bomb ??= new Promise<Uint8Array>((resolve, reject) => {
    const pattern = randomBytes(4096, 9)
    const chunk = new Uint8Array(1 << 20)
    for (let i = 0; i < chunk.length; i += pattern.length) chunk.set(pattern, i)
    const encoder = zlib.createZstdCompress()
    const parts: Array<Buffer> = []
    encoder.on("data", (part: Buffer) => parts.push(part))
    encoder.on("end", () => resolve(Buffer.concat(parts)))
    encoder.on("error", reject)
    for (let i = 0; i < 100; i++) encoder.write(chunk)
    encoder.end()
  })
  return bomb
}

// -----------------------------------------------------------------------------
// an independent LZ4 block parser that checks the end-of-block rules
// -----------------------------------------------------------------------------

/**
 * Parses an LZ4 block that must decode to `size` bytes and returns the first
 * violation of the format or of its end-of-block rules, or `undefined`.
 * Rules (lz4 Block_format.md): the last sequence has literals only; the last
 * 5 bytes are literals; the last match starts at least 12 bytes before the
 * end; an input of less than 13 bytes is literals only.
 */
const blockViolation = (block: Uint8Array, size: number): string | undefined => {
  let ip = 0
  let op = 0
  let sequences = 0
  const readLength = (base: number): number => {
    let length = base
    if (base === 15) {
      let b = 255
      while (b === 255) {
        if (ip >= block.length) throw new Error("truncated length")
        b = block[ip++]
        length += b
      }
    }
    return length
  }
  try {
    for (;;) {
      if (ip >= block.length) return "block ends without a final literals-only sequence"
      const token = block[ip++]
      sequences++
      const literals = readLength(token >>> 4)
      if (ip + literals > block.length) return "literals run past the block"
      ip += literals
      op += literals
      if (ip === block.length) {
        if (op !== size) return `decodes to ${op} bytes, expected ${size}`
        if (size < 13 && sequences !== 1) return `input of ${size} bytes is not a single literals-only sequence`
        if (size >= 13 && literals < 5 && sequences > 1) return `only ${literals} final literals`
        return undefined
      }
      if (ip + 2 > block.length) return "offset runs past the block"
      const offset = block[ip] | (block[ip + 1] << 8)
      ip += 2
      if (offset === 0 || offset > op) return `bad offset ${offset} at output ${op}`
      const match = readLength(token & 15) + 4
      if (size < 13) return `input of ${size} bytes has a match`
      if (op > size - 12) return `match starts ${size - op} bytes before the end (must be >= 12)`
      if (op + match > size - 5) return `match ends ${size - op - match} bytes before the end (must be >= 5)`
      op += match
    }
  } catch (error) {
    return String(error)
  }
}

const withPrefix = (size: number, block: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + block.length)
  new DataView(out.buffer).setUint32(0, size, true)
  out.set(block, 4)
  return out
}

/** Arbitrary bytes that compress: uniform, small alphabets, runs, and repeated chunks. */
const compressibleBytes = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength, size: "max" }),
    fc.uint8Array({ maxLength, size: "max" }).map((a) => a.map((b) => b & 3)),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 400 })), { maxLength: 200 })
      .map((runs) => {
        const out: Array<number> = []
        for (const [byte, count] of runs) for (let i = 0; i < count && out.length < maxLength; i++) out.push(byte)
        return Uint8Array.from(out)
      }),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: maxLength }))
      .map(([chunk, length]) => {
        const out = new Uint8Array(length)
        for (let i = 0; i < length; i++) out[i] = chunk[i % chunk.length] ^ (i % 97 === 0 ? 1 : 0)
        return out
      })
  )

// -----------------------------------------------------------------------------
// Lz4Block
// -----------------------------------------------------------------------------

describe("Lz4Block", () => {
  it("round-trips every input, and its output respects the end-of-block rules", () => {
    for (const [label, data] of inputs) {
      const block = Lz4Block.compress(data)
      assert.isAtMost(block.length, Lz4Block.compressBound(data.length), label)
      assert.isUndefined(blockViolation(block, data.length), label)
      equalBytes(Result.getOrThrow(Lz4Block.decompress(block, data.length)), data, label)
    }
  })

  it("compresses repetitive data well and incompressible data to a literal block", () => {
    assert.isBelow(Lz4Block.compress(new Uint8Array(200_000).fill(1)).length, 1000)
    const random = randomBytes(4096)
    const block = Lz4Block.compress(random)
    assert.strictEqual(block.length, random.length + 2 + Math.floor((random.length - 15) / 255))
  })

  it("the rule checker rejects a block whose last match is too close to the end", () => {
    // "abcd" × 5 as 10 literals, a 5-byte match at position 10 (only 10 bytes
    // before the end), then 5 literals: the shape lz4js emits and C liblz4 rejects.
    const data = text("abcdabcdabcdabcdabcd")
    const block = new Uint8Array([0xa1, ...text("abcdabcdab"), 0x04, 0x00, 0x50, ...text("dabcd")])
    assert.match(blockViolation(block, data.length) ?? "", /match starts 10 bytes before the end/)
    // The decoder is lenient like lz4_flex: it decodes the block.
    equalBytes(Result.getOrThrow(Lz4Block.decompress(block, data.length)), data)
    assert.isUndefined(blockViolation(Lz4Block.compress(data), data.length))
  })

  it("its output is decoded by lz4_flex (lz4-napi) when lz4-napi loads", () => {
    for (const [label, data] of inputs) {
      const prefixed = withPrefix(data.length, Lz4Block.compress(data))
      if (lz4Napi !== undefined) equalBytes(lz4Napi.uncompressSync(prefixed), data, label)
    }
  })

  it("decodes the crate's LZ4 vector block", () => {
    const prefixed = hex(vectors.compression.lz4_size_prefixed_block)
    const input = text(vectors.compression.input_ascii)
    equalBytes(Result.getOrThrow(Lz4Block.decompress(prefixed.subarray(4), input.length)), input)
  })

  it("rejects malformed blocks with the right error", () => {
    const out = new Uint8Array(64)
    assert.strictEqual(Lz4Block.decompressInto(new Uint8Array(0), out), Lz4Block.ERROR_TRUNCATED)
    // 0xf0: 15+ literals, length byte missing.
    assert.strictEqual(Lz4Block.decompressInto(new Uint8Array([0xf0]), out), Lz4Block.ERROR_TRUNCATED)
    // 3 literals announced, 2 present.
    assert.strictEqual(Lz4Block.decompressInto(new Uint8Array([0x30, 1, 2]), out), Lz4Block.ERROR_TRUNCATED)
    // A match with half an offset.
    assert.strictEqual(Lz4Block.decompressInto(new Uint8Array([0x14, 0x61, 0x01]), out), Lz4Block.ERROR_TRUNCATED)
    // A block ending right after a match (no final literals-only sequence).
    assert.strictEqual(Lz4Block.decompressInto(new Uint8Array([0x14, 0x61, 0x01, 0x00]), out), Lz4Block.ERROR_TRUNCATED)
    assert.strictEqual(
      Lz4Block.decompressInto(new Uint8Array([0x14, 0x61, 0x00, 0x00, 0x00]), out),
      Lz4Block.ERROR_ZERO_OFFSET
    )
    assert.strictEqual(
      Lz4Block.decompressInto(new Uint8Array([0x14, 0x61, 0x02, 0x00, 0x00]), out),
      Lz4Block.ERROR_OFFSET_OUT_OF_RANGE
    )
    // A match of 4+15+255+10 bytes into a 64-byte output.
    assert.strictEqual(
      Lz4Block.decompressInto(new Uint8Array([0x1f, 0x61, 0x01, 0x00, 0xff, 0x0a, 0x00]), out),
      Lz4Block.ERROR_OUTPUT_OVERFLOW
    )
    assert.strictEqual(
      Lz4Block.decompressInto(new Uint8Array([0x30, 1, 2, 3]), new Uint8Array(2)),
      Lz4Block.ERROR_OUTPUT_OVERFLOW
    )
    assert.isTrue(Result.isFailure(Lz4Block.decompress(new Uint8Array([0x30, 1, 2, 3]), 4)))
    assert.isTrue(Result.isFailure(Lz4Block.decompress(new Uint8Array([0x30, 1, 2, 3]), -1)))
    for (const code of [-1, -2, -3, -4]) assert.match(Lz4Block.errorMessage(code), /LZ4 block/)
  })

  it("compressInto refuses an output smaller than the bound, and writes at an offset", () => {
    const data = jsonLike(1000)
    assert.throws(() => Lz4Block.compressInto(data, new Uint8Array(Lz4Block.compressBound(1000) - 1)), RangeError)
    const out = new Uint8Array(7 + Lz4Block.compressBound(1000)).fill(0xee)
    const end = Lz4Block.compressInto(data, out, 7)
    assert.deepStrictEqual([...out.subarray(0, 7)], new Array(7).fill(0xee))
    equalBytes(Result.getOrThrow(Lz4Block.decompress(out.subarray(7, end), 1000)), data)
  })

  it("compressWithPrefix returns an exact-size array with the prefix left for the caller", () => {
    const out = Lz4Block.compressWithPrefix(jsonLike(4096), 4)
    assert.strictEqual(out.buffer.byteLength, out.length)
    assert.deepStrictEqual([...out.subarray(0, 4)], [0, 0, 0, 0])
  })

  it("property: round-trips 0..50,000 bytes with valid end-of-block structure", () => {
    fc.assert(
      fc.property(compressibleBytes(50_000), (data) => {
        const block = Lz4Block.compress(data)
        assert.isUndefined(blockViolation(block, data.length))
        equalBytes(Result.getOrThrow(Lz4Block.decompress(block, data.length)), data)
      }),
      { numRuns: 150 }
    )
  })

  it("property: garbage never makes the decoder write outside its output or throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 3000 }), (garbage, size) => {
        const arena = new Uint8Array(size + 32).fill(0xcc)
        const output = arena.subarray(16, 16 + size)
        const written = Lz4Block.decompressInto(garbage, output)
        assert.isAtMost(written, size)
        if (written < 0) assert.include([-1, -2, -3, -4], written)
        for (let i = 0; i < 16; i++) {
          assert.strictEqual(arena[i], 0xcc)
          assert.strictEqual(arena[arena.length - 1 - i], 0xcc)
        }
      }),
      { numRuns: 1000 }
    )
  })
})

// -----------------------------------------------------------------------------
// Compression: each implementation
// -----------------------------------------------------------------------------

for (const [label, impl] of implementations) {
  describe(`Compression (${label})`, () => {
    it("decodes the crate's vectors", () => {
      const input = text(vectors.compression.input_ascii)
      equalBytes(success(impl.decompress("lz4", hex(vectors.compression.lz4_size_prefixed_block))), input)
      equalBytes(success(impl.decompress("zstd", hex(vectors.compression.zstd_level1_frame))), input)
    })

    it("round-trips short text (test_lz4/zstd_compression_roundtrip)", () => {
      const data = text("Hello, this is a test message for compression!")
      roundTrip(impl, "lz4", data)
      roundTrip(impl, "zstd", data)
    })

    it("writes the LZ4 size prefix and a standard zstd frame", () => {
      const data = jsonLike(5000)
      const lz4 = impl.compress("lz4", data)
      assert.strictEqual(new DataView(lz4.buffer, lz4.byteOffset).getUint32(0, true), 5000)
      assert.isUndefined(blockViolation(lz4.subarray(4), 5000))
      assert.strictEqual(toHex(impl.compress("zstd", data).subarray(0, 4)), "28b52ffd")
    })

    it("rejects the crate's hostile LZ4 inputs", () => {
      // test_lz4_oom_attack_prevention: claims ~3.1 GB.
      assert.match(failure(impl.decompress("lz4", hex("2b60bbbb"))), /claims 3149619243 bytes/)
      // test_lz4_size_limit_enforcement: 16 MiB + 1 and 16 zero bytes.
      const oversize = new Uint8Array(20)
      new DataView(oversize.buffer).setUint32(0, 16 * 1024 * 1024 + 1, true)
      assert.match(failure(impl.decompress("lz4", oversize)), /more than the limit of 16777216/)
      // test_lz4_short_input_rejection.
      assert.match(failure(impl.decompress("lz4", hex("2b60"))), /shorter than its size prefix/)
      failure(impl.decompress("lz4", new Uint8Array(0)))
      // test_malformed_compressed_data.
      failure(impl.decompress("lz4", hex("10000000ffffff")))
      // A prefix alone: no block.
      failure(impl.decompress("lz4", hex("00000000")))
    })

    it("rejects an LZ4 claim the block cannot produce, before allocating", () => {
      // 4 block bytes can decode to at most 4 × 255 bytes.
      const claim = withPrefix(1021, hex("1f610100"))
      assert.match(failure(impl.decompress("lz4", claim)), /more than a 4-byte block can hold/)
    })

    it("requires the LZ4 output to be exactly the announced size", () => {
      const block = hex(vectors.compression.lz4_size_prefixed_block).subarray(4)
      assert.match(failure(impl.decompress("lz4", withPrefix(62, block))), /LZ4/)
      assert.match(failure(impl.decompress("lz4", withPrefix(60, block))), /LZ4/)
      success(impl.decompress("lz4", withPrefix(61, block)))
    })

    it("honours a smaller maxSize for LZ4 and for zstd frames with and without a content size", () => {
      const data = jsonLike(10_000)
      const lz4 = impl.compress("lz4", data)
      failure(impl.decompress("lz4", lz4, 9_999))
      equalBytes(success(impl.decompress("lz4", lz4, 10_000)), data)
      const zstd = impl.compress("zstd", data)
      assert.match(failure(impl.decompress("zstd", zstd, 9_999)), /declares 10000 bytes/)
      equalBytes(success(impl.decompress("zstd", zstd, 10_000)), data)
      const unsized = zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 } })
      assert.strictEqual(unsized[4] & 0xe0, 0, "the frame does not declare its size")
      assert.match(failure(impl.decompress("zstd", unsized, 9_999)), /exceeds the limit of 9999/)
      equalBytes(success(impl.decompress("zstd", unsized, 10_000)), data)
      failure(impl.decompress("zstd", unsized, 0))
    })

    it("maybe_compress: below the threshold untouched, at or above compressed", () => {
      const tiny = text("tiny")
      const below = impl.maybeCompress("lz4", tiny, 512)
      assert.isFalse(below.compressed)
      assert.strictEqual(below.bytes, tiny)
      equalBytes(success(impl.maybeDecompress("lz4", below.bytes, below.compressed)), tiny)
      const ones = new Uint8Array(1024).fill(1)
      for (const kind of ["lz4", "zstd"] as const) {
        const above = impl.maybeCompress(kind, ones, 512)
        assert.isTrue(above.compressed)
        assert.isBelow(above.bytes.length, ones.length)
        equalBytes(success(impl.maybeDecompress(kind, above.bytes, above.compressed)), ones)
      }
      // Compresses even when it grows, like the crate.
      const grows = impl.maybeCompress("lz4", randomBytes(600), 512)
      assert.isTrue(grows.compressed)
      assert.isAbove(grows.bytes.length, 600)
    })

    it("adaptive: low entropy compressed, high entropy and growth not", () => {
      const zeros = new Uint8Array(2048)
      const low = impl.maybeCompressAdaptive("lz4", zeros, 512)
      assert.isTrue(low.compressed)
      assert.isBelow(low.bytes.length, zeros.length)
      equalBytes(success(impl.maybeDecompress("lz4", low.bytes, low.compressed)), zeros)
      const cycled = Uint8Array.from({ length: 2048 }, (_, i) => i % 256)
      const high = impl.maybeCompressAdaptive("lz4", cycled, 512)
      assert.isFalse(high.compressed)
      assert.strictEqual(high.bytes, cycled)
      // test_adaptive_compression_size_check: 100 zeros, threshold 50.
      const small = impl.maybeCompressAdaptive("zstd", new Uint8Array(100), 50)
      equalBytes(success(impl.maybeDecompress("zstd", small.bytes, small.compressed)), new Uint8Array(100))
      // Below 1 KiB it tries, and keeps the result only when strictly smaller.
      const random = randomBytes(900)
      const kept = impl.maybeCompressAdaptive("lz4", random, 0)
      assert.isFalse(kept.compressed)
      assert.strictEqual(kept.bytes, random)
      assert.isFalse(impl.maybeCompressAdaptive("lz4", zeros, 4096).compressed)
    })

    it("adaptive: text is compressed by default, skipped with the crate's 4.0 cut-off", () => {
      const json = jsonLike(4096)
      const entropy = Compression.shannonEntropy(json.subarray(0, 512))
      assert.isAbove(entropy, Compression.CRATE_ENTROPY_THRESHOLD)
      assert.isBelow(entropy, Compression.DEFAULT_ENTROPY_THRESHOLD)
      const byDefault = impl.maybeCompressAdaptive("zstd", json, 512)
      assert.isTrue(byDefault.compressed)
      equalBytes(success(impl.maybeDecompress("zstd", byDefault.bytes, true)), json)
      const crate = impl.maybeCompressAdaptive("zstd", json, 512, {
        entropyThreshold: Compression.CRATE_ENTROPY_THRESHOLD
      })
      assert.isFalse(crate.compressed)
      assert.isFalse(impl.maybeCompressAdaptive("zstd", randomBytes(4096), 512).compressed)
      const level = impl.maybeCompressAdaptive("zstd", json, 512, { level: 19 })
      equalBytes(success(impl.maybeDecompress("zstd", level.bytes, level.compressed)), json)
    })

    it("round-trips empty data and a single byte (test_compression_empty_data / single_byte)", () => {
      for (const kind of ["lz4", "zstd"] as const) {
        roundTrip(impl, kind, new Uint8Array(0), kind)
        roundTrip(impl, kind, new Uint8Array([42]), kind)
      }
      equalBytes(impl.compress("lz4", new Uint8Array(0)), hex("0000000000"))
    })

    it("compresses 1,000,000 × 0xAA below a tenth (test_compression_highly_repetitive_data)", () => {
      const data = new Uint8Array(1_000_000).fill(0xaa)
      for (const kind of ["lz4", "zstd"] as const) {
        assert.isBelow(roundTrip(impl, kind, data, kind).length, data.length / 10, kind)
      }
    })

    it("round-trips (i*7) mod 256 over 10,000 bytes (test_compression_random_data)", () => {
      const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256)
      roundTrip(impl, "lz4", data)
      roundTrip(impl, "zstd", data)
    })

    it("survives a corrupted LZ4 byte and rejects truncated zstd", () => {
      const lz4 = impl.compress("lz4", new Uint8Array(100).fill(0xaa))
      const corrupted = lz4.slice()
      corrupted[Math.min(8, corrupted.length - 1)] ^= 0xff
      const result = impl.decompress("lz4", corrupted)
      if (Result.isSuccess(result)) assert.strictEqual(result.success.length, 100)
      const zstd = impl.compress("zstd", new Uint8Array(50).fill(0xbb))
      assert.match(failure(impl.decompress("zstd", zstd.subarray(0, zstd.length - 1))), /truncated/)
      failure(impl.decompress("zstd", new Uint8Array(0)))
    })

    it("round-trips many messages (test_concurrent_compression)", () => {
      for (let i = 0; i < 50; i++) roundTrip(impl, "lz4", text(`data sample ${i}`.repeat(100)))
    })

    it("handles zstd frame sequences: several frames, skippable frames, trailing garbage", () => {
      const a = jsonLike(3000, 1)
      const b = jsonLike(2000, 2)
      const fa = impl.compress("zstd", a)
      const fb = zlib.zstdCompressSync(b, { params: { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 } })
      const skippable = hex("522a4d1803000000010203")
      const concat = (...parts: Array<Uint8Array>) => Uint8Array.from(parts.flatMap((p) => [...p]))
      equalBytes(success(impl.decompress("zstd", concat(fa, fa))), concat(a, a))
      equalBytes(success(impl.decompress("zstd", concat(skippable, fa, fb, skippable))), concat(a, b))
      equalBytes(success(impl.decompress("zstd", skippable)), new Uint8Array(0))
      failure(impl.decompress("zstd", concat(fa, fb), 4999))
      assert.match(failure(impl.decompress("zstd", concat(fa, hex("010203")))), /truncated/)
      assert.match(failure(impl.decompress("zstd", concat(fa, hex("01020304")))), /bad magic/)
    })

    it("rejects malformed zstd frames before decoding", () => {
      const frame = (...bytes: Array<number>) => Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, ...bytes])
      // Header descriptor with the reserved bit.
      assert.match(failure(impl.decompress("zstd", frame(0x08, 0x48, 0x01, 0x00, 0x00))), /reserved bit/)
      // A block of the reserved type 3.
      assert.match(failure(impl.decompress("zstd", frame(0x00, 0x48, 0x07, 0x00, 0x00))), /reserved type/)
      // A raw block announcing 128 KiB + 1.
      const big = ((128 * 1024 + 1) << 3) | 1
      const oversized = frame(0x00, 0x48, big & 0xff, (big >>> 8) & 0xff, big >>> 16)
      assert.match(failure(impl.decompress("zstd", oversized)), /128 KiB/)
      // Declares 1,000,000 bytes but holds one raw block of 3 bytes.
      assert.match(
        failure(impl.decompress("zstd", frame(0x80, 0x48, 0x40, 0x42, 0x0f, 0x00, 0x19, 0x00, 0x00, 1, 2, 3))),
        /do not match its declared size/
      )
      // The same frame declaring 3 bytes decodes.
      const exact = frame(0x20, 0x03, 0x19, 0x00, 0x00, 1, 2, 3)
      equalBytes(success(impl.decompress("zstd", exact)), Uint8Array.from([1, 2, 3]))
      // A header cut short, and a checksum cut short.
      assert.match(failure(impl.decompress("zstd", frame(0x80, 0x48, 0x40))), /truncated/)
      assert.match(failure(impl.decompress("zstd", frame(0x24, 0x03, 0x19, 0x00, 0x00, 1, 2, 3, 0xaa))), /truncated/)
    })

    it("rejects zstd bombs without allocating their size", () => {
      // 100 MiB of zeros: the frame declares its size.
      const declared = zlib.zstdCompressSync(new Uint8Array(100 << 20))
      assert.match(failure(impl.decompress("zstd", declared)), /declares 104857600 bytes/)
      // 800 RLE blocks of 128 KiB (100 MiB) in a frame without a content size.
      const rle = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]
      for (let i = 0; i < 800; i++) {
        const header = ((128 * 1024) << 3) | (1 << 1) | (i === 799 ? 1 : 0)
        rle.push(header & 0xff, (header >>> 8) & 0xff, header >>> 16, 0x00)
      }
      assert.match(failure(impl.decompress("zstd", Uint8Array.from(rle))), /more bytes than the limit/)
    })

    it("rejects a zstd bomb of compressed blocks without a content size", async () => {
      const bomb = await compressedBlockBomb()
      assert.isBelow(bomb.length, 1 << 20)
      assert.strictEqual(bomb[4] & 0xe0, 0, "the frame does not declare its size")
      const before = process.memoryUsage().arrayBuffers
      assert.match(failure(impl.decompress("zstd", bomb)), /exceeds the limit of 16777216/)
      assert.isBelow(process.memoryUsage().arrayBuffers - before, 64 << 20)
      assert.match(failure(impl.decompress("zstd", bomb, 1 << 20)), /exceeds the limit of 1048576/)
    })

    it("treats an invalid level or bound as a programming error", () => {
      assert.throws(() => impl.compress("zstd", new Uint8Array(10), 0), RangeError)
      assert.throws(() => impl.compress("zstd", new Uint8Array(10), 23), RangeError)
      assert.throws(() => impl.compress("zstd", new Uint8Array(10), 1.5), RangeError)
      assert.throws(() => impl.decompress("zstd", new Uint8Array(10), -1), RangeError)
      roundTrip(impl, "zstd", jsonLike(3000))
      equalBytes(success(impl.decompress("zstd", impl.compress("zstd", jsonLike(3000), 22))), jsonLike(3000))
    })

    it("property: round-trips 0..50,000 random bytes", () => {
      fc.assert(
        fc.property(compressibleBytes(50_000), fc.constantFrom("lz4" as const, "zstd" as const), (data, kind) => {
          roundTrip(impl, kind, data)
        }),
        { numRuns: 120 }
      )
    })

    it("property: truncated output never decodes", () => {
      fc.assert(
        fc.property(
          compressibleBytes(5000),
          fc.constantFrom("lz4" as const, "zstd" as const),
          fc.integer({ min: 1, max: 40 }),
          (data, kind, cut) => {
            const compressed = impl.compress(kind, data)
            failure(impl.decompress(kind, compressed.subarray(0, Math.max(0, compressed.length - cut))))
          }
        ),
        { numRuns: 200 }
      )
    })

    it("property: garbage never throws and never exceeds the bound", () => {
      const lz4Garbage = fc.tuple(fc.integer({ min: 0, max: 8192 }), fc.uint8Array({ maxLength: 1000 }))
        .map(([size, body]) => withPrefix(size, body))
      const zstdGarbage = fc.uint8Array({ maxLength: 1000 })
        .map((body) => Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, ...body]))
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 1000 }), lz4Garbage, zstdGarbage),
          fc.constantFrom("lz4" as const, "zstd" as const),
          fc.constantFrom(0, 100, 4096, Compression.DEFAULT_MAX_SIZE),
          (garbage, kind, maxSize) => {
            const result = impl.decompress(kind, garbage, maxSize)
            if (Result.isSuccess(result)) assert.isAtMost(result.success.length, maxSize)
            else assert.strictEqual(result.failure.reason._tag, "DecompressionFailure")
          }
        ),
        { numRuns: 2000 }
      )
    })
  })
}

// -----------------------------------------------------------------------------
// cross-decoding
// -----------------------------------------------------------------------------

describe("Compression cross-decoding", () => {
  it("every implementation decodes every other's output, and lz4_flex / node:zlib decode all of it", () => {
    for (const [label, data] of inputs) {
      for (const kind of ["lz4", "zstd"] as const) {
        for (const [encoderLabel, encoder] of implementations) {
          const compressed = encoder.compress(kind, data)
          for (const [decoderLabel, decoder] of implementations) {
            equalBytes(
              success(decoder.decompress(kind, compressed), `${encoderLabel} → ${decoderLabel}`),
              data,
              `${kind} ${label}: ${encoderLabel} → ${decoderLabel}`
            )
          }
          for (const [rawLabel, rawKind, decode] of rawDecoders) {
            if (rawKind === kind) {
              equalBytes(decode(compressed), data, `${kind} ${label}: ${encoderLabel} → ${rawLabel}`)
            }
          }
        }
      }
    }
  })

  it("lz4-napi reproduces the crate's LZ4 vector byte for byte", () => {
    const input = text(vectors.compression.input_ascii)
    for (const [label, impl] of implementations) {
      if (label === "native, lz4-napi only") {
        assert.strictEqual(toHex(impl.compress("lz4", input)), vectors.compression.lz4_size_prefixed_block)
      }
    }
    if (lz4Napi !== undefined) {
      assert.strictEqual(toHex(lz4Napi.compressSync(Buffer.from(input))), vectors.compression.lz4_size_prefixed_block)
    }
  })
})

// -----------------------------------------------------------------------------
// entropy and layers
// -----------------------------------------------------------------------------

describe("Compression.shannonEntropy", () => {
  it("matches the crate's entropy tests", () => {
    assert.isBelow(Compression.shannonEntropy(new Uint8Array(1000)), 0.1)
    assert.isAbove(Compression.shannonEntropy(Uint8Array.from({ length: 1000 }, (_, i) => i % 256)), 7.0)
    assert.isBelow(Compression.shannonEntropy(Uint8Array.from({ length: 1000 }, (_, i) => i % 2)), 2.0)
  })

  it("is exact on simple distributions", () => {
    assert.strictEqual(Compression.shannonEntropy(new Uint8Array(0)), 0)
    assert.strictEqual(Compression.shannonEntropy(new Uint8Array(10).fill(3)), 0)
    assert.closeTo(Compression.shannonEntropy(Uint8Array.from({ length: 512 }, (_, i) => i % 256)), 8, 1e-12)
    assert.closeTo(Compression.shannonEntropy(Uint8Array.from({ length: 100 }, (_, i) => i % 2)), 1, 1e-12)
    assert.closeTo(Compression.shannonEntropy(Uint8Array.from([0, 0, 1, 2])), 1.5, 1e-12)
  })

  it("puts random samples above the default cut-off and text below it", () => {
    assert.isAbove(Compression.shannonEntropy(randomBytes(512)), Compression.DEFAULT_ENTROPY_THRESHOLD)
    assert.isBelow(
      Compression.shannonEntropy(text("The quick brown fox jumps over the lazy dog. ".repeat(12)).subarray(0, 512)),
      Compression.DEFAULT_ENTROPY_THRESHOLD
    )
  })
})

describe("Compression layers", () => {
  it.effect("layerPortable provides the portable implementation", () =>
    Effect.gen(function*() {
      const compression = yield* Compression.Compression
      assert.strictEqual(compression.name, "lz4=typescript zstd=node:zlib")
      equalBytes(success(compression.decompress("lz4", compression.compress("lz4", jsonLike(100)))), jsonLike(100))
    }).pipe(Effect.provide(Compression.layerPortable)))

  it.effect("layerDefault uses each native addon that loads, and never fails", () =>
    Effect.gen(function*() {
      const compression = yield* Compression.Compression
      assert.match(compression.name, native._tag === "Some" ? /lz4=lz4-napi zstd=zstd-napi/ : /lz4=\S+ zstd=\S+/)
      equalBytes(success(compression.decompress("zstd", compression.compress("zstd", jsonLike(100)))), jsonLike(100))
    }).pipe(Effect.provide(Compression.layerDefault)))

  it.effect("layerNative either provides the native implementation or fails with CompressionFailure", () =>
    Effect.gen(function*() {
      const result = yield* Effect.result(Effect.provide(Compression.Compression, Compression.layerNative))
      if (Result.isSuccess(result)) assert.strictEqual(result.success.name, "lz4=lz4-napi zstd=zstd-napi")
      else assert.strictEqual(result.failure.reason._tag, "CompressionFailure")
      assert.strictEqual(Result.isSuccess(result), native._tag === "Some")
    }))
})
