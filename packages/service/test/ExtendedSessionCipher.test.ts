/**
 * The AES-256-GCM cipher suite of the extended profile over real loopback
 * sockets: negotiation (and its bytes on the wire), interoperation with peers
 * that send 00, the frames really sealed with AES-256-GCM (decrypted here
 * with node:crypto from keys recomputed off the wire), in-session integrity,
 * and a man in the middle who rewrites the offer or the choice.
 */
import { assert, describe, it } from "@effect/vitest"
import { x25519 } from "@noble/curves/ed25519.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { sha256 } from "@noble/hashes/sha2.js"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Crypto from "@network-protocol/core/Crypto"
import * as ExtendedHandshake from "@network-protocol/core/ExtendedHandshake"
import * as Identity from "@network-protocol/core/Identity"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Packet from "@network-protocol/core/Packet"
import * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as NodeCrypto from "node:crypto"
import * as Client from "../src/Client.ts"
import * as Daemon from "../src/Daemon.ts"
import * as ExtendedSession from "../src/ExtendedSession.ts"
import * as Session from "../src/Session.ts"
import { echoServer, forward, handshakeDetail, packetRelay, type Rewrite, text } from "./loopback.ts"

const host = "127.0.0.1"
const serverId = Identity.generate()
const AES = ["aes-256-gcm"] as const
const INIT_CIPHER_OFFSET = 60 + 7
const RESPONSE_CIPHER_OFFSET = 84 + 7

/** A relay that records every packet, per direction, of all its connections. */
const recordingRelay = (target: number) =>
  Effect.gen(function*() {
    const seen = { c2s: new Array<Uint8Array>(), s2c: new Array<Uint8Array>() }
    const port = yield* packetRelay(target, (direction, _, packet) => {
      seen[direction].push(new Uint8Array(packet.payload))
      return forward(direction, packet)
    })
    return { port, seen }
  })

/** A copy of a packet with one byte of its payload replaced. */
const withByte = (packet: Packet.Packet, offset: number, value: number): Packet.Packet => {
  const payload = new Uint8Array(packet.payload)
  payload[offset] = value
  return Packet.make(payload)
}

const connectTo = (port: number) => Tcp.connect({ host, port })

const roundTrip = (session: Session.Session, message: Message.Message) =>
  Effect.andThen(session.send([message]), Effect.map(session.receive, (messages) => messages[0]))

const noReconnect = new NetworkConfig.ClientConfig({ ...NetworkConfig.defaults.client, auto_reconnect: false })

// -----------------------------------------------------------------------------
// negotiation
// -----------------------------------------------------------------------------

describe("AES-256-GCM negotiation on loopback", () => {
  it.live("chosen only when both sides list it; the offer and the choice travel in bytes 67 and 91", () =>
    Effect.gen(function*() {
      type Ciphers = ReadonlyArray<SecureEnvelope.Cipher> | undefined
      const cases: ReadonlyArray<readonly [Ciphers, Ciphers, number, number, SecureEnvelope.Cipher]> = [
        [AES, AES, 0x01, 0x01, "aes-256-gcm"],
        [AES, undefined, 0x01, 0x00, "xchacha20-poly1305"],
        [undefined, AES, 0x00, 0x00, "xchacha20-poly1305"],
        [["aes-256-gcm", "xchacha20-poly1305"], ["xchacha20-poly1305", "aes-256-gcm"], 0x01, 0x00, "xchacha20-poly1305"]
      ]
      for (const [clientCiphers, serverCiphers, offer, choice, cipher] of cases) {
        const label = `${JSON.stringify(clientCiphers)} → ${JSON.stringify(serverCiphers)}`
        const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId, ciphers: serverCiphers }))
        const relay = yield* recordingRelay(server.port)
        const session = yield* ExtendedSession.client(yield* connectTo(relay.port), {
          pin: serverId.fingerprint,
          ciphers: clientCiphers
        })
        assert.strictEqual(session.security.cipher, cipher, label)
        assert.strictEqual((yield* Queue.take(server.securities))?.cipher, cipher, label)
        assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: label }))), label)
        assert.strictEqual(relay.seen.c2s[0][INIT_CIPHER_OFFSET], offer, label)
        assert.strictEqual(relay.seen.s2c[0][RESPONSE_CIPHER_OFFSET], choice, label)
        // the frame layout is the same for both ciphers: seq (8) ‖ flags ‖ bincode ‖ tag (16)
        assert.strictEqual(relay.seen.c2s[2].length, SecureEnvelope.OVERHEAD + 12 + Buffer.byteLength(label), label)
      }
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("the data frames really are AES-256-GCM: decrypted with node:crypto from keys recomputed off the wire", () =>
    Effect.gen(function*() {
      const secret = x25519.utils.randomSecretKey()
      const server = yield* echoServer((c) => ExtendedSession.server(c, { ciphers: AES }))
      const relay = yield* recordingRelay(server.port)
      const session = yield* ExtendedSession.client(yield* connectTo(relay.port), {
        ciphers: AES,
        fixed: { secretKey: secret }
      })
      assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: "over AES" }))), "over AES")
      const init = relay.seen.c2s[0]
      const response = relay.seen.s2c[0]
      // docs/PROTOCOL.md §3: TH2 over the Init and the Response core (no identity: 84 + 8 bytes)
      const ascii = (s: string) => new TextEncoder().encode(s)
      const lp = (b: Uint8Array) => {
        const length = Buffer.alloc(4)
        length.writeUInt32BE(b.length)
        return Buffer.concat([length, b])
      }
      const th2 = sha256(Buffer.concat([ascii("NPX1 transcript"), lp(init), lp(response.subarray(0, 84 + 8))]))
      const shared = x25519.getSharedSecret(secret, response.subarray(4, 36))
      const okm = hkdf(sha256, shared, th2, ascii("NPX1 keys"), 160)
      const open = (frame: Uint8Array, key: Uint8Array, iv: Uint8Array) => {
        const nonce = Buffer.from(iv.subarray(0, 12))
        for (let i = 0; i < 8; i++) nonce[4 + i] ^= frame[i]
        const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 })
        decipher.setAuthTag(frame.subarray(frame.length - 16))
        const plaintext = Buffer.concat([decipher.update(frame.subarray(8, frame.length - 16)), decipher.final()])
        assert.strictEqual(plaintext[0], 0) // flags: not compressed
        const decoded = MessageCodec.decode(plaintext.subarray(1))
        return Result.isSuccess(decoded) ? decoded.success : assert.fail(decoded.failure.message)
      }
      const up = open(relay.seen.c2s[2], okm.subarray(0, 32), okm.subarray(64, 80))
      const down = open(relay.seen.s2c[1], okm.subarray(32, 64), okm.subarray(80, 96))
      assert.deepStrictEqual(up, Message.Echo({ text: "over AES" }))
      assert.deepStrictEqual(down, Message.Echo({ text: "over AES" }))
      // and they do not open as XChaCha20-Poly1305 frames (the default suite) under the same keys
      const crypto = yield* Crypto.Crypto
      const xchachaNonce = new Uint8Array(24)
      xchachaNonce.set(okm.subarray(64, 80))
      assert.isUndefined(crypto.aead(okm.subarray(0, 32)).open(xchachaNonce, relay.seen.c2s[2].subarray(8)))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("with compression: AES-256-GCM and LZ4 / Zstd negotiated together, compressed on the wire", () =>
    Effect.gen(function*() {
      const payload = "the quick brown fox jumps over the lazy dog. ".repeat(400)
      for (const kind of ["lz4", "zstd"] as const) {
        const server = yield* echoServer((c) => ExtendedSession.server(c, { ciphers: AES, compression: [kind] }))
        const relay = yield* recordingRelay(server.port)
        const session = yield* ExtendedSession.client(yield* connectTo(relay.port), { ciphers: AES, compression: [kind] })
        assert.strictEqual(session.security.cipher, "aes-256-gcm")
        assert.strictEqual(session.security.compression, kind)
        assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: payload }))), payload)
        assert.isBelow(relay.seen.c2s[2].length, payload.length / 10, kind)
      }
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("Daemon and Client: `security.ciphers` on both gives AES-256-GCM; concurrent and large requests", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({
        listen: { tcp: { host, port: 0 } },
        security: { identity: serverId, ciphers: AES, compression: ["lz4"] }
      })
      const connect = { tcp: { host, port: daemon.port ?? 0 } }
      const client = yield* Client.make({ connect, config: noReconnect, security: { pin: serverId.fingerprint, ciphers: AES } })
      assert.strictEqual((yield* client.info)?.profile, "extended")
      const many = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => client.request(Message.Echo({ text: String(i) })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(many.map(text), Array.from({ length: 200 }, (_, i) => String(i)))
      const big = Message.Custom({ command: "ECHO", payload: NodeCrypto.randomBytes(1 << 20) })
      assert.deepStrictEqual(yield* client.request(big), big)
      // a client that does not list AES-256-GCM, and a crate-profile client, are served too
      const plain = yield* Client.make({ connect, config: noReconnect, security: { pin: serverId.fingerprint } })
      assert.strictEqual(text(yield* plain.request(Message.Echo({ text: "xchacha" }))), "xchacha")
      const crate = yield* Client.make({ connect, config: noReconnect })
      assert.strictEqual((yield* crate.info)?.profile, "secure")
      assert.deepStrictEqual(yield* crate.request(Message.Ping()), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("peers that send 00 interoperate both ways (the previous version's bytes)", () =>
    Effect.gen(function*() {
      // A server of the previous version ignores the offer and answers 00: the same bytes as a server of
      // this version that accepts only XChaCha20-Poly1305 (the default).
      const oldServer = yield* echoServer((c) => ExtendedSession.server(c, {}))
      const relay1 = yield* recordingRelay(oldServer.port)
      const offering = yield* ExtendedSession.client(yield* connectTo(relay1.port), { ciphers: AES })
      assert.strictEqual(relay1.seen.c2s[0][INIT_CIPHER_OFFSET], 0x01)
      assert.strictEqual(relay1.seen.s2c[0][RESPONSE_CIPHER_OFFSET], 0x00)
      assert.strictEqual(offering.security.cipher, "xchacha20-poly1305")
      assert.strictEqual(text(yield* roundTrip(offering, Message.Echo({ text: "one" }))), "one")
      // a client of the previous version sends 00 (the default client's Init is byte for byte the previous one)
      const aesServer = yield* echoServer((c) => ExtendedSession.server(c, { ciphers: ["aes-256-gcm", "xchacha20-poly1305"] }))
      const relay2 = yield* recordingRelay(aesServer.port)
      const old = yield* ExtendedSession.client(yield* connectTo(relay2.port), {})
      assert.strictEqual(relay2.seen.c2s[0][INIT_CIPHER_OFFSET], 0x00)
      assert.strictEqual(relay2.seen.s2c[0][RESPONSE_CIPHER_OFFSET], 0x00)
      assert.strictEqual(old.security.cipher, "xchacha20-poly1305")
      assert.strictEqual((yield* Queue.take(aesServer.securities))?.cipher, "xchacha20-poly1305")
      assert.strictEqual(text(yield* roundTrip(old, Message.Echo({ text: "two" }))), "two")
      // and the crate's profile on either side is untouched
      const crate = yield* Session.secureClient(yield* connectTo(aesServer.port))
      assert.strictEqual(text(yield* roundTrip(crate, Message.Echo({ text: "crate" }))), "crate")
      assert.strictEqual((yield* Queue.take(aesServer.securities))?.profile, "compatible")
      const crateServer = yield* echoServer((c) => Session.secureServer(c))
      const fallback = yield* ExtendedSession.client(yield* connectTo(crateServer.port), { ciphers: AES })
      assert.strictEqual(fallback.security.profile, "compatible")
      assert.strictEqual(text(yield* roundTrip(fallback, Message.Echo({ text: "crate" }))), "crate")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})

// -----------------------------------------------------------------------------
// a man in the middle on the negotiation
// -----------------------------------------------------------------------------

describe("a man in the middle who rewrites the cipher bytes", () => {
  const through = (rewrite: Rewrite, clientCiphers: ReadonlyArray<SecureEnvelope.Cipher> = AES) =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId, ciphers: AES }))
      const port = yield* packetRelay(server.port, rewrite)
      // (its own scope: the client's connection closes when its handshake fails)
      const exit = yield* Effect.exit(Effect.scoped(
        Effect.flatMap(connectTo(port), (c) => ExtendedSession.client(c, { pin: serverId.fingerprint, ciphers: clientCiphers }))
      ))
      const serverExit = yield* Queue.take(server.ended)
      return { exit, serverExit, received: yield* Ref.get(server.received) }
    })

  it.live("stripping the offer (Init byte 67: 01 → 00) fails the Finished; nothing is exchanged", () =>
    Effect.gen(function*() {
      const result = yield* through((direction, index, packet) =>
        direction === "c2s" && index === 0 ? forward(direction, withByte(packet, INIT_CIPHER_OFFSET, 0x00)) : forward(direction, packet)
      )
      assert.strictEqual(handshakeDetail(result.exit), ExtendedHandshake.errors.serverFinished)
      assert.isTrue(Exit.isFailure(result.serverExit)) // the client hangs up without a Confirm
      assert.deepStrictEqual(result.received, [])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("downgrading the choice (Response byte 91: 01 → 00) fails the Finished", () =>
    Effect.gen(function*() {
      const result = yield* through((direction, index, packet) =>
        direction === "s2c" && index === 0
          ? forward(direction, withByte(packet, RESPONSE_CIPHER_OFFSET, 0x00))
          : forward(direction, packet)
      )
      assert.strictEqual(handshakeDetail(result.exit), ExtendedHandshake.errors.serverFinished)
      assert.isTrue(Exit.isFailure(result.serverExit))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("adding an offer the client did not make (00 → 01) is refused: the choice was not offered", () =>
    Effect.gen(function*() {
      const result = yield* through(
        (direction, index, packet) =>
          direction === "c2s" && index === 0 ? forward(direction, withByte(packet, INIT_CIPHER_OFFSET, 0x01)) : forward(direction, packet),
        []
      )
      assert.strictEqual(handshakeDetail(result.exit), ExtendedHandshake.errors.unofferedCipher)
      assert.isTrue(Exit.isFailure(result.serverExit))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("the untouched handshake through the same relay succeeds (the relay itself is transparent)", () =>
    Effect.gen(function*() {
      const done = yield* Deferred.make<SecureEnvelope.Cipher>()
      const server = yield* echoServer((c) =>
        Effect.tap(ExtendedSession.server(c, { identity: serverId, ciphers: AES }), (s) => Deferred.succeed(done, s.security.cipher))
      )
      const port = yield* packetRelay(server.port, (direction, _, packet) => forward(direction, packet))
      const session = yield* ExtendedSession.client(yield* connectTo(port), { pin: serverId.fingerprint, ciphers: AES })
      assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: "clean" }))), "clean")
      assert.strictEqual(yield* Deferred.await(done), "aes-256-gcm")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
