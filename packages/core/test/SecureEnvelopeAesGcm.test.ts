/**
 * The AES-256-GCM cipher suite of the extended profile's envelope
 * (docs/PROTOCOL.md §5.1): the nonce construction against node:crypto used
 * directly (sequence numbers 0, 1 and 2^32), the known-answer frames of §7.
 * The refusals (replay, reorder, reflection, tampering) run under each cipher
 * in SecureEnvelope.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NodeCrypto from "node:crypto"
import * as Compression from "../src/Compression.ts"
import * as Crypto from "../src/Crypto.ts"
import * as AesGcm from "../src/internal/aesGcm.ts"
import * as Message from "../src/Message.ts"
import * as Packet from "../src/Packet.ts"
import * as SecureEnvelope from "../src/SecureEnvelope.ts"
import { failure, ok, sidesOf, violationOf } from "./envelope.ts"
import { hex, toHex } from "./vectors.ts"

// The keys of the known-answer handshake with AES-256-GCM (docs/PROTOCOL.md §7.1, ExtendedHandshakeCipher.test.ts).
const C2S_KEY = hex("03b4195794bea2ca1c434b7c228fd9595f400e163dbb4cb02c7e35be12980316")
const S2C_KEY = hex("04fdf72d3d3ec279aa3c5a6bda11b9ffccf2ce1c3eb4186545e63b5a6d5cd03f")
const C2S_IV = hex("c869c95cf1931df783e59c4b2453e226")
const S2C_IV = hex("2a2ffe756041a92bd34f52ef686a92ad")

const { clientKeys, serverKeys } = sidesOf(C2S_KEY, S2C_KEY, C2S_IV, S2C_IV)

const AES: SecureEnvelope.Options = { cipher: "aes-256-gcm" }

const pair = (options: SecureEnvelope.Options = AES, serverOptions: SecureEnvelope.Options = options) =>
  Effect.map(Crypto.makeDefault, (crypto) => ({
    crypto,
    client: SecureEnvelope.makeUnsafe(crypto, clientKeys, options),
    server: SecureEnvelope.makeUnsafe(crypto, serverKeys, serverOptions)
  }))

const echo = (text: string) => Message.Echo({ text })

/** The nonce of frame `n` computed by hand: IV[0..12] XOR (00000000 ‖ n as u64 BE), RFC 8446 §5.3. */
const handNonce = (iv: Uint8Array, n: bigint): Buffer => {
  const nonce = Buffer.from(iv.subarray(0, 12))
  const sequence = Buffer.alloc(8)
  sequence.writeBigUInt64BE(n)
  for (let i = 0; i < 8; i++) nonce[4 + i] ^= sequence[i]
  return nonce
}

/** A whole frame payload sealed with node:crypto directly: n (u64 BE) ‖ ciphertext ‖ tag. */
const handFrame = (key: Uint8Array, iv: Uint8Array, n: bigint, plaintext: Uint8Array): Uint8Array => {
  const cipher = NodeCrypto.createCipheriv("aes-256-gcm", key, handNonce(iv, n), { authTagLength: 16 })
  const sequence = Buffer.alloc(8)
  sequence.writeBigUInt64BE(n)
  return new Uint8Array(Buffer.concat([sequence, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]))
}

const PING_PLAINTEXT = hex("00" + "00000000")
const ECHO_HI_PLAINTEXT = hex("00" + "05000000" + "0200000000000000" + "6869")

describe("SecureEnvelope with AES-256-GCM", () => {
  it("the nonces of frames 0, 1 and 2^32 are IV[0..12] XOR the sequence number (hand-computed)", () => {
    assert.strictEqual(toHex(handNonce(C2S_IV, 0n)), "c869c95cf1931df783e59c4b")
    assert.strictEqual(toHex(handNonce(C2S_IV, 1n)), "c869c95cf1931df783e59c4a")
    assert.strictEqual(toHex(handNonce(C2S_IV, 2n ** 32n)), "c869c95cf1931df683e59c4b")
  })

  it.effect("known answer: the client's frames 0 and 1 equal node:crypto's AES-256-GCM with the hand-computed nonces", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      assert.strictEqual(client.cipher, "aes-256-gcm")
      const ping = ok(client.seal(Message.Ping()))
      const hi = ok(client.seal(echo("hi")))
      // the frame layout is unchanged: seq (8) ‖ ciphertext of flags ‖ bincode ‖ tag (16)
      assert.strictEqual(ping.payload.length, 8 + 1 + 4 + 16)
      assert.strictEqual(toHex(ping.payload), AES_PING_FRAME)
      assert.strictEqual(toHex(hi.payload), AES_ECHO_FRAME)
      assert.strictEqual(toHex(handFrame(C2S_KEY, C2S_IV, 0n, PING_PLAINTEXT)), AES_PING_FRAME)
      assert.strictEqual(toHex(handFrame(C2S_KEY, C2S_IV, 1n, ECHO_HI_PLAINTEXT)), AES_ECHO_FRAME)
      assert.deepStrictEqual(ok(server.open(ping)), Message.Ping())
      assert.deepStrictEqual(ok(server.open(hi)), echo("hi"))
      // and not the XChaCha20-Poly1305 frame of the same keys
      const xchacha = yield* pair({})
      assert.notStrictEqual(toHex(ok(xchacha.client.seal(Message.Ping())).payload), AES_PING_FRAME)
    }))

  it.effect("a frame sealed by hand at sequence 2^32 authenticates (typed OutOfOrder, not DecryptionFailure)", () =>
    Effect.gen(function*() {
      const { server } = yield* pair()
      const frame = handFrame(C2S_KEY, C2S_IV, 2n ** 32n, PING_PLAINTEXT)
      assert.strictEqual(toHex(frame), "0000000100000000" + "1eb18ea881" + "459d6124b7f7317b3955880ec4bf5428")
      assert.deepStrictEqual(violationOf(server.open(Packet.make(frame))), {
        kind: "OutOfOrder",
        expected: 0,
        received: 2 ** 32
      })
      // the same frame claiming sequence 0: another nonce, so it does not authenticate
      const { server: other } = yield* pair()
      const wrong = new Uint8Array(frame)
      wrong[3] ^= 1
      assert.strictEqual(failure(other.open(Packet.make(wrong))).reason._tag, "DecryptionFailure")
    }))

  it.effect("both directions, many messages, large and compressed ones", () =>
    Effect.gen(function*() {
      const codec = Compression.makePortable()
      const { client, server } = yield* pair({ cipher: "aes-256-gcm", compression: "lz4", codec })
      for (let i = 0; i < 200; i++) {
        assert.deepStrictEqual(ok(server.open(ok(client.seal(echo(`c${i}`))))), echo(`c${i}`))
        const custom = Message.Custom({ command: "X", payload: new Uint8Array([i & 0xff]) })
        assert.deepStrictEqual(ok(client.open(ok(server.seal(custom)))), custom)
      }
      const text = "network-protocol ".repeat(4000)
      const compressed = ok(client.seal(echo(text)))
      assert.isBelow(compressed.payload.length, text.length / 4)
      assert.deepStrictEqual(ok(server.open(compressed)), echo(text))
      const random = Message.Custom({ command: "R", payload: NodeCrypto.randomBytes(1 << 20) })
      assert.deepStrictEqual(ok(client.open(ok(server.seal(random)))), random)
    }))

  it.effect("a peer sealing with XChaCha20-Poly1305 under the same keys is not understood (DecryptionFailure)", () =>
    Effect.gen(function*() {
      const mismatched = yield* pair({}, AES)
      assert.strictEqual(
        failure(mismatched.server.open(ok(mismatched.client.seal(echo("x"))))).reason._tag,
        "DecryptionFailure"
      )
    }))

})

describe("internal/aesGcm", () => {
  it("seals into the output buffer, with and without associated data; opens; refuses forgeries", () => {
    const aead = AesGcm.make(C2S_KEY)
    const nonce = handNonce(C2S_IV, 7n)
    const plaintext = NodeCrypto.randomBytes(1000)
    const aad = new Uint8Array([1, 2, 3])
    const out = new Uint8Array(8 + plaintext.length + 16)
    const target = out.subarray(8)
    assert.strictEqual(aead.seal(nonce, plaintext, aad, target), target)
    const reference = NodeCrypto.createCipheriv("aes-256-gcm", C2S_KEY, nonce, { authTagLength: 16 })
    reference.setAAD(aad)
    const expected = Buffer.concat([reference.update(plaintext), reference.final(), reference.getAuthTag()])
    assert.strictEqual(toHex(target), expected.toString("hex"))
    assert.deepStrictEqual(aead.open(nonce, target, aad), new Uint8Array(plaintext))
    assert.strictEqual(aead.open(nonce, target), undefined) // the AAD is authenticated
    assert.strictEqual(aead.open(handNonce(C2S_IV, 8n), target, aad), undefined)
    assert.strictEqual(aead.open(nonce, target.subarray(0, 15), aad), undefined)
    const sealed = aead.seal(nonce, new Uint8Array(0))
    assert.strictEqual(sealed.length, 16)
    assert.deepStrictEqual(aead.open(nonce, sealed), new Uint8Array(0))
  })

  it("keeps its own copy of the key; refuses keys and nonces of the wrong size", () => {
    const key = new Uint8Array(C2S_KEY)
    const aead = AesGcm.make(key)
    key.fill(0)
    const nonce = handNonce(C2S_IV, 0n)
    assert.strictEqual(toHex(aead.seal(nonce, PING_PLAINTEXT)), AES_PING_FRAME.slice(16))
    assert.throws(() => AesGcm.make(new Uint8Array(16)), RangeError)
    assert.throws(() => aead.seal(new Uint8Array(24), PING_PLAINTEXT), RangeError)
    assert.throws(() => aead.open(new Uint8Array(24), new Uint8Array(32)), RangeError)
  })
})

const AES_PING_FRAME = "0000000000000000" + "caac45fe58" + "ae8b4e48484574896acb2bb9dae3900a"
const AES_ECHO_FRAME = "0000000000000001" + "8ae04ebd74ea3285b59229ec25a59b" + "8272bfbfeffd379b6787c6ca7391ffb4"
