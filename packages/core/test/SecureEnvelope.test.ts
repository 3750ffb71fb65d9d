import { assert, describe, it } from "@effect/vitest"
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js"
import * as Effect from "effect/Effect"
import * as Compression from "../src/Compression.ts"
import * as Crypto from "../src/Crypto.ts"
import * as Message from "../src/Message.ts"
import * as Packet from "../src/Packet.ts"
import * as SecureEnvelope from "../src/SecureEnvelope.ts"
import { failure, ok, sidesOf, violationOf } from "./envelope.ts"
import { hex, toHex } from "./vectors.ts"

// The client's keys of the known-answer handshake (ExtendedHandshake.test.ts, docs/PROTOCOL.md §6).
const C2S_KEY = hex("aa0aaa2ba720f2300df3d4481ad28545610af501bb9a46e0db7b80a371720ef4")
const S2C_KEY = hex("ecde31071325d580798a37a6cb333f3cb069738ea7cfe3a71c9d5f0ffe4a325a")
const C2S_IV = hex("ff5bbd45f07c158b88ec48f5dd7074e3")
const S2C_IV = hex("da60ec85f2e9c24a6846503a3c8c105d")

const { clientKeys, serverKeys } = sidesOf(C2S_KEY, S2C_KEY, C2S_IV, S2C_IV)

const pair = (options: SecureEnvelope.Options = {}, serverOptions: SecureEnvelope.Options = options) =>
  Effect.map(Crypto.makeDefault, (crypto) => ({
    crypto,
    client: SecureEnvelope.makeUnsafe(crypto, clientKeys, options),
    server: SecureEnvelope.makeUnsafe(crypto, serverKeys, serverOptions)
  }))

const echo = (text: string) => Message.Echo({ text })

/** The refusals are the same whatever the data-frame cipher. */
const CIPHERS: ReadonlyArray<SecureEnvelope.Cipher> = ["xchacha20-poly1305", "aes-256-gcm"]

describe("SecureEnvelope", () => {
  it.effect("known answer: frame 0 and 1 of the client, and the layout seq ‖ ct(flags ‖ bincode) ‖ tag", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const ping = ok(client.seal(Message.Ping()))
      const hi = ok(client.seal(echo("hi")))
      assert.strictEqual(ping.payload.length, 8 + 1 + 4 + 16)
      assert.strictEqual(hi.payload.length, 8 + 1 + 14 + 16)
      assert.strictEqual(toHex(ping.payload.subarray(0, 8)), "0000000000000000")
      assert.strictEqual(toHex(hi.payload.subarray(0, 8)), "0000000000000001")
      assert.strictEqual(toHex(ping.payload), PING_FRAME)
      assert.strictEqual(toHex(hi.payload), ECHO_FRAME)
      // independently (noble): nonce = iv ‖ u64 BE sequence, plaintext = flags ‖ bincode, no AAD
      const nonce1 = hex(toHex(C2S_IV) + "0000000000000001")
      const sealed = xchacha20poly1305(C2S_KEY, nonce1).encrypt(hex("00" + "05000000" + "0200000000000000" + "6869"))
      assert.strictEqual(toHex(sealed), ECHO_FRAME.slice(16))
      assert.deepStrictEqual(ok(server.open(ping)), Message.Ping())
      assert.deepStrictEqual(ok(server.open(hi)), echo("hi"))
      assert.strictEqual(client.sent, 2)
      assert.strictEqual(server.received, 2)
    }))

  it.effect("both directions, many messages, in order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      for (let i = 0; i < 200; i++) {
        assert.deepStrictEqual(ok(server.open(ok(client.seal(echo(`c${i}`))))), echo(`c${i}`))
        const custom = Message.Custom({ command: "X", payload: new Uint8Array([i & 0xff]) })
        assert.deepStrictEqual(ok(client.open(ok(server.seal(custom)))), custom)
      }
    }))

  for (const cipher of CIPHERS) {
    it.effect(`refuses a replayed frame (typed Replay) and stays failed (${cipher})`, () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair({ cipher })
        const frames = [0, 1, 2].map((i) => ok(client.seal(echo(String(i)))))
        ok(server.open(frames[0]))
        ok(server.open(frames[1]))
        assert.deepStrictEqual(violationOf(server.open(frames[0])), { kind: "Replay", expected: 2, received: 0 })
        // the sequence is broken: even the right next frame is refused now
        assert.strictEqual(failure(server.open(frames[2])).reason._tag, "SecurityError")
      }))
  }

  for (const cipher of CIPHERS) {
    it.effect(`refuses a duplicated frame (the same frame twice in a row) (${cipher})`, () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair({ cipher })
        const frame = ok(client.seal(echo("once")))
        ok(server.open(frame))
        assert.deepStrictEqual(violationOf(server.open(frame)), { kind: "Replay", expected: 1, received: 0 })
      }))
  }

  for (const cipher of CIPHERS) {
    it.effect(`refuses reordered frames and frames after a dropped one (typed OutOfOrder) (${cipher})`, () =>
      Effect.gen(function*() {
        const a = yield* pair({ cipher })
        const frames = [0, 1, 2].map((i) => ok(a.client.seal(echo(String(i)))))
        assert.deepStrictEqual(violationOf(a.server.open(frames[1])), { kind: "OutOfOrder", expected: 0, received: 1 })
        const b = yield* pair({ cipher })
        const more = [0, 1, 2].map((i) => ok(b.client.seal(echo(String(i)))))
        ok(b.server.open(more[0]))
        assert.deepStrictEqual(violationOf(b.server.open(more[2])), { kind: "OutOfOrder", expected: 1, received: 2 })
      }))
  }

  for (const cipher of CIPHERS) {
    it.effect(`refuses a reflected frame (typed Reflection), even at the expected sequence number (${cipher})`, () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair({ cipher })
        const own = ok(client.seal(echo("mine")))
        assert.deepStrictEqual(violationOf(client.open(own)), { kind: "Reflection", expected: 0, received: 0 })
        const fromServer = ok(server.seal(echo("x")))
        ok(server.open(own))
        // the server's frame 0 bounced back to the server, which expects 1
        assert.deepStrictEqual(violationOf(server.open(fromServer)), { kind: "Reflection", expected: 1, received: 0 })
      }))
  }

  for (const cipher of CIPHERS) {
    it.effect(`a tampered, short or wrongly keyed frame is a DecryptionFailure (${cipher})`, () =>
      Effect.gen(function*() {
        for (const mutate of [
          (p: Uint8Array) => p.subarray(0, SecureEnvelope.MIN_PAYLOAD_SIZE - 1),
          (p: Uint8Array) => {
            const q = p.slice()
            q[10] ^= 1
            return q
          },
          (p: Uint8Array) => {
            const q = p.slice()
            q[7] ^= 4 // the sequence number is authenticated (part of the nonce)
            return q
          },
          (p: Uint8Array) => {
            const q = p.slice()
            q[q.length - 1] ^= 0x80
            return q
          }
        ]) {
          const { client, server } = yield* pair({ cipher })
          const frame = ok(client.seal(echo("data")))
          assert.strictEqual(failure(server.open(Packet.make(mutate(frame.payload)))).reason._tag, "DecryptionFailure")
        }
        const { crypto } = yield* pair({ cipher })
        const stranger = SecureEnvelope.makeUnsafe(crypto, {
          ...clientKeys,
          sendKey: new Uint8Array(32).fill(9)
        }, { cipher })
        const { server } = yield* pair({ cipher })
        assert.strictEqual(failure(server.open(ok(stranger.seal(echo("x"))))).reason._tag, "DecryptionFailure")
      }))
  }

  it.effect("compresses bodies over the threshold when smaller, and opens them (lz4 and zstd)", () =>
    Effect.gen(function*() {
      const codec = Compression.makePortable()
      for (const kind of ["lz4", "zstd"] as const) {
        const { client, server } = yield* pair({ compression: kind, codec })
        const text = "network-protocol ".repeat(200)
        const frame = ok(client.seal(echo(text)))
        assert.isBelow(frame.payload.length, text.length / 4, kind)
        assert.deepStrictEqual(ok(server.open(frame)), echo(text))
        // below the threshold: not compressed, flag 0
        const small = ok(client.seal(echo("short")))
        assert.strictEqual(small.payload.length, SecureEnvelope.OVERHEAD + 12 + 5)
        assert.deepStrictEqual(ok(server.open(small)), echo("short"))
        // incompressible: sent as is
        const random = Message.Custom({ command: "R", payload: globalThis.crypto.getRandomValues(new Uint8Array(4096)) })
        const raw = ok(client.seal(random))
        assert.strictEqual(raw.payload.length, SecureEnvelope.OVERHEAD + 20 + 1 + 4096)
        assert.deepStrictEqual(ok(server.open(raw)), random)
      }
    }))

  it.effect("refuses a compressed frame when compression was not negotiated, or another algorithm", () =>
    Effect.gen(function*() {
      const codec = Compression.makePortable()
      const text = "abc".repeat(1000)
      const a = yield* pair({ compression: "lz4", codec }, {})
      assert.match(failure(a.server.open(ok(a.client.seal(echo(text))))).message, /not negotiated/)
      const b = yield* pair({ compression: "lz4", codec }, { compression: "zstd", codec })
      assert.match(failure(b.server.open(ok(b.client.seal(echo(text))))).message, /not negotiated/)
    }))

  it.effect("bounds decompression by maxMessageSize", () =>
    Effect.gen(function*() {
      const codec = Compression.makePortable()
      const { client, server } = yield* pair({ compression: "lz4", codec }, {
        compression: "lz4",
        codec,
        maxMessageSize: 1000
      })
      const frame = ok(client.seal(echo("z".repeat(100_000))))
      assert.isBelow(frame.payload.length, 1000)
      assert.strictEqual(failure(server.open(frame)).reason._tag, "DecompressionFailure")
    }))

  it.effect("refuses unknown flag bits inside an authentic frame", () =>
    Effect.gen(function*() {
      const { crypto, server } = yield* pair()
      const aead = crypto.aead(C2S_KEY)
      const nonce = new Uint8Array(24)
      nonce.set(C2S_IV)
      const plaintext = hex("8000000000") // flags 0x80, Ping
      const payload = new Uint8Array(8 + plaintext.length + 16)
      aead.seal(nonce, plaintext, undefined, payload.subarray(8))
      const error = failure(server.open(Packet.make(payload)))
      assert.strictEqual(error.reason._tag, "SecurityError")
      assert.match(error.message, /flags/)
    }))

  for (const cipher of CIPHERS) {
    it.effect(`a destroyed envelope neither seals nor opens (${cipher})`, () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair({ cipher })
        const frame = ok(client.seal(Message.Ping()))
        client.destroy()
        server.destroy()
        assert.isTrue(client.destroyed)
        assert.strictEqual(failure(client.seal(Message.Ping())).reason._tag, "EncryptionFailure")
        assert.strictEqual(failure(server.open(frame)).reason._tag, "DecryptionFailure")
      }))
  }
})

const PING_FRAME = "0000000000000000" + "44a4e51714" + "6771591f6957c9fbc6a5c036278de842"
const ECHO_FRAME = "0000000000000001" + "dfd0f7c1076fc3a8199a65137ed0cf" + "b544bc50961dcc7f844bd289666c5890"
