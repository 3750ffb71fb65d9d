/**
 * Bounded property-based and mutation fuzzing of every decoder of the core
 * package: packet framing, bincode, the handshake messages (with the
 * extension blocks), the compatible secure channel, the extended envelope and
 * both decompressors.
 *
 * Inputs are random bytes and mutations (bit flips, byte overwrites,
 * truncations, insertions, extreme length fields, splices) of a corpus seeded
 * from `shared/wire/vectors.json`, the Rust captures, and freshly made
 * extended-profile traffic. Each property is capped in runs and in time (see
 * `budget`), so the file takes a few seconds; set `FUZZ_SCALE` (e.g. 20) for a
 * longer local run. Asserted: nothing throws, nothing hangs (the time caps
 * would interrupt it and the test would miss its run count), failures are the
 * expected typed reasons, and nothing is buffered or allocated beyond the
 * configured bounds.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as Compression from "../src/Compression.ts"
import * as Crypto from "../src/Crypto.ts"
import * as ExtendedHandshake from "../src/ExtendedHandshake.ts"
import * as Identity from "../src/Identity.ts"
import * as Message from "../src/Message.ts"
import * as MessageCodec from "../src/MessageCodec.ts"
import * as Packet from "../src/Packet.ts"
import * as PacketCodec from "../src/PacketCodec.ts"
import * as ProtocolError from "../src/ProtocolError.ts"
import * as ReplayCache from "../src/ReplayCache.ts"
import * as SecureChannel from "../src/SecureChannel.ts"
import * as SecureEnvelope from "../src/SecureEnvelope.ts"
import { captures, hex, vectors } from "./vectors.ts"

// -----------------------------------------------------------------------------
// budget, corpus, mutations
// -----------------------------------------------------------------------------

const SCALE = Number(process.env["FUZZ_SCALE"] ?? "1")

/** At most `runs × FUZZ_SCALE` runs and `ms × FUZZ_SCALE` milliseconds. */
const budget = (runs: number, ms: number) => ({
  numRuns: Math.round(runs * SCALE),
  plugins: [fc.interruptAfterTimeLimit(Math.round(ms * SCALE))]
})

const crypto = await Effect.runPromise(Crypto.makeDefault)
const NOW = 1_700_000_000_000

const frames: ReadonlyArray<Uint8Array> = [
  hex(vectors.packet.ping_frame),
  hex(vectors.packet.echo_hi_frame),
  ...vectors.aead_xchacha20poly1305.map((v) => hex(v.secure_frame)),
  ...captures.flatMap((capture) => capture.frames.map((frame) => hex(frame.hex)))
]
const payloadOf = (frame: Uint8Array) => frame.subarray(Packet.HEADER_SIZE)

const serverId = Identity.generate()
const clientId = Identity.generate()

/** A complete pinned exchange with client authentication and compression: its three payloads. */
const exchange = () => {
  const client = ExtendedHandshake.makeClientUnsafe(crypto, {
    pin: serverId.fingerprint,
    identity: clientId,
    compression: ["lz4", "zstd"]
  })
  const server = ExtendedHandshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe(), {
    identity: serverId,
    requireClientAuth: true,
    compression: ["zstd"]
  })
  const init = Result.getOrThrow(client.init(NOW))
  const response = Result.getOrThrow(server.respond(init, NOW))
  const { confirm, outcome } = Result.getOrThrow(client.confirm(response))
  return { init, response, confirm, outcome, serverOutcome: Result.getOrThrow(server.finish(confirm)) }
}
const sample = exchange()

const handshakePayloads: ReadonlyArray<Uint8Array> = [
  sample.init,
  sample.response,
  sample.confirm,
  ...Object.values(vectors.bincode).map(hex)
]

const bincodePayloads: ReadonlyArray<Uint8Array> = [
  ...Object.values(vectors.bincode).map(hex),
  hex("0500000002000000000000006869"),
  hex("07000000030000000000000063" + "6d64" + "0300000000000000010203")
]

const codec = Compression.makePortable()
const defaultCodec = await Effect.runPromise(Compression.makeDefault())
const text = new TextEncoder().encode("network-protocol ".repeat(64) + "0123456789")
const compressed: Record<Compression.Kind, ReadonlyArray<Uint8Array>> = {
  lz4: [hex(vectors.compression["lz4_size_prefixed_block"]), codec.compress("lz4", text), codec.compress("lz4", new Uint8Array(3000))],
  zstd: [hex(vectors.compression["zstd_level1_frame"]), codec.compress("zstd", text), codec.compress("zstd", new Uint8Array(3000))]
}

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "extreme"; readonly at: number; readonly width: number; readonly value: number }
  | { readonly kind: "splice"; readonly at: number; readonly other: number }

const mutationArb = (corpusSize: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({
      kind: fc.constant("extreme" as const),
      at: fc.nat(),
      width: fc.constantFrom(1, 2, 4, 8),
      value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff)
    }),
    fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), other: fc.nat({ max: Math.max(0, corpusSize - 1) }) })
  )

const mutate = (input: Uint8Array, mutations: ReadonlyArray<Mutation>, corpus: ReadonlyArray<Uint8Array>): Uint8Array => {
  let bytes = new Uint8Array(input)
  for (const m of mutations) {
    const n = bytes.length
    const at = n === 0 ? 0 : m.at % n
    switch (m.kind) {
      case "flip":
        if (n > 0) bytes[at] ^= 1 << m.bit
        break
      case "set":
        if (n > 0) bytes[at] = m.value
        break
      case "truncate":
        bytes = bytes.slice(0, at)
        break
      case "insert": {
        const out = new Uint8Array(n + m.bytes.length)
        out.set(bytes.subarray(0, at))
        out.set(m.bytes, at)
        out.set(bytes.subarray(at), at + m.bytes.length)
        bytes = out
        break
      }
      case "extreme":
        for (let i = 0; i < m.width && at + i < n; i++) bytes[at + i] = m.value
        break
      case "splice": {
        const other = corpus[m.other % corpus.length]
        const out = new Uint8Array(at + other.length)
        out.set(bytes.subarray(0, at))
        out.set(other, at)
        bytes = out
        break
      }
    }
  }
  return bytes
}

/** Random bytes, corpus entries, and mutated corpus entries. */
const inputs = (corpus: ReadonlyArray<Uint8Array>, maxLength = 512): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength }) },
    { weight: 1, arbitrary: fc.constantFrom(...corpus) },
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constantFrom(...corpus), fc.array(mutationArb(corpus.length), { minLength: 1, maxLength: 4 }))
        .map(([input, mutations]) => mutate(input, mutations, corpus))
    }
  )

/** Split points of a byte stream. */
const chunking = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 32 })

const chunks = (bytes: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let at = 0
  for (const size of sizes) {
    if (at >= bytes.length) break
    out.push(bytes.subarray(at, at + size))
    at += size
  }
  if (at < bytes.length) out.push(bytes.subarray(at))
  return out
}

const reasonOf = (result: Result.Result<unknown, ProtocolError.ProtocolError>): string =>
  Result.isFailure(result) ? result.failure.reason._tag : "Success"

/** Bytes held in ArrayBuffers by the process (Node's accounting, garbage included). */
const arrayBuffers = () => process.memoryUsage().arrayBuffers

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("fuzz: packet framing", () => {
  it("PacketDecoder: any bytes in any chunking — same result as one chunk, bounded, typed errors", () => {
    const max = 4096
    const streams = fc.array(inputs(frames, 256), { minLength: 1, maxLength: 4 }).map((parts) => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
      return out
    })
    fc.assert(
      fc.property(streams, chunking, (bytes, sizes) => {
        const whole = PacketCodec.makeDecoder({ maxPayloadSize: max })
        const wholeOut: Array<Packet.Packet> = []
        const wholeError = whole.feed(bytes, wholeOut)
        const split = PacketCodec.makeDecoder({ maxPayloadSize: max })
        const splitOut: Array<Packet.Packet> = []
        let splitError: ProtocolError.ProtocolError | undefined
        for (const chunk of chunks(bytes, sizes)) {
          splitError = split.feed(chunk, splitOut) ?? splitError
          assert.isAtMost(split.buffered, Packet.HEADER_SIZE + max)
        }
        assert.deepStrictEqual(splitOut.map((p) => p.payload), wholeOut.map((p) => p.payload))
        assert.strictEqual(splitError?.reason._tag, wholeError?.reason._tag)
        for (const packet of wholeOut) assert.isAtMost(packet.payload.length, max)
        if (wholeError !== undefined) {
          assert.include(["InvalidHeader", "UnsupportedVersion", "OversizedPacket"], wholeError.reason._tag)
          // once failed, stays failed
          assert.strictEqual(whole.feed(frames[0], []), wholeError)
        }
      }),
      budget(1500, 4000)
    )
  })

  it("Packet.decode of one frame: never throws, exact length or InvalidHeader/UnsupportedVersion/OversizedPacket", () => {
    fc.assert(
      fc.property(inputs(frames), (bytes) => {
        const result = Packet.decode(bytes, 4096)
        if (Result.isSuccess(result)) assert.strictEqual(result.success.payload.length + Packet.HEADER_SIZE, bytes.length)
        else assert.include(["InvalidHeader", "UnsupportedVersion", "OversizedPacket"], result.failure.reason._tag)
      }),
      budget(2000, 2000)
    )
  })
})

describe("fuzz: bincode", () => {
  it("MessageCodec.decode: never throws; a decoded message re-encodes to the bytes it was read from", () => {
    fc.assert(
      fc.property(inputs([...bincodePayloads, ...frames.map(payloadOf)]), (bytes) => {
        const result = MessageCodec.decode(bytes)
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure.reason._tag, "Serialization")
          return
        }
        const message = result.success
        if (message._tag === "Unknown") return
        const again = Result.getOrThrow(MessageCodec.encode(message))
        // bincode ignores trailing bytes: the message is a prefix of the input
        assert.deepStrictEqual(again, bytes.subarray(0, again.length))
        if (message._tag === "Custom") assert.isAtMost(message.payload.length, bytes.length)
      }),
      budget(3000, 3000)
    )
  })

  it("MessageCodec: any message round-trips", () => {
    const messages = fc.oneof(
      fc.constant(Message.Ping()),
      fc.constant(Message.Disconnect()),
      fc.string({ unit: "grapheme", maxLength: 64 }).map((text) => Message.Echo({ text })),
      // a leading U+FEFF is data, not a byte-order mark to strip (found by this property)
      fc.string({ unit: "grapheme", maxLength: 64 }).map((text) => Message.Echo({ text: `\uFEFF${text}` })),
      fc.tuple(fc.string({ maxLength: 16 }), fc.uint8Array({ maxLength: 128 })).map(([command, payload]) =>
        Message.Custom({ command, payload })
      )
    )
    fc.assert(
      fc.property(messages, (message) => {
        const decoded = Result.getOrThrow(MessageCodec.decode(Result.getOrThrow(MessageCodec.encode(message))))
        assert.deepStrictEqual(decoded, message)
      }),
      budget(1000, 1500)
    )
  })
})

describe("fuzz: handshake messages and extension blocks", () => {
  it("parseInit / parseResponse / parseConfirm: never throw; a block is either parsed or typed-refused", () => {
    fc.assert(
      fc.property(inputs(handshakePayloads), (bytes) => {
        const parsers: ReadonlyArray<
          (bytes: Uint8Array) => Result.Result<
            ExtendedHandshake.Parsed<
              Message.Message,
              ExtendedHandshake.ClientHello | ExtendedHandshake.ServerHello | ExtendedHandshake.ClientFinish
            >,
            ProtocolError.ProtocolError
          >
        > = [ExtendedHandshake.parseInit, ExtendedHandshake.parseResponse, ExtendedHandshake.parseConfirm]
        for (const parse of parsers) {
          const result = parse(bytes)
          if (Result.isFailure(result)) {
            assert.include(["HandshakeError", "DeserializeError"], result.failure.reason._tag)
          } else if (result.success.extension !== undefined) {
            const extension = result.success.extension
            assert.isAtLeast(extension.version, ExtendedHandshake.VERSION)
            if ("finished" in extension) assert.strictEqual(extension.finished.length, ExtendedHandshake.FINISHED_SIZE)
          }
        }
      }),
      budget(3000, 3000)
    )
  })

  it("the machines never throw on hostile payloads, and end Failed or waiting", () => {
    fc.assert(
      fc.property(inputs(handshakePayloads), inputs(handshakePayloads), (first, second) => {
        const server = ExtendedHandshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe(), { identity: serverId })
        const responded = server.respond(first, NOW)
        if (Result.isSuccess(responded)) server.finish(second)
        const client = ExtendedHandshake.makeClientUnsafe(crypto, { compression: ["lz4"] })
        Result.getOrThrow(client.init(NOW))
        const confirmed = client.confirm(second)
        if (Result.isFailure(confirmed)) assert.strictEqual(client.phase, "Failed")
        server.destroy()
        client.destroy()
      }),
      budget(400, 3000)
    )
  })

  it("any mutation of a pinned exchange's Init, Response or Confirm is refused", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 2),
        fc.array(mutationArb(handshakePayloads.length), { minLength: 1, maxLength: 3 }),
        (which, mutations) => {
          const client = ExtendedHandshake.makeClientUnsafe(crypto, { pin: serverId.fingerprint, identity: clientId })
          const server = ExtendedHandshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe(), {
            identity: serverId,
            requireClientAuth: true
          })
          const tamper = (index: number, bytes: Uint8Array) => {
            if (index !== which) return bytes
            const mutated = mutate(bytes, mutations, handshakePayloads)
            return mutated
          }
          const original = Result.getOrThrow(client.init(NOW))
          const init = tamper(0, original)
          const response = server.respond(init, NOW)
          if (Result.isFailure(response)) return
          const original2 = response.success
          const confirmed = client.confirm(tamper(1, original2))
          if (Result.isFailure(confirmed)) return
          const original3 = confirmed.success.confirm
          const confirm = tamper(2, original3)
          const finished = server.finish(confirm)
          // Only an unchanged exchange may complete.
          const unchanged = [init, tamper(1, original2), confirm][which]
          const before = [original, original2, original3][which]
          if (Result.isSuccess(finished)) {
            assert.deepStrictEqual(unchanged, before, "a mutated handshake completed")
          }
        }
      ),
      budget(600, 5000)
    )
  })
})

describe("fuzz: secure framing", () => {
  const channelCorpus = vectors.aead_xchacha20poly1305.map((v) => payloadOf(hex(v.secure_frame)))

  it("SecureChannel.open (compatible): never throws; only the genuine frames open", () => {
    const channel = SecureChannel.makeUnsafe(crypto, hex(vectors.aead_xchacha20poly1305[0].key))
    fc.assert(
      fc.property(inputs(channelCorpus), (payload) => {
        const result = channel.open(Packet.make(payload))
        if (Result.isSuccess(result)) assert.isTrue(channelCorpus.some((c) => c.length === payload.length))
        else assert.include(["DecryptionFailure", "Serialization"], reasonOf(result))
      }),
      budget(2000, 2000)
    )
  })

  const keysOf = (outcome: ExtendedHandshake.Outcome) => {
    if (outcome.profile !== "extended") throw new Error("expected the extended profile")
    return outcome.keys
  }
  const envelopes = () => {
    const { outcome, serverOutcome } = exchange()
    return {
      pair: {
        sender: SecureEnvelope.makeUnsafe(crypto, keysOf(outcome), { compression: "zstd", codec }),
        receiver: SecureEnvelope.makeUnsafe(crypto, keysOf(serverOutcome), {
          compression: "zstd",
          codec,
          maxMessageSize: 8192
        })
      }
    }
  }

  it("SecureEnvelope.open: any mutation of a frame is refused, nothing throws", () => {
    const { pair } = envelopes()
    const genuine = [
      Message.Ping(),
      Message.Echo({ text: "x".repeat(2000) }),
      Message.Custom({ command: "C", payload: new Uint8Array(100) })
    ].map((m) => Result.getOrThrow(pair.sender.seal(m)).payload)
    fc.assert(
      fc.property(
        fc.constantFrom(...genuine),
        fc.array(mutationArb(genuine.length), { minLength: 1, maxLength: 3 }),
        (frame, mutations) => {
          const mutated = mutate(frame, mutations, genuine)
          if (mutated.length === frame.length && mutated.every((b, i) => b === frame[i])) return
          const { receiver } = envelopes().pair
          const result = receiver.open(Packet.make(mutated))
          assert.isTrue(Result.isFailure(result))
          assert.include(["DecryptionFailure", "SecurityError"], reasonOf(result))
        }
      ),
      budget(300, 3000)
    )
  })

  it("SecureEnvelope: a receiver accepts exactly the in-order prefix of any delivery order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 10 }), (order) => {
        const { sender, receiver } = envelopes().pair
        const sent = [0, 1, 2, 3, 4, 5].map((i) => Result.getOrThrow(sender.seal(Message.Echo({ text: String(i) }))))
        let expected = 0
        for (const index of order) {
          const result = receiver.open(sent[index])
          if (index === expected) {
            assert.deepStrictEqual(Result.getOrThrow(result), Message.Echo({ text: String(index) }))
            expected++
            continue
          }
          const violation = Result.isFailure(result) ? SecureEnvelope.integrityViolation(result.failure) : undefined
          assert.deepStrictEqual(
            violation === undefined ? undefined : [violation.kind, violation.expected, violation.received],
            [index < expected ? "Replay" : "OutOfOrder", expected, index]
          )
          return
        }
      }),
      budget(300, 3000)
    )
  })
})

describe("fuzz: decompression", () => {
  const codecs = [Compression.makePortable(), defaultCodec]
  const MAX = 64 * 1024

  for (const kind of ["lz4", "zstd"] as const) {
    it(`${kind}: never throws; output within the bound${kind === "lz4" ? ", exactly the announced size" : ""}`, () => {
      fc.assert(
        fc.property(inputs(compressed[kind]), fc.constantFrom(...codecs), (bytes, implementation) => {
          const result = implementation.decompress(kind, bytes, MAX)
          if (Result.isFailure(result)) {
            assert.strictEqual(result.failure.reason._tag, "DecompressionFailure")
            return
          }
          assert.isAtMost(result.success.length, MAX)
          if (kind === "lz4") {
            assert.strictEqual(result.success.length, new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true))
          }
        }),
        budget(1500, 3000)
      )
    })

    it(`${kind}: any input round-trips through compress/decompress`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s.repeat(3)))), (data) => {
          for (const implementation of codecs) {
            const out = Result.getOrThrow(implementation.decompress(kind, implementation.compress(kind, data), MAX))
            assert.deepStrictEqual(out, data)
          }
        }),
        budget(300, 2000)
      )
    })
  }

  it("decompression bombs and huge length claims are refused without allocating beyond the bound", () => {
    const u32le = (n: number) => {
      const b = new Uint8Array(4)
      new DataView(b.buffer).setUint32(0, n, true)
      return b
    }
    const cat = (...parts: ReadonlyArray<Uint8Array>) => hex(parts.map((p) => Buffer.from(p).toString("hex")).join(""))
    // LZ4: a size prefix of up to 4 GiB in front of a real block.
    const lz4Claims = fc.tuple(fc.integer({ min: MAX + 1, max: 0xffff_ffff }), fc.constantFrom(...compressed.lz4))
      .map(([size, block]) => cat(u32le(size), block.subarray(4)))
    // zstd: a frame header declaring up to 2^64 − 1 bytes (8-byte frame content size).
    const zstdClaims = fc.bigInt({ min: BigInt(MAX + 1), max: (1n << 64n) - 1n }).map((size) => {
      const fcs = new Uint8Array(8)
      new DataView(fcs.buffer).setBigUint64(0, size, true)
      // magic, descriptor (FCS 8 bytes, single segment), FCS, one last RLE block: 100 × 0x7f
      return cat(hex("28b52ffd"), hex("e0"), fcs, hex("230300"), hex("7f"))
    })
    // A real bomb: 16 MiB of zeros compresses to a few hundred bytes.
    const bombs = [codec.compress("zstd", new Uint8Array(16 << 20)), codec.compress("lz4", new Uint8Array(16 << 20))]
    const before = arrayBuffers()
    fc.assert(
      fc.property(fc.oneof(lz4Claims.map((b) => ["lz4", b] as const), zstdClaims.map((b) => ["zstd", b] as const), fc.constantFrom(["zstd", bombs[0]] as const, ["lz4", bombs[1]] as const)), fc.constantFrom(...codecs), ([kind, bytes], implementation) => {
        const start = arrayBuffers()
        const result = implementation.decompress(kind, bytes, MAX)
        assert.strictEqual(reasonOf(result), "DecompressionFailure")
        // a failed call keeps nothing, and allocated at most ~ the bound (GC may only lower this)
        assert.isBelow(arrayBuffers() - start, 8 * MAX + (1 << 20))
      }),
      budget(300, 3000)
    )
    assert.isBelow(arrayBuffers() - before, 64 << 20)
  })

  it("bincode and packet headers claiming up to 4 GiB / 2^64 bytes are refused before allocating", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n << 20n, max: (1n << 64n) - 1n }), fc.integer({ min: 4097, max: 0xffff_ffff }), (claim, length) => {
        const start = arrayBuffers()
        const echo = new Uint8Array(12 + 8)
        echo[0] = 5
        new DataView(echo.buffer).setBigUint64(4, claim, true)
        assert.strictEqual(reasonOf(MessageCodec.decode(echo)), "Serialization")
        const header = new Uint8Array(Packet.HEADER_SIZE)
        Packet.writeHeader(header, 0, length)
        const decoder = PacketCodec.makeDecoder({ maxPayloadSize: 4096 })
        assert.strictEqual(decoder.feed(header, [])?.reason._tag, "OversizedPacket")
        assert.isAtMost(decoder.buffered, Packet.HEADER_SIZE)
        assert.isBelow(arrayBuffers() - start, 1 << 20)
      }),
      budget(500, 1500)
    )
  })
})
