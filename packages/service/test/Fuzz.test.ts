/**
 * Bounded property-based and mutation fuzzing of the multiplexer's frame
 * decoders (the crate's raw `u64 BE id ‖ u32 BE length ‖ payload` frame,
 * SPEC §8), seeded from `shared/wire/vectors.json`. The decoders of the core
 * package are fuzzed in `packages/core/test/Fuzz.test.ts`. `FUZZ_SCALE`
 * multiplies the budgets.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Multiplexer from "../src/Multiplexer.ts"

const SCALE = Number(process.env["FUZZ_SCALE"] ?? "1")
const budget = (runs: number, ms: number) => ({
  numRuns: Math.round(runs * SCALE),
  plugins: [fc.interruptAfterTimeLimit(Math.round(ms * SCALE))]
})

const vectors = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, "../../../../shared/wire/vectors.json"), "utf8")
) as { readonly multiplex_frame: { readonly example_id1_hello: string } }
const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"))

const corpus: ReadonlyArray<Uint8Array> = [
  hex(vectors.multiplex_frame.example_id1_hello),
  Multiplexer.encodeFrame({ id: 0xffff_ffff_ffff_ffffn, payload: new Uint8Array(0) }),
  Multiplexer.encodeFrames([
    { id: 2n, payload: new Uint8Array(40).fill(1) },
    { id: 3n, payload: new Uint8Array(3) }
  ])
]

const mutated = fc.tuple(
  fc.constantFrom(...corpus),
  fc.array(
    fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0xff))),
    { minLength: 1, maxLength: 4 }
  ),
  fc.nat({ max: 64 })
).map(([frame, sets, cut]) => {
  const bytes = new Uint8Array(frame)
  for (const [at, value] of sets) bytes[at % bytes.length] = value
  return bytes.subarray(0, Math.max(0, bytes.length - (cut % 8)))
})
const input = fc.oneof(fc.uint8Array({ maxLength: 256 }), mutated, fc.constantFrom(...corpus))

const streams = fc.array(input, { minLength: 1, maxLength: 4 }).map((parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
  return out
})

describe("fuzz: multiplex frames", () => {
  it("FrameDecoder: any bytes in any chunking — same frames as one chunk, bounded, OversizedPacket only", () => {
    const max = 1024
    fc.assert(
      fc.property(streams, fc.array(fc.integer({ min: 1, max: 32 }), { maxLength: 32 }), (bytes, sizes) => {
        const whole = Multiplexer.makeDecoder({ maxPayloadSize: max })
        const wholeOut: Array<Multiplexer.Frame> = []
        const wholeError = whole.feed(bytes, wholeOut)
        const split = Multiplexer.makeDecoder({ maxPayloadSize: max })
        const splitOut: Array<Multiplexer.Frame> = []
        let splitError = undefined
        let at = 0
        for (const size of [...sizes, bytes.length]) {
          if (at >= bytes.length) break
          splitError = split.feed(bytes.subarray(at, at + size), splitOut) ?? splitError
          at += size
          assert.isAtMost(split.buffered, Multiplexer.HEADER_SIZE + max)
        }
        assert.deepStrictEqual(
          splitOut.map((f) => [f.id, f.payload]),
          wholeOut.map((f) => [f.id, f.payload])
        )
        assert.strictEqual(splitError?.reason._tag, wholeError?.reason._tag)
        if (wholeError !== undefined) assert.strictEqual(wholeError.reason._tag, "OversizedPacket")
        for (const frame of wholeOut) assert.isAtMost(frame.payload.length, max)
      }),
      budget(1500, 3000)
    )
  })

  it("decodeFrame: never throws; accepts exactly the well-formed frames, which re-encode identically", () => {
    fc.assert(
      fc.property(input, (bytes) => {
        const result = Multiplexer.decodeFrame(bytes)
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure.reason._tag, "DeserializeError")
          return
        }
        assert.deepStrictEqual(Multiplexer.encodeFrame(result.success), bytes)
      }),
      budget(2000, 2000)
    )
  })

  it("a header claiming up to 4 GiB is refused from its 12 bytes, before any body is held", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1025, max: 0xffff_ffff }), (id, length) => {
        const header = new Uint8Array(Multiplexer.HEADER_SIZE)
        const view = new DataView(header.buffer)
        view.setBigUint64(0, id)
        view.setUint32(8, length)
        const decoder = Multiplexer.makeDecoder({ maxPayloadSize: 1024 })
        assert.strictEqual(decoder.feed(header, [])?.reason._tag, "OversizedPacket")
        assert.strictEqual(decoder.buffered, 0)
      }),
      budget(500, 1000)
    )
  })
})
