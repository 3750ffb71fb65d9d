import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as Message from "../src/Message.ts"
import * as MessageCodec from "../src/MessageCodec.ts"
import * as Packet from "../src/Packet.ts"
import { captures, hex, toHex, vectors } from "./vectors.ts"

const fill = (size: number, byte: number) => new Uint8Array(size).fill(byte)

const encodeHex = (message: Message.Message) => toHex(Result.getOrThrow(MessageCodec.encode(message)))

const failureOf = (bytes: Uint8Array) => {
  const result = MessageCodec.decode(bytes)
  assert.isTrue(Result.isFailure(result), `expected a failure for ${toHex(bytes)}`)
  return (result as Result.Failure<Message.Message, import("../src/ProtocolError.ts").ProtocolError>).failure
}

/** The messages named by the keys of vectors.json's "bincode" section. */
const vectorMessages: ReadonlyArray<readonly [string, Message.Message]> = [
  ["Ping", Message.Ping()],
  ["Pong", Message.Pong()],
  [
    "SecureHandshakeInit{pub_key=[0x11;32],timestamp=0x0102030405060708,nonce=[0x22;16]}",
    Message.SecureHandshakeInit({ pubKey: fill(32, 0x11), timestamp: 0x0102030405060708n, nonce: fill(16, 0x22) })
  ],
  [
    "SecureHandshakeResponse{pub_key=[0x33;32],nonce=[0x44;16],nonce_verification=[0x55;32]}",
    Message.SecureHandshakeResponse({
      pubKey: fill(32, 0x33),
      nonce: fill(16, 0x44),
      nonceVerification: fill(32, 0x55)
    })
  ],
  [
    "SecureHandshakeConfirm{nonce_verification=[0x66;32]}",
    Message.SecureHandshakeConfirm({ nonceVerification: fill(32, 0x66) })
  ],
  ["Echo(\"hi\")", Message.Echo({ text: "hi" })],
  ["Disconnect", Message.Disconnect()],
  ["Custom{command=\"cmd\",payload=[1,2,3]}", Message.Custom({ command: "cmd", payload: new Uint8Array([1, 2, 3]) })],
  ["Unknown", Message.Unknown()]
]

const arbitraryMessage: fc.Arbitrary<Message.Message> = fc.oneof(
  fc.constant(Message.Ping()),
  fc.constant(Message.Pong()),
  fc.constant(Message.Disconnect()),
  fc.constant(Message.Unknown()),
  fc.string({ unit: "grapheme", maxLength: 200 }).map((text) => Message.Echo({ text })),
  fc.tuple(fc.string({ unit: "binary", maxLength: 40 }), fc.uint8Array({ maxLength: 500 })).map(([command, payload]) =>
    Message.Custom({ command, payload })
  ),
  fc.tuple(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
    fc.uint8Array({ minLength: 16, maxLength: 16 })
  ).map(([pubKey, timestamp, nonce]) => Message.SecureHandshakeInit({ pubKey, timestamp, nonce })),
  fc.tuple(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 })
  ).map(([pubKey, nonce, nonceVerification]) => Message.SecureHandshakeResponse({ pubKey, nonce, nonceVerification })),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((nonceVerification) =>
    Message.SecureHandshakeConfirm({ nonceVerification })
  )
)

describe("MessageCodec", () => {
  it("encodes and decodes every bincode vector of the crate", () => {
    assert.strictEqual(vectorMessages.length, Object.keys(vectors.bincode).filter((k) => k !== "note").length)
    for (const [key, message] of vectorMessages) {
      const expected = vectors.bincode[key]
      assert.isString(expected, key)
      assert.strictEqual(encodeHex(message), expected, key)
      assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(hex(expected))), message, key)
    }
  })

  it("matches the worked packet examples of SPEC §2.3", () => {
    const packet = (m: Message.Message) =>
      toHex(Packet.encode(Packet.make(Result.getOrThrow(MessageCodec.encode(m)))))
    assert.strictEqual(packet(Message.Ping()), "4e50524f010000000400000000")
    assert.strictEqual(packet(Message.Pong()), "4e50524f010000000401000000")
    assert.strictEqual(packet(Message.Echo({ text: "hi" })), "4e50524f010000000e0500000002000000000000006869")
    assert.strictEqual(packet(Message.Disconnect()), "4e50524f010000000406000000")
    const custom = packet(Message.Custom({ command: "cmd", payload: new Uint8Array([1, 2, 3]) }))
    assert.strictEqual(custom.length / 2, 35)
    assert.isTrue(custom.startsWith("4e50524f010000001a"))
  })

  it("decodes a variant index of 9 or more as Unknown, ignoring the rest", () => {
    for (const index of ["09000000", "0a000000ffff", "ffffffff", "00010000"]) {
      assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(hex(index))), Message.Unknown())
    }
  })

  it("ignores trailing bytes after a complete message, as the crate does", () => {
    assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(hex("00000000ffff"))), Message.Ping())
    assert.deepStrictEqual(
      Result.getOrThrow(MessageCodec.decode(hex("0500000002000000000000006869" + "aabbcc"))),
      Message.Echo({ text: "hi" })
    )
  })

  it("rejects every truncation of every vector with a Serialization error", () => {
    for (const [key] of vectorMessages) {
      const bytes = hex(vectors.bincode[key])
      const minimal = key === "Unknown" || key === "Ping" || key === "Pong" || key === "Disconnect" ? 4 : bytes.length
      for (let n = 0; n < minimal; n++) {
        assert.strictEqual(failureOf(bytes.subarray(0, n)).reason._tag, "Serialization", `${key} cut at ${n}`)
      }
    }
  })

  it("rejects a string that is not UTF-8", () => {
    const error = failureOf(hex("05000000" + "0200000000000000" + "c328"))
    assert.strictEqual(error.reason._tag, "Serialization")
    assert.match(error.message, /UTF-8/)
  })

  it("rejects a length larger than what remains without allocating it", () => {
    // Echo claiming 2^63 bytes, Custom payload claiming 4 GiB
    assert.match(failureOf(hex("05000000" + "0000000000000080")).message, /declares \d+ bytes but only 0 remain/)
    assert.strictEqual(
      failureOf(hex("07000000" + "0000000000000000" + "00000000ff000000")).reason._tag,
      "Serialization"
    )
  })

  it("refuses to encode fixed-size fields of the wrong size or an out-of-range timestamp", () => {
    const bad = [
      Message.SecureHandshakeInit({ pubKey: fill(31, 0), timestamp: 0n, nonce: fill(16, 0) }),
      Message.SecureHandshakeInit({ pubKey: fill(32, 0), timestamp: -1n, nonce: fill(16, 0) }),
      Message.SecureHandshakeInit({ pubKey: fill(32, 0), timestamp: 1n << 64n, nonce: fill(16, 0) }),
      Message.SecureHandshakeResponse({ pubKey: fill(32, 0), nonce: fill(15, 0), nonceVerification: fill(32, 0) }),
      Message.SecureHandshakeConfirm({ nonceVerification: fill(33, 0) })
    ]
    for (const message of bad) {
      const result = MessageCodec.encode(message)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) assert.strictEqual(result.failure.reason._tag, "SerializeError")
    }
  })

  it("encodes Unicode text as UTF-8 with its byte length", () => {
    const text = "héllo, 世界 🌍"
    const bytes = Result.getOrThrow(MessageCodec.encode(Message.Echo({ text })))
    const utf8 = new TextEncoder().encode(text)
    assert.strictEqual(bytes.length, 12 + utf8.length)
    assert.strictEqual(new DataView(bytes.buffer).getUint32(4, true), utf8.length)
    assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(bytes)), Message.Echo({ text }))
  })

  it("round-trips an empty and a 1,000,000-character Echo", () => {
    for (const text of ["", "x".repeat(1_000_000)]) {
      const bytes = Result.getOrThrow(MessageCodec.encode(Message.Echo({ text })))
      assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(bytes)), Message.Echo({ text }))
    }
  })

  it("property: encode → decode is identity for arbitrary messages", () => {
    fc.assert(
      fc.property(arbitraryMessage, (message) => {
        const bytes = Result.getOrThrow(MessageCodec.encode(message))
        assert.deepStrictEqual(Result.getOrThrow(MessageCodec.decode(bytes)), message)
      }),
      { numRuns: 500 }
    )
  })

  it("property: encodeInto writes the bytes of encode, within maxEncodedSize, and reports a buffer too small", () => {
    fc.assert(
      fc.property(arbitraryMessage, fc.integer({ min: 0, max: 7 }), (message, offset) => {
        const expected = Result.getOrThrow(MessageCodec.encode(message))
        const out = new Uint8Array(offset + MessageCodec.maxEncodedSize(message))
        const end = MessageCodec.encodeInto(message, out, offset)
        assert.strictEqual(end, offset + expected.length)
        assert.deepStrictEqual(out.subarray(offset, offset + expected.length), expected)
        const tooSmall = new Uint8Array(offset + expected.length - 1)
        assert.strictEqual(MessageCodec.encodeInto(message, tooSmall, offset), -1)
      }),
      { numRuns: 500 }
    )
  })

  it("encodes long and non-ASCII strings through the native encoder to the same bytes", () => {
    for (const text of ["a".repeat(65_475), "é".repeat(40), "x".repeat(31) + "€", "🎉".repeat(20) + "\uD800"]) {
      const message = Message.Echo({ text })
      const bytes = Result.getOrThrow(MessageCodec.encode(message))
      const reference = new TextEncoder().encode(text)
      assert.strictEqual(bytes.length, 12 + reference.length)
      assert.deepStrictEqual(bytes.subarray(12), reference)
      const out = new Uint8Array(MessageCodec.maxEncodedSize(message))
      assert.strictEqual(MessageCodec.encodeInto(message, out, 0), bytes.length)
      assert.deepStrictEqual(out.subarray(0, bytes.length), bytes)
    }
  })

  it("property: random garbage never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 12 }), (rest, index) => {
        const bytes = new Uint8Array(4 + rest.length)
        bytes[0] = index
        bytes.set(rest, 4)
        const result = MessageCodec.decode(bytes)
        if (Result.isFailure(result)) assert.strictEqual(result.failure.reason._tag, "Serialization")
      }),
      { numRuns: 2000 }
    )
  })

  it("decodes every plaintext handshake message in the captures and re-encodes it to the same bytes", () => {
    let seen = 0
    for (const capture of captures) {
      const init = capture.frames.find((f) => f.dir === "C->S" && f.frame === 1)
      const confirm = capture.frames.find((f) => f.dir === "C->S" && f.frame === 2)
      const response = capture.frames.find((f) => f.dir === "S->C" && f.frame === 1)
      for (const [frame, tag] of [[init, "SecureHandshakeInit"], [response, "SecureHandshakeResponse"], [
        confirm,
        "SecureHandshakeConfirm"
      ]] as const) {
        assert.isDefined(frame, capture.name)
        const packet = Result.getOrThrow(Packet.decode(hex(frame!.hex)))
        const message = Result.getOrThrow(MessageCodec.decode(packet.payload))
        assert.strictEqual(message._tag, tag, capture.name)
        assert.strictEqual(encodeHex(message), toHex(packet.payload))
        seen++
      }
    }
    assert.strictEqual(seen, captures.length * 3)
  })

  it("maps messages to the crate's dispatcher opcodes", () => {
    const opcodes = vectorMessages.map(([, m]) => Message.opcode(m))
    assert.deepStrictEqual(opcodes, [
      "PING",
      "PONG",
      "SEC_HS_INIT",
      "SEC_HS_RESP",
      "SEC_HS_CONFIRM",
      "ECHO",
      "DISCONNECT",
      "cmd",
      "UNKNOWN"
    ])
    assert.strictEqual(Message.opcode(Message.Custom({ command: "PING", payload: new Uint8Array() })), "PING")
  })

  it("lists the variants in wire order", () => {
    assert.deepStrictEqual(Message.variants.map((_, i) => i), [0, 1, 2, 3, 4, 5, 6, 7, 8])
    vectorMessages.forEach(([, m], i) => assert.strictEqual(Message.variants[i], m._tag))
  })
})
