import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as Crypto from "../src/Crypto.ts"
import * as CryptoNoble from "../src/CryptoNoble.ts"
import * as CryptoSodium from "../src/CryptoSodium.ts"
import * as Message from "../src/Message.ts"
import * as MessageCodec from "../src/MessageCodec.ts"
import * as Packet from "../src/Packet.ts"
import * as PacketCodec from "../src/PacketCodec.ts"
import * as ProtocolError from "../src/ProtocolError.ts"
import * as SecureChannel from "../src/SecureChannel.ts"
import { captures, hex, toHex, vectors } from "./vectors.ts"

const providers = await Effect.runPromise(Crypto.available)
const noble = CryptoNoble.make

const SESSION_KEY = hex(vectors.handshake.session_key as string)
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i)
const NONCE_A0 = range(0xa0, 0xb7)

const fixedNonce = (nonce: Uint8Array): SecureChannel.NonceSource => (out) => out.set(nonce)

const frameHex = (packet: Packet.Packet) => toHex(Packet.encode(packet))

/** The message carried by a secure frame, as bincode hex (a comparable form). */
const messageHex = (message: Message.Message) => toHex(Result.getOrThrow(MessageCodec.encode(message)))

const reasonOf = (result: Result.Result<unknown, ProtocolError.ProtocolError>): string =>
  Result.isFailure(result) ? result.failure.reason._tag : "Success"

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

describe("SecureChannel known answers", () => {
  for (const crypto of providers) {
    it(`SPEC §4.4: Ping, Pong, Echo("hi") under the §3.6 session key and nonce a0..b7 (${crypto.name})`, () => {
      const channel = SecureChannel.makeUnsafe(crypto, SESSION_KEY, { nonceSource: fixedNonce(NONCE_A0) })
      const nonce = toHex(NONCE_A0)
      const cases: ReadonlyArray<readonly [Message.Message, string]> = [
        [Message.Ping(), "4e50524f01" + "0000002c" + nonce + "fedfc2ad" + "8ba7b5398c3f19e99d6b5f212515ecbe"],
        [Message.Pong(), "4e50524f01" + "0000002c" + nonce + "ffdfc2ad" + "baaedbb9f58d0378448ee5ffb0415493"],
        [
          Message.Echo({ text: "hi" }),
          "4e50524f01" + "00000036" + nonce + "fbdfc2adea604baa8334931f3c1b" + "b29d74467e16d68dc77fb9a1182af3cd"
        ]
      ]
      for (const [message, expected] of cases) {
        const packet = Result.getOrThrow(channel.seal(message))
        assert.strictEqual(frameHex(packet), expected)
        assert.strictEqual(Packet.encode(packet).length, message._tag === "Echo" ? 63 : 53)
        assert.strictEqual(messageHex(Result.getOrThrow(channel.open(packet))), messageHex(message))
      }
    })

    it(`vectors.json aead secure frames, byte-exact both ways (${crypto.name})`, () => {
      assert.strictEqual(vectors.aead_xchacha20poly1305.length, 3)
      for (const vector of vectors.aead_xchacha20poly1305) {
        const nonceSource = fixedNonce(hex(vector.nonce))
        const channel = SecureChannel.makeUnsafe(crypto, hex(vector.key), { nonceSource })
        const message = Result.getOrThrow(MessageCodec.decode(hex(vector.plaintext)))
        const packet = Result.getOrThrow(channel.seal(message))
        assert.strictEqual(frameHex(packet), vector.secure_frame)
        assert.strictEqual(toHex(packet.payload.subarray(24)), vector.ciphertext_and_tag)
        const opened = channel.open(Result.getOrThrow(Packet.decode(hex(vector.secure_frame))))
        assert.strictEqual(messageHex(Result.getOrThrow(opened)), vector.plaintext)
      }
    })
  }

  it("builds the payload in one buffer of exactly 24 + |bincode| + 16 bytes", () => {
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const messages = [
      Message.Ping(),
      Message.Echo({ text: "hello" }),
      Message.Custom({ command: "c", payload: new Uint8Array(1000) })
    ]
    for (const message of messages) {
      const payload = Result.getOrThrow(channel.seal(message)).payload
      const plaintext = Result.getOrThrow(MessageCodec.encode(message))
      assert.strictEqual(payload.length, 24 + plaintext.length + 16)
      assert.strictEqual(payload.byteOffset, 0)
      assert.strictEqual(payload.buffer.byteLength, payload.length)
    }
  })
})

describe("SecureChannel decrypts the Rust captures", () => {
  type Expected = { readonly cs: ReadonlyArray<Message.Message>; readonly sc: ReadonlyArray<Message.Message> }
  const expected: Record<string, Expected> = {
    "rust-ping.json": { cs: [Message.Ping(), Message.Ping()], sc: [Message.Pong(), Message.Pong()] },
    "rust-echo.json": {
      cs: [Message.Echo({ text: "x".repeat(16) }), Message.Echo({ text: "x".repeat(16) })],
      sc: [Message.Echo({ text: "x".repeat(16) }), Message.Echo({ text: "x".repeat(16) })]
    },
    "rust-custom.json": {
      cs: [1, 2].map(() => Message.Custom({ command: "bench", payload: new Uint8Array(16).fill(0xab) })),
      sc: [1, 2].map(() => Message.Custom({ command: "bench", payload: new Uint8Array(16).fill(0xab) }))
    }
  }
  const keyed = captures.filter((c) => typeof c.session_key === "string")

  it("covers every capture that logged its session key", () => {
    assert.sameMembers(keyed.map((c) => c.name), Object.keys(expected))
  })

  for (const capture of keyed) {
    for (const crypto of providers) {
      it(`${capture.name}: every encrypted frame opens as expected and re-seals byte-exactly (${crypto.name})`, () => {
        const key = hex(capture.session_key)
        const receiver = SecureChannel.makeUnsafe(crypto, key)
        const cs = capture.frames.filter((f) => f.dir === "C->S" && f.frame >= 3)
        const sc = capture.frames.filter((f) => f.dir === "S->C" && f.frame >= 2)
        const want = expected[capture.name]
        const opened = (frames: typeof cs) =>
          frames.map((f) => {
            const packet = Result.getOrThrow(Packet.decode(hex(f.hex)))
            const message = Result.getOrThrow(receiver.open(packet))
            // the same message sealed again with the captured nonce gives the captured frame
            const nonceSource = fixedNonce(packet.payload.slice(0, 24))
            const sender = SecureChannel.makeUnsafe(crypto, key, { nonceSource })
            assert.strictEqual(frameHex(Result.getOrThrow(sender.seal(message))), f.hex, `${f.dir} ${f.frame}`)
            return messageHex(message)
          })
        assert.deepStrictEqual(opened(cs), [...want.cs, Message.Disconnect()].map(messageHex))
        assert.deepStrictEqual(opened(sc), want.sc.map(messageHex))
      })
    }
  }

  it("every capture: §3 handshake layout, matching verifications; secure frames fail under another key", () => {
    for (const capture of captures) {
      const frames = (dir: "C->S" | "S->C") => capture.frames.filter((f) => f.dir === dir).map((f) => hex(f.hex))
      const [init, confirm, ...clientSecure] = frames("C->S")
      const [response, ...serverSecure] = frames("S->C")
      assert.deepStrictEqual([init.length, response.length, confirm.length], [69, 93, 45], capture.name)
      const initMessage = Result.getOrThrow(MessageCodec.decode(Result.getOrThrow(Packet.decode(init)).payload))
      const responseMessage = Result.getOrThrow(MessageCodec.decode(Result.getOrThrow(Packet.decode(response)).payload))
      const confirmMessage = Result.getOrThrow(MessageCodec.decode(Result.getOrThrow(Packet.decode(confirm)).payload))
      assert.isTrue(Message.is("SecureHandshakeInit")(initMessage))
      assert.isTrue(Message.is("SecureHandshakeResponse")(responseMessage))
      assert.isTrue(Message.is("SecureHandshakeConfirm")(confirmMessage))
      if (
        initMessage._tag !== "SecureHandshakeInit" || responseMessage._tag !== "SecureHandshakeResponse" ||
        confirmMessage._tag !== "SecureHandshakeConfirm"
      ) return
      assert.strictEqual(toHex(responseMessage.nonceVerification), toHex(noble.sha256(initMessage.nonce)))
      assert.strictEqual(toHex(confirmMessage.nonceVerification), toHex(noble.sha256(responseMessage.nonce)))
      const stranger = SecureChannel.makeUnsafe(noble, noble.randomBytes(32))
      for (const bytes of [...clientSecure, ...serverSecure]) {
        const packet = Result.getOrThrow(Packet.decode(bytes))
        assert.isAtLeast(packet.payload.length, 44)
        assert.strictEqual(reasonOf(stranger.open(packet)), "DecryptionFailure")
      }
    }
  })
})

describe("SecureChannel failures", () => {
  for (const crypto of providers) {
    it(`tampering with any byte of the payload is a DecryptionFailure (${crypto.name})`, () => {
      const channel = SecureChannel.makeUnsafe(crypto, SESSION_KEY)
      const good = Result.getOrThrow(channel.seal(Message.Echo({ text: "tamper me" })))
      for (let i = 0; i < good.payload.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const payload = good.payload.slice()
          payload[i] ^= bit
          assert.strictEqual(reasonOf(channel.open(Packet.make(payload))), "DecryptionFailure", `byte ${i}`)
        }
      }
      assert.strictEqual(reasonOf(channel.open(good)), "Success")
    })
  }

  it("short payloads (0, 23, 24, 39 bytes) and a 40-byte forgery are DecryptionFailure", () => {
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    for (const size of [0, 1, 23, 24, 39, 40, 43]) {
      const result = channel.open(Packet.make(noble.randomBytes(size)))
      assert.strictEqual(reasonOf(result), "DecryptionFailure", `${size} bytes`)
      if (Result.isFailure(result)) assert.strictEqual(result.failure.message, "Decryption failed")
    }
  })

  it("a wrong key is a DecryptionFailure", () => {
    const packet = Result.getOrThrow(SecureChannel.makeUnsafe(noble, SESSION_KEY).seal(Message.Ping()))
    const other = SESSION_KEY.slice()
    other[0] ^= 1
    assert.strictEqual(reasonOf(SecureChannel.makeUnsafe(noble, other).open(packet)), "DecryptionFailure")
  })

  it("authentic but undecodable plaintext is a Serialization error", () => {
    const aead = noble.aead(SESSION_KEY)
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const plaintexts = [new Uint8Array(0), hex("0500000009000000000000006869"), hex("050000000200000000000000ff")]
    for (const plaintext of plaintexts) {
      const payload = concat([NONCE_A0, aead.seal(NONCE_A0, plaintext)])
      assert.strictEqual(reasonOf(channel.open(Packet.make(payload))), "Serialization", toHex(plaintext))
    }
  })

  it("a corrupted frame does not poison the channel: the next good frame opens", () => {
    const sender = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const receiver = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const first = Result.getOrThrow(sender.seal(Message.Echo({ text: "one" })))
    const second = Result.getOrThrow(sender.seal(Message.Echo({ text: "two" })))
    const corrupted = first.payload.slice()
    corrupted[30] ^= 0xff
    assert.strictEqual(reasonOf(receiver.open(Packet.make(corrupted))), "DecryptionFailure")
    assert.strictEqual(reasonOf(receiver.open(Packet.make(new Uint8Array(3)))), "DecryptionFailure")
    assert.strictEqual(messageHex(Result.getOrThrow(receiver.open(second))), messageHex(Message.Echo({ text: "two" })))
    assert.strictEqual(messageHex(Result.getOrThrow(receiver.open(first))), messageHex(Message.Echo({ text: "one" })))
  })

  it("a message that cannot be encoded is a SerializeError", () => {
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const bad = Message.SecureHandshakeConfirm({ nonceVerification: new Uint8Array(31) })
    assert.strictEqual(reasonOf(channel.seal(bad)), "SerializeError")
  })

  it("destroy() stops the channel; the scoped constructor destroys it when the scope closes", () => {
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const packet = Result.getOrThrow(channel.seal(Message.Ping()))
    channel.destroy()
    channel.destroy()
    assert.isTrue(channel.destroyed)
    assert.strictEqual(reasonOf(channel.seal(Message.Ping())), "EncryptionFailure")
    assert.strictEqual(reasonOf(channel.open(packet)), "DecryptionFailure")
    const scoped = Effect.runSync(
      Effect.scoped(SecureChannel.make(SESSION_KEY)).pipe(Effect.provideService(Crypto.Crypto, noble))
    )
    assert.isTrue(SecureChannel.isSecureChannel(scoped))
    assert.isTrue(scoped.destroyed)
    assert.strictEqual(reasonOf(scoped.open(packet)), "DecryptionFailure")
  })
})

describe("SecureChannel nonces and providers", () => {
  it("draws a fresh random nonce for every message, across pool refills", () => {
    const channel = SecureChannel.makeUnsafe(noble, SESSION_KEY)
    const count = SecureChannel.NONCE_POOL_SIZE * 3 + 5
    const nonces = new Set<string>()
    for (let i = 0; i < count; i++) {
      const payload = Result.getOrThrow(channel.seal(Message.Ping())).payload
      nonces.add(toHex(payload.subarray(0, 24)))
    }
    assert.strictEqual(nonces.size, count)
    assert.isFalse(nonces.has("00".repeat(24)))
  })

  it("what one provider seals, every other opens", () => {
    const messages = [
      Message.Ping(),
      Message.Echo({ text: "ünïcødé ✓" }),
      Message.Custom({ command: "blob", payload: noble.randomBytes(70_000) })
    ]
    for (const a of providers) {
      for (const b of providers) {
        const sender = SecureChannel.makeUnsafe(a, SESSION_KEY)
        const receiver = SecureChannel.makeUnsafe(b, SESSION_KEY)
        for (const message of messages) {
          const opened = receiver.open(Result.getOrThrow(sender.seal(message)))
          assert.strictEqual(messageHex(Result.getOrThrow(opened)), messageHex(message), `${a.name} → ${b.name}`)
        }
      }
    }
  })
})

describe("SecureChannel buffers", () => {
  it("frames around the default provider's bulk thresholds (libsodium / OpenSSL) are byte-identical to noble's", () => {
    const hybrid = providers[0]
    assert.strictEqual(hybrid.name, "sodium-native")
    const { open, seal } = CryptoSodium.DEFAULT_BULK_THRESHOLDS
    const overhead = Result.getOrThrow(MessageCodec.encode(Message.Custom({ command: "blob", payload: new Uint8Array(0) })))
      .length
    const nonce = noble.randomBytes(24)
    const sender = SecureChannel.makeUnsafe(hybrid, SESSION_KEY, { nonceSource: fixedNonce(nonce) })
    const reference = SecureChannel.makeUnsafe(noble, SESSION_KEY, { nonceSource: fixedNonce(nonce) })
    for (const plaintextSize of [open - 1, open, open + 1, seal - 1, seal, seal + 1]) {
      const message = Message.Custom({ command: "blob", payload: noble.randomBytes(plaintextSize - overhead) })
      const packet = Result.getOrThrow(sender.seal(message))
      const expected = Result.getOrThrow(reference.seal(message))
      assert.strictEqual(packet.payload.length, 24 + plaintextSize + 16)
      assert.isTrue(Buffer.from(packet.payload).equals(Buffer.from(expected.payload)), `${plaintextSize} B`)
      assert.strictEqual(messageHex(Result.getOrThrow(sender.open(expected))), messageHex(message))
      assert.strictEqual(messageHex(Result.getOrThrow(reference.open(packet))), messageHex(message))
      const tampered = packet.payload.slice()
      tampered[24 + (plaintextSize >> 1)] ^= 0x20
      assert.strictEqual(reasonOf(sender.open(Packet.make(tampered))), "DecryptionFailure", `${plaintextSize} B`)
    }
  })

  it("seals every size around its internal thresholds exactly, for every provider", () => {
    // payloads of 64/65 bytes (sealed in place or through the small scratch),
    // plaintexts that grow the shared scratch, and one over its 1 MiB limit
    const texts = ["", "a".repeat(11), "a".repeat(12), "a".repeat(13), "é".repeat(600), "b".repeat(70_000)]
    const blobs = [0, 4096, 300_000, 1_100_000]
    for (const crypto of providers) {
      const channel = SecureChannel.makeUnsafe(crypto, SESSION_KEY)
      const messages = [
        ...texts.map((text) => Message.Echo({ text })),
        ...blobs.map((size) => Message.Custom({ command: "blob", payload: noble.randomBytes(size) }))
      ]
      for (const message of messages) {
        const packet = Result.getOrThrow(channel.seal(message))
        const plaintext = Result.getOrThrow(MessageCodec.encode(message))
        assert.strictEqual(packet.payload.length, 24 + plaintext.length + 16)
        assert.strictEqual(packet.payload.byteOffset, 0)
        assert.strictEqual(packet.payload.buffer.byteLength, packet.payload.length)
        assert.strictEqual(messageHex(Result.getOrThrow(channel.open(packet))), messageHex(message), crypto.name)
      }
    }
  })
})

describe("SecureChannel stages", () => {
  const messages: ReadonlyArray<Message.Message> = [
    Message.Ping(),
    Message.Echo({ text: "hello" }),
    Message.Custom({ command: "data", payload: range(0, 255) }),
    Message.Pong(),
    Message.Custom({ command: "big", payload: new Uint8Array(5_000).fill(7) }),
    Message.Disconnect()
  ]

  const sealToBytes = (channel: SecureChannel.SecureChannel, input: ReadonlyArray<Message.Message>) =>
    Stream.fromIterable(input).pipe(
      Stream.pipeThroughChannel(SecureChannel.sealChannel(channel)),
      Stream.pipeThroughChannel(PacketCodec.encode()),
      Stream.runCollect,
      Effect.map(concat)
    )

  const openFromChunks = (channel: SecureChannel.SecureChannel, chunks: ReadonlyArray<Uint8Array>) =>
    Stream.fromIterable(chunks).pipe(
      Stream.pipeThroughChannel(PacketCodec.decode()),
      Stream.pipeThroughChannel(SecureChannel.openChannel(channel)),
      Stream.runCollect
    )

  it.effect("round-trip a stream of messages through PacketCodec in arbitrary chunking", () =>
    Effect.gen(function*() {
      const sender = SecureChannel.makeUnsafe(noble, SESSION_KEY)
      const receiver = SecureChannel.makeUnsafe(noble, SESSION_KEY)
      const bytes = yield* sealToBytes(sender, messages)
      const samples = fc.sample(fc.array(fc.nat({ max: bytes.length }), { maxLength: 30 }), 50)
      for (const cuts of [[], [1], [8, 9, 10], ...samples]) {
        const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b)
        const chunks = points.slice(1).map((p, i) => bytes.subarray(points[i], p))
        const opened = yield* openFromChunks(receiver, chunks)
        assert.deepStrictEqual(opened.map(messageHex), messages.map(messageHex))
      }
    }))

  it.effect("property: any messages survive seal → encode → rechunk → decode → open", () =>
    Effect.gen(function*() {
      const arbitraryMessage: fc.Arbitrary<Message.Message> = fc.oneof(
        fc.constant(Message.Ping()),
        fc.constant(Message.Pong()),
        fc.string({ maxLength: 50 }).map((text) => Message.Echo({ text })),
        fc.tuple(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 300 })).map(([command, payload]) =>
          Message.Custom({ command, payload })
        )
      )
      const sender = SecureChannel.makeUnsafe(noble, SESSION_KEY)
      const receiver = SecureChannel.makeUnsafe(noble, SESSION_KEY)
      const samples = fc.sample(
        fc.tuple(fc.array(arbitraryMessage, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 })),
        60
      )
      for (const [input, cuts] of samples) {
        const bytes = yield* sealToBytes(sender, input)
        const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b)
        const chunks = points.slice(1).map((p, i) => bytes.subarray(points[i], p))
        const opened = yield* openFromChunks(receiver, chunks)
        assert.deepStrictEqual(opened.map(messageHex), input.map(messageHex))
      }
    }))

  it.effect("the open stage emits the messages before a corrupted frame, then fails with DecryptionFailure", () =>
    Effect.gen(function*() {
      const sender = SecureChannel.makeUnsafe(noble, SESSION_KEY)
      const packets = messages.slice(0, 3).map((m) => Result.getOrThrow(sender.seal(m)))
      const corrupted = packets[2].payload.slice()
      corrupted[corrupted.length - 1] ^= 1
      const bytes = PacketCodec.encodeAll([packets[0], packets[1], Packet.make(corrupted), packets[2]])
      if (!(bytes instanceof Uint8Array)) return assert.fail("encode failed")
      const seen: Array<string> = []
      const exit = yield* Stream.make(bytes).pipe(
        Stream.pipeThroughChannel(PacketCodec.decode()),
        Stream.pipeThroughChannel(SecureChannel.openChannel(SecureChannel.makeUnsafe(noble, SESSION_KEY))),
        Stream.runForEach((m) => Effect.sync(() => seen.push(messageHex(m)))),
        Effect.exit
      )
      assert.deepStrictEqual(seen, messages.slice(0, 2).map(messageHex))
      const error = Option.getOrUndefined(Exit.findErrorOption(exit))
      assert.isTrue(ProtocolError.isProtocolError(error))
      assert.strictEqual(error?.reason._tag, "DecryptionFailure")
    }))

  it.effect("the seal stage fails on a message that cannot be encoded", () =>
    Effect.gen(function*() {
      const exit = yield* Stream.make(Message.Ping(), Message.SecureHandshakeInit({
        pubKey: new Uint8Array(1),
        timestamp: 0n,
        nonce: new Uint8Array(16)
      })).pipe(
        Stream.pipeThroughChannel(SecureChannel.sealChannel(SecureChannel.makeUnsafe(noble, SESSION_KEY))),
        Stream.runCollect,
        Effect.exit
      )
      const error = Option.getOrUndefined(Exit.findErrorOption(exit))
      assert.strictEqual(error?.reason._tag, "SerializeError")
    }))
})
