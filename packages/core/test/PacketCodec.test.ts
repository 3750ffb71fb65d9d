import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as Packet from "../src/Packet.ts"
import * as PacketCodec from "../src/PacketCodec.ts"
import * as ProtocolError from "../src/ProtocolError.ts"
import { captures, hex, toHex } from "./vectors.ts"

/** The reason tag of a failed exit's ProtocolError. */
const failureTag = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  const error = Option.getOrUndefined(Exit.findErrorOption(exit))
  return ProtocolError.isProtocolError(error) ? error.reason._tag : undefined
}

const encodeOne = (payload: Uint8Array) => Packet.encode(Packet.make(payload))

/** Feeds `chunks` to a fresh decoder: the frames, the error (if any) and what stays buffered. */
const feedAll = (chunks: ReadonlyArray<Uint8Array>, maxPayloadSize?: number) => {
  const decoder = PacketCodec.makeDecoder({ maxPayloadSize })
  const frames: Array<Packet.Packet> = []
  let error: ProtocolError.ProtocolError | undefined
  for (const chunk of chunks) {
    error = decoder.feed(chunk, frames)
    if (error !== undefined) break
  }
  return { frames, error, buffered: decoder.buffered }
}

/** Splits `bytes` at the given cut points. */
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let last = 0
  for (const p of points) {
    chunks.push(bytes.subarray(last, p))
    last = p
  }
  chunks.push(bytes.subarray(last))
  return chunks
}

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

describe("PacketCodec decoder", () => {
  it("decodes a whole frame and holds nothing afterwards", () => {
    const { buffered, error, frames } = feedAll([encodeOne(new Uint8Array([1, 2, 3, 4, 5]))])
    assert.isUndefined(error)
    assert.strictEqual(frames.length, 1)
    assert.deepStrictEqual(frames[0].payload, new Uint8Array([1, 2, 3, 4, 5]))
    assert.strictEqual(buffered, 0)
  })

  it("keeps a partial header and emits nothing", () => {
    const { buffered, error, frames } = feedAll([encodeOne(new Uint8Array(5)).subarray(0, 5)])
    assert.isUndefined(error)
    assert.strictEqual(frames.length, 0)
    assert.strictEqual(buffered, 5)
  })

  it("encodes exactly 9 + N bytes and decodes them", () => {
    const bytes = encodeOne(new Uint8Array(100).fill(7))
    assert.strictEqual(bytes.length, 109)
    assert.deepStrictEqual(feedAll([bytes]).frames[0].payload, new Uint8Array(100).fill(7))
  })

  it("decodes several frames from one buffer, in order", () => {
    const packets = Array.from({ length: 10 }, (_, i) => Packet.make(new Uint8Array(10).fill(i)))
    const bytes = PacketCodec.encodeAll(packets)
    assert.instanceOf(bytes, Uint8Array)
    assert.strictEqual((bytes as Uint8Array).length, 190)
    const { buffered, frames } = feedAll([bytes as Uint8Array])
    assert.deepStrictEqual(frames.map((f) => f.payload[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.strictEqual(buffered, 0)
  })

  it("decodes a 19-byte frame fed byte by byte only at the last byte", () => {
    const bytes = encodeOne(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
    const decoder = PacketCodec.makeDecoder()
    const frames: Array<Packet.Packet> = []
    for (let i = 0; i < bytes.length; i++) {
      assert.isUndefined(decoder.feed(bytes.subarray(i, i + 1), frames))
      assert.strictEqual(frames.length, i === bytes.length - 1 ? 1 : 0)
    }
    assert.deepStrictEqual(frames[0].payload, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
  })

  it("decodes 1 MiB of 0xAB and a 10 KiB frame", () => {
    for (const size of [1024 * 1024, 10 * 1024]) {
      const payload = new Uint8Array(size).fill(0xab)
      const bytes = encodeOne(payload)
      assert.strictEqual(bytes.length, 9 + size)
      assert.deepStrictEqual(feedAll([bytes]).frames[0].payload, payload)
    }
  })

  it("hands out a payload inside one chunk as a view, without copying", () => {
    const chunk = encodeOne(new Uint8Array([9, 8, 7]))
    const { frames } = feedAll([chunk])
    assert.strictEqual(frames[0].payload.buffer, chunk.buffer)
    assert.strictEqual(frames[0].payload.byteOffset, 9)
  })

  it("copies a payload split across chunks exactly once, into a buffer of its exact size", () => {
    const payload = new Uint8Array(70_000).map((_, i) => i & 0xff)
    const bytes = encodeOne(payload)
    const { frames } = feedAll(split(bytes, [3, 20, 40_000, 69_000]))
    const out = frames[0].payload
    assert.strictEqual(out.buffer.byteLength, payload.length)
    assert.strictEqual(out.byteOffset, 0)
    assert.deepStrictEqual(out, payload)
  })

  it("rejects a 4 GiB announcement as soon as the header is in, holding no body", () => {
    const header = hex("4e50524f01ffffffff")
    const { buffered, error, frames } = feedAll([header, new Uint8Array(1000)])
    assert.strictEqual(error?.reason._tag, "OversizedPacket")
    assert.strictEqual(frames.length, 0)
    assert.isAtMost(buffered, 9)
  })

  it("rejects a wrong magic at the first wrong byte", () => {
    const decoder = PacketCodec.makeDecoder()
    assert.isUndefined(decoder.feed(hex("4e50"), []))
    assert.strictEqual(decoder.feed(hex("00"), [])?.reason._tag, "InvalidHeader")
    // and stays failed
    assert.strictEqual(decoder.feed(encodeOne(new Uint8Array(1)), [])?.reason._tag, "InvalidHeader")
  })

  it("rejects a wrong version as soon as the version byte is in", () => {
    const { error } = feedAll([hex("4e50524f02")])
    assert.strictEqual(error?.reason._tag, "UnsupportedVersion")
  })

  it("honours a smaller configured maximum", () => {
    const { error } = feedAll([encodeOne(new Uint8Array(1025))], 1024)
    assert.strictEqual(error?.reason._tag, "OversizedPacket")
    assert.strictEqual(feedAll([encodeOne(new Uint8Array(1024))], 1024).frames.length, 1)
  })

  it("stress: many frames of sizes 0 B … 1 MiB round-trip", () => {
    for (const [size, count] of [[0, 10_000], [1, 10_000], [64, 10_000], [512, 5_000], [4096, 2_000], [65536, 200], [
      1024 * 1024,
      20
    ]] as const) {
      const payload = new Uint8Array(size).fill(size & 0xff)
      const decoder = PacketCodec.makeDecoder()
      const frames: Array<Packet.Packet> = []
      for (let i = 0; i < count; i++) {
        assert.isUndefined(decoder.feed(encodeOne(payload), frames))
      }
      assert.strictEqual(frames.length, count)
      assert.isTrue(frames.every((f) => f.payload.length === size))
    }
  })

  it("property: decoding in any chunking equals decoding whole", () => {
    const stream = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }).map((payloads) =>
      concat(payloads.map(encodeOne))
    )
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const whole = feedAll([bytes])
        const chunked = feedAll(split(bytes, cuts))
        assert.deepStrictEqual(chunked.frames.map((f) => toHex(f.payload)), whole.frames.map((f) => toHex(f.payload)))
        assert.strictEqual(chunked.buffered, whole.buffered)
        assert.isUndefined(chunked.error)
      })
    )
  })

  it("property: garbage in any chunking never throws, errors the same way, and buffers at most max + header", () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      // mostly-valid headers with random lengths and versions
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.uint8Array({ maxLength: 2000 })).map(([v, len, rest]) =>
        concat([hex("4e50524f"), new Uint8Array([v]), hex(len.toString(16).padStart(8, "0")), rest])
      )
    )
    fc.assert(
      fc.property(garbage, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const whole = feedAll([bytes], 1024)
        const chunked = feedAll(split(bytes, cuts), 1024)
        assert.strictEqual(chunked.error?.reason._tag, whole.error?.reason._tag)
        assert.strictEqual(chunked.frames.length, whole.frames.length)
        assert.isAtMost(chunked.buffered, 1024 + 9)
      })
    )
  })

  it("decodes every frame of the Rust captures, in any chunking", () => {
    for (const capture of captures) {
      for (const dir of ["C->S", "S->C"] as const) {
        const frames = capture.frames.filter((f) => f.dir === dir)
        const stream = concat(frames.map((f) => hex(f.hex)))
        for (const cuts of [[], [1], [5, 9, 10, 60, 61, 100, 200]]) {
          const { buffered, error, frames: decoded } = feedAll(split(stream, cuts))
          assert.isUndefined(error, capture.name)
          assert.strictEqual(buffered, 0)
          assert.deepStrictEqual(decoded.map((p) => toHex(encodeOne(p.payload))), frames.map((f) => f.hex))
        }
      }
    }
  })
})

describe("PacketCodec channels", () => {
  const runDecode = (chunks: ReadonlyArray<Uint8Array>) =>
    Stream.fromIterable(chunks).pipe(
      Stream.pipeThroughChannel(PacketCodec.decode()),
      Stream.runCollect,
      Effect.exit
    )

  it.effect("decodes a chunked byte stream into packets", () =>
    Effect.gen(function*() {
      const bytes = concat([encodeOne(hex("00000000")), encodeOne(hex("01000000"))])
      const exit = yield* runDecode(split(bytes, [2, 11, 14]))
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.deepStrictEqual(exit.value.map((p) => toHex(p.payload)), ["00000000", "01000000"])
    }))

  it.effect("emits good frames before failing on a bad one", () =>
    Effect.gen(function*() {
      const bytes = concat([encodeOne(hex("00000000")), hex("4e50524f09")])
      const seen: Array<string> = []
      const exit = yield* Stream.fromIterable([bytes]).pipe(
        Stream.pipeThroughChannel(PacketCodec.decode()),
        Stream.runForEach((p) => Effect.sync(() => seen.push(toHex(p.payload)))),
        Effect.exit
      )
      assert.deepStrictEqual(seen, ["00000000"])
      assert.strictEqual(failureTag(exit), "UnsupportedVersion")
    }))

  it.effect("fails with Io when the stream ends in the middle of a frame", () =>
    Effect.gen(function*() {
      const exit = yield* runDecode([encodeOne(hex("00000000")).subarray(0, 11)])
      assert.strictEqual(failureTag(exit), "Io")
      const error = Option.getOrUndefined(Exit.findErrorOption(exit))
      assert.match(ProtocolError.isProtocolError(error) ? error.message : "", /\(11 bytes remaining on stream\)/)
    }))

  it.effect("encodes each batch of packets into one buffer", () =>
    Effect.gen(function*() {
      const chunks = yield* Stream.fromIterable([Packet.make(hex("00000000")), Packet.make(hex("01000000"))]).pipe(
        Stream.pipeThroughChannel(PacketCodec.encode()),
        Stream.runCollect
      )
      assert.strictEqual(toHex(concat(chunks)), "4e50524f0100000004000000004e50524f01000000040100000" + "0")
    }))

  it.effect("refuses to encode an oversized payload", () =>
    Effect.gen(function*() {
      const exit = yield* Stream.make(Packet.make(new Uint8Array(11))).pipe(
        Stream.pipeThroughChannel(PacketCodec.encode({ maxPayloadSize: 10 })),
        Stream.runCollect,
        Effect.exit
      )
      assert.strictEqual(failureTag(exit), "OversizedPacket")
    }))
})
