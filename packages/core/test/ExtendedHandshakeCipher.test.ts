/**
 * The AEAD negotiation of the extended handshake (docs/PROTOCOL.md §2.1,
 * §2.2): the offer in byte 67 of the Init, the choice in byte 91 of the
 * Response, interoperation with peers that send 00, and tampering with either
 * byte in transit.
 */
import { assert, describe, it } from "@effect/vitest"
import { hkdf } from "@noble/hashes/hkdf.js"
import { sha256 } from "@noble/hashes/sha2.js"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Crypto from "../src/Crypto.ts"
import * as ExtendedHandshake from "../src/ExtendedHandshake.ts"
import * as Identity from "../src/Identity.ts"
import type * as ProtocolError from "../src/ProtocolError.ts"
import * as ReplayCache from "../src/ReplayCache.ts"
import type * as SecureEnvelope from "../src/SecureEnvelope.ts"
import { hex, toHex, vectors } from "./vectors.ts"

const v = vectors.handshake as Record<string, string> & { readonly timestamp_ms: number }
const NOW = 1_700_000_000_000
const INIT_CIPHER_OFFSET = 60 + 7
const RESPONSE_CIPHER_OFFSET = 84 + 7

const ok = <A>(result: Result.Result<A, ProtocolError.ProtocolError>): A => {
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const detail = (result: Result.Result<unknown, ProtocolError.ProtocolError>): string => {
  if (Result.isSuccess(result)) return assert.fail("expected a failure")
  const reason = result.failure.reason
  return reason._tag === "HandshakeError" ? reason.detail : `${reason._tag}`
}

const serverId = ok(Identity.fromSeed(new Uint8Array(32).fill(0x51)))
const clientId = ok(Identity.fromSeed(new Uint8Array(32).fill(0x52)))

const withCrypto = <A>(f: (crypto: Crypto.Crypto["Service"]) => A) => Effect.map(Crypto.makeDefault, f)

const extended = (outcome: ExtendedHandshake.Outcome) => {
  if (outcome.profile !== "extended") return assert.fail(`expected the extended profile, got ${outcome.profile}`)
  return outcome
}

/** One handshake; `onInit` / `onResponse` may rewrite the payloads in transit. */
const run = (
  crypto: Crypto.Crypto["Service"],
  clientOptions: ExtendedHandshake.ClientOptions,
  serverOptions: ExtendedHandshake.ServerOptions,
  onInit: (init: Uint8Array) => void = () => {},
  onResponse: (response: Uint8Array) => void = () => {}
) => {
  const client = ExtendedHandshake.makeClientUnsafe(crypto, clientOptions)
  const server = ExtendedHandshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe(), serverOptions)
  const init = ok(client.init(NOW)).slice()
  const sentOffer = init[INIT_CIPHER_OFFSET]
  onInit(init)
  const response = ok(server.respond(init, NOW)).slice()
  const sentChoice = response[RESPONSE_CIPHER_OFFSET]
  onResponse(response)
  const confirmed = client.confirm(response)
  return { client, server, init, response, sentOffer, sentChoice, confirmed }
}

describe("ExtendedHandshake: the negotiated AEAD", () => {
  it.effect("the server's preference among what the client offered; XChaCha20-Poly1305 unless both list AES-256-GCM", () =>
    withCrypto((crypto) => {
      type Ciphers = ReadonlyArray<SecureEnvelope.Cipher> | undefined
      const cases: ReadonlyArray<readonly [Ciphers, Ciphers, number, number, SecureEnvelope.Cipher]> = [
        // client ciphers, server ciphers, offer byte, choice byte, outcome
        [undefined, undefined, 0x00, 0x00, "xchacha20-poly1305"],
        [["xchacha20-poly1305"], ["xchacha20-poly1305"], 0x00, 0x00, "xchacha20-poly1305"],
        [["aes-256-gcm"], undefined, 0x01, 0x00, "xchacha20-poly1305"],
        [undefined, ["aes-256-gcm"], 0x00, 0x00, "xchacha20-poly1305"],
        [["aes-256-gcm"], ["aes-256-gcm"], 0x01, 0x01, "aes-256-gcm"],
        [["aes-256-gcm", "xchacha20-poly1305"], ["xchacha20-poly1305", "aes-256-gcm"], 0x01, 0x00, "xchacha20-poly1305"],
        [["xchacha20-poly1305", "aes-256-gcm"], ["aes-256-gcm", "xchacha20-poly1305"], 0x01, 0x01, "aes-256-gcm"],
        [[], [], 0x00, 0x00, "xchacha20-poly1305"]
      ]
      for (const [clientCiphers, serverCiphers, offer, choice, cipher] of cases) {
        const label = `${JSON.stringify(clientCiphers)} → ${JSON.stringify(serverCiphers)}`
        const r = run(crypto, { ciphers: clientCiphers }, { ciphers: serverCiphers })
        assert.strictEqual(r.sentOffer, offer, label)
        assert.strictEqual(r.sentChoice, choice, label)
        const { confirm, outcome } = ok(r.confirmed)
        const serverOutcome = extended(ok(r.server.finish(confirm)))
        assert.strictEqual(extended(outcome).cipher, cipher, label)
        assert.strictEqual(serverOutcome.cipher, cipher, label)
        assert.deepStrictEqual(extended(outcome).keys.sendKey, serverOutcome.keys.receiveKey, label)
      }
    }))

  it.effect("negotiated independently of compression and authentication", () =>
    withCrypto((crypto) => {
      const r = run(
        crypto,
        { ciphers: ["aes-256-gcm"], compression: ["zstd"], pin: serverId.fingerprint, identity: clientId },
        { ciphers: ["aes-256-gcm"], compression: ["lz4", "zstd"], identity: serverId, requireClientAuth: true }
      )
      assert.strictEqual(r.init[60 + 6], 0x02)
      assert.strictEqual(r.response[84 + 6], 0x02)
      const { confirm, outcome } = ok(r.confirmed)
      const server = extended(ok(r.server.finish(confirm)))
      assert.strictEqual(extended(outcome).cipher, "aes-256-gcm")
      assert.strictEqual(extended(outcome).compression, "zstd")
      assert.strictEqual(server.cipher, "aes-256-gcm")
      assert.deepStrictEqual(server.peerIdentity, clientId.publicKey)
    }))

  it.effect("peers of the previous version send 00: an offering client with a server that ignores the byte, and the reverse", () =>
    withCrypto((crypto) => {
      // A server of the previous version ignores byte 67 and answers 00 — as a server that accepts only
      // XChaCha20-Poly1305 does; the Finished (over the real offer) still verifies.
      const oldServer = run(crypto, { ciphers: ["aes-256-gcm"] }, {})
      assert.strictEqual(oldServer.sentOffer, 0x01)
      assert.strictEqual(oldServer.sentChoice, 0x00)
      assert.strictEqual(extended(ok(oldServer.confirmed).outcome).cipher, "xchacha20-poly1305")
      // A client of the previous version sends 00 (its Init is byte for byte the default client's,
      // docs/PROTOCOL.md §7): a server preferring AES-256-GCM answers 00 and XChaCha20-Poly1305.
      const oldClient = run(crypto, {}, { ciphers: ["aes-256-gcm", "xchacha20-poly1305"] })
      assert.strictEqual(oldClient.sentOffer, 0x00)
      assert.strictEqual(oldClient.sentChoice, 0x00)
      const { confirm, outcome } = ok(oldClient.confirmed)
      assert.strictEqual(extended(outcome).cipher, "xchacha20-poly1305")
      assert.strictEqual(extended(ok(oldClient.server.finish(confirm))).cipher, "xchacha20-poly1305")
      // offer bits this version does not know are ignored (a later version's)
      const later = run(crypto, {}, { ciphers: ["aes-256-gcm"] }, (init) => (init[INIT_CIPHER_OFFSET] = 0xfe))
      assert.strictEqual(later.sentChoice, 0x00)
    }))

  it.effect("a man in the middle who rewrites the offer or the choice makes the handshake fail", () =>
    withCrypto((crypto) => {
      const both = { ciphers: ["aes-256-gcm"] } as const
      // stripping the offer (01 → 00): the server picks XChaCha20-Poly1305, the client's transcript differs
      const stripped = run(crypto, both, both, (init) => (init[INIT_CIPHER_OFFSET] = 0x00))
      assert.strictEqual(stripped.sentChoice, 0x00)
      assert.strictEqual(detail(stripped.confirmed), ExtendedHandshake.errors.serverFinished)
      // downgrading the choice (01 → 00)
      const downgraded = run(crypto, both, both, undefined, (response) => (response[RESPONSE_CIPHER_OFFSET] = 0x00))
      assert.strictEqual(downgraded.sentChoice, 0x01)
      assert.strictEqual(detail(downgraded.confirmed), ExtendedHandshake.errors.serverFinished)
      // upgrading the choice (00 → 01) when the client offered AES but the server chose XChaCha
      const upgraded = run(
        crypto,
        both,
        { ciphers: ["xchacha20-poly1305", "aes-256-gcm"] },
        undefined,
        (response) => (response[RESPONSE_CIPHER_OFFSET] = 0x01)
      )
      assert.strictEqual(upgraded.sentChoice, 0x00)
      assert.strictEqual(detail(upgraded.confirmed), ExtendedHandshake.errors.serverFinished)
      // adding an offer the client never made: refused at once (a choice it did not offer) ...
      const added = run(crypto, {}, both, (init) => (init[INIT_CIPHER_OFFSET] = 0x01))
      assert.strictEqual(added.sentChoice, 0x01)
      assert.strictEqual(detail(added.confirmed), ExtendedHandshake.errors.unofferedCipher)
      // ... and hiding the choice too does not help: the transcripts differ
      const hidden = run(
        crypto,
        {},
        both,
        (init) => (init[INIT_CIPHER_OFFSET] = 0x01),
        (response) => (response[RESPONSE_CIPHER_OFFSET] = 0x00)
      )
      assert.strictEqual(detail(hidden.confirmed), ExtendedHandshake.errors.serverFinished)
      // an unknown cipher id is a malformed block
      const unknown = run(crypto, both, both, undefined, (response) => (response[RESPONSE_CIPHER_OFFSET] = 0x02))
      assert.strictEqual(detail(unknown.confirmed), ExtendedHandshake.errors.malformedExtension)
    }))

  it.effect("parseInit and parseResponse report the offer and the choice", () =>
    withCrypto((crypto) => {
      const r = run(crypto, { ciphers: ["aes-256-gcm"] }, { ciphers: ["aes-256-gcm"], identity: serverId })
      assert.strictEqual(ok(ExtendedHandshake.parseInit(r.init)).extension?.ciphers, ExtendedHandshake.ciphers.offerBits["aes-256-gcm"])
      assert.strictEqual(ok(ExtendedHandshake.parseResponse(r.response)).extension?.cipher, "aes-256-gcm")
    }))

  it.effect("known answer with AES-256-GCM negotiated (docs/PROTOCOL.md §7.1)", () =>
    withCrypto((crypto) => {
      const fixedClient = { secretKey: hex(v.client_secret), nonce: hex("000102030405060708090a0b0c0d0e0f") }
      const fixedServer = { secretKey: hex(v.server_secret), nonce: hex("101112131415161718191a1b1c1d1e1f") }
      const client = ExtendedHandshake.makeClientUnsafe(crypto, {
        fixed: fixedClient,
        pin: serverId.fingerprint,
        ciphers: ["aes-256-gcm"]
      })
      const server = ExtendedHandshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe(), {
        fixed: fixedServer,
        identity: serverId,
        ciphers: ["aes-256-gcm"]
      })
      const init = ok(client.init(NOW))
      const response = ok(server.respond(init, NOW))
      const { confirm, outcome } = ok(client.confirm(response))
      assert.strictEqual(extended(ok(server.finish(confirm))).cipher, "aes-256-gcm")
      const keys = extended(outcome).keys
      assert.deepStrictEqual({
        init: toHex(init),
        response: toHex(response),
        confirm: toHex(confirm),
        c2sKey: toHex(keys.sendKey),
        s2cKey: toHex(keys.receiveKey),
        c2sIv: toHex(keys.sendIv),
        s2cIv: toHex(keys.receiveIv)
      }, AES_KNOWN)
      // independently: the keys are HKDF over the transcript that covers both cipher bytes
      const ascii = (text: string) => new TextEncoder().encode(text)
      const lp = (bytes: Uint8Array) => hex(bytes.length.toString(16).padStart(8, "0") + toHex(bytes))
      const th2 = sha256(hex(toHex(ascii("NPX1 transcript")) + toHex(lp(init)) + toHex(lp(response.subarray(0, 84 + 8 + 32)))))
      const okm = hkdf(sha256, hex(v.shared_secret), th2, ascii("NPX1 keys"), 160)
      assert.strictEqual(toHex(okm.subarray(0, 32)), AES_KNOWN.c2sKey)
      assert.strictEqual(toHex(okm.subarray(64, 80)), AES_KNOWN.c2sIv)
    }))
})

// docs/PROTOCOL.md §7.1: the inputs of §7, the client pins the server and offers AES-256-GCM (no identity,
// no compression), the server has its identity and accepts AES-256-GCM.
const AES_KNOWN = {
  init: "020000008520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a0068e5cf8b010000000102030405060708090a0b0c0d0e0f" +
    "4e50583101000001",
  response: "03000000de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f101112131415161718191a1b1c1d1e1f" +
    "be45cb2605bf36bebde684841a28f0fd43c69850a3dce5fedba69928ee3a8991" +
    "4e50583101010001" +
    "c050c5637a44fa8629fff3cccce2300cb362a63d99d95fc54145266f4332445a" +
    "ee029c0f7dad1d87ea120a880cde68439236af2fa80e4a760d88f502fb80c7a7" +
    "4c48465dd66b96e731e97556e560c202f18c62488a4924bb76c91ec7510f2600" +
    "f6c607be471568db39375237ce257a39057d78e53750ac8b9561e611467c12e7",
  confirm: "04000000fc2e2c73072bfa2bda03ff9307472debd3cc8105028a8a9e235e35ba8d2e37f4" +
    "4e50583101000000" +
    "b7681af0b63cf801e8b665cec9a635cd49b3a90809eb6ce4d72d8028b2672741",
  c2sKey: "03b4195794bea2ca1c434b7c228fd9595f400e163dbb4cb02c7e35be12980316",
  s2cKey: "04fdf72d3d3ec279aa3c5a6bda11b9ffccf2ce1c3eb4186545e63b5a6d5cd03f",
  c2sIv: "c869c95cf1931df783e59c4b2453e226",
  s2cIv: "2a2ffe756041a92bd34f52ef686a92ad"
}
