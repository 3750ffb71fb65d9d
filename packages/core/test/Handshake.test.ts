import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { TestClock } from "effect/testing"
import * as Crypto from "../src/Crypto.ts"
import * as CryptoNoble from "../src/CryptoNoble.ts"
import * as Handshake from "../src/Handshake.ts"
import * as Message from "../src/Message.ts"
import * as MessageCodec from "../src/MessageCodec.ts"
import * as Packet from "../src/Packet.ts"
import * as ProtocolError from "../src/ProtocolError.ts"
import * as ReplayCache from "../src/ReplayCache.ts"
import { hex, toHex, vectors } from "./vectors.ts"

const v = vectors.handshake as Record<string, string> & { readonly timestamp_ms: number }
const NOW = 1_700_000_000_000

/** A message as the packet the crate puts on the wire. */
const frame = (message: Message.Message): Uint8Array =>
  Packet.encode(Packet.make(Result.getOrThrow(MessageCodec.encode(message))))

/** The message carried by a wire frame. */
const unframe = (bytes: Uint8Array): Message.Message =>
  Result.getOrThrow(MessageCodec.decode(Result.getOrThrow(Packet.decode(bytes)).payload))

const ok = <A>(result: Result.Result<A, ProtocolError.ProtocolError>): A => {
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

/** The `HandshakeError` detail of a failed result. */
const handshakeDetail = (result: Result.Result<unknown, ProtocolError.ProtocolError>): string => {
  if (Result.isSuccess(result)) return assert.fail("expected a failure")
  const reason = result.failure.reason
  if (reason._tag !== "HandshakeError") return assert.fail(`expected HandshakeError, got ${reason._tag}`)
  return reason.detail
}

const exitDetail = (exit: Exit.Exit<unknown, ProtocolError.ProtocolError>): string | undefined => {
  const error = Option.getOrUndefined(Exit.findErrorOption(exit))
  return error?.reason._tag === "HandshakeError" ? error.reason.detail : undefined
}

/** A provider that records every secret key and shared secret it hands out. */
const spy = (base: Crypto.Crypto["Service"]) => {
  const secrets: Array<Uint8Array> = []
  const shared: Array<Uint8Array> = []
  const derived: Array<Uint8Array> = []
  const crypto = Crypto.Crypto.of({
    ...base,
    sha256: (...parts) => {
      const digest = base.sha256(...parts)
      if (parts.length === 5) derived.push(digest)
      return digest
    },
    x25519KeyPair: (secretKey) => {
      const pair = base.x25519KeyPair(secretKey)
      secrets.push(pair.secretKey)
      return pair
    },
    x25519: (secretKey, peer) => {
      const result = base.x25519(secretKey, peer)
      if (result !== undefined) shared.push(result)
      return result
    }
  })
  const allWiped = () => [...secrets, ...shared].every((bytes) => bytes.every((b) => b === 0))
  return { crypto, secrets, shared, derived, allWiped }
}

const fixedClient = { fixed: { secretKey: hex(v.client_secret), nonce: hex(v.client_nonce) } }
const fixedServer = { fixed: { secretKey: hex(v.server_secret), nonce: hex(v.server_nonce) } }

/** Runs the four steps over wire frames; returns the frames and both keys. */
const fullFlow = (
  clientCrypto: Crypto.Crypto["Service"],
  serverCrypto: Crypto.Crypto["Service"],
  cache: ReplayCache.ReplayCache,
  now: number,
  options?: { readonly client?: Handshake.ClientOptions; readonly server?: Handshake.ServerOptions }
) => {
  const client = Handshake.makeClientUnsafe(clientCrypto, options?.client)
  const server = Handshake.makeServerUnsafe(serverCrypto, cache, options?.server)
  const init = frame(ok(client.init(now)))
  const response = frame(ok(server.respond(unframe(init), now)))
  const { confirm: confirmMessage, sessionKey: clientKey } = ok(client.confirm(unframe(response)))
  const confirm = frame(confirmMessage)
  const serverKey = ok(server.finish(unframe(confirm)))
  return { client, server, init, response, confirm, clientKey, serverKey }
}

const providers = await Effect.runPromise(Crypto.available)
const noble = CryptoNoble.make

describe("Handshake vector (SPEC §3.6)", () => {
  it("runs with the pure-JS and node:crypto providers at least (sodium-native when installed)", () => {
    const names = providers.map((p) => p.name)
    assert.includeMembers(names, ["node", "noble"])
    assert.includeMembers([...Crypto.providerNames], names)
  })

  for (const crypto of providers) {
    it(`reproduces the frames and the session key end to end (${crypto.name})`, () => {
      const cache = ReplayCache.makeUnsafe()
      const { client, clientKey, confirm, init, response, server, serverKey } = fullFlow(
        crypto,
        crypto,
        cache,
        v.timestamp_ms,
        { client: fixedClient, server: fixedServer }
      )
      assert.strictEqual(v.timestamp_ms, NOW)
      // timestamp 1,700,000,000,000 = 0x018bcfe56800 → u64 LE 0068e5cf8b010000
      const expectedInit = "4e50524f01" + "0000003c" + "02000000" + v.client_public + "0068e5cf8b010000" +
        v.client_nonce
      const expectedResponse = "4e50524f01" + "00000054" + "03000000" + v.server_public + v.server_nonce +
        v.sha256_client_nonce
      const expectedConfirm = "4e50524f01" + "00000024" + "04000000" + v.sha256_server_nonce
      assert.strictEqual(init.length, 69)
      assert.strictEqual(response.length, 93)
      assert.strictEqual(confirm.length, 45)
      assert.strictEqual(toHex(init), expectedInit)
      assert.strictEqual(toHex(response), expectedResponse)
      assert.strictEqual(toHex(confirm), expectedConfirm)
      // the elided forms printed in SPEC §3.6
      assert.isTrue(toHex(init).startsWith("4e50524f010000003c020000008520f009"))
      assert.isTrue(toHex(init).endsWith("9b4e6a0068e5cf8b010000000102030405060708090a0b0c0d0e0f"))
      assert.isTrue(toHex(response).startsWith("4e50524f010000005403000000de9edb7d"))
      assert.isTrue(toHex(response).endsWith("6f882b4f101112131415161718191a1b1c1d1e1fbe45cb26" +
        v.sha256_client_nonce.slice(8)))
      assert.isTrue(toHex(confirm).startsWith("4e50524f010000002404000000fc2e2c73"))
      assert.isTrue(toHex(confirm).endsWith("8d2e37f4"))
      assert.strictEqual(toHex(clientKey), v.session_key)
      assert.strictEqual(toHex(serverKey), v.session_key)
      assert.strictEqual(client.phase, "Done")
      assert.strictEqual(server.phase, "Done")
      // the fixed inputs are copied, not wiped in place
      assert.strictEqual(toHex(fixedClient.fixed.secretKey), v.client_secret)
      assert.strictEqual(toHex(fixedServer.fixed.secretKey), v.server_secret)
    })
  }

  it("derives the shared secret and the hashes of the vector", () => {
    for (const crypto of providers) {
      const client = crypto.x25519KeyPair(hex(v.client_secret))
      const server = crypto.x25519KeyPair(hex(v.server_secret))
      assert.strictEqual(toHex(client.publicKey), v.client_public)
      assert.strictEqual(toHex(server.publicKey), v.server_public)
      const shared = crypto.x25519(hex(v.client_secret), server.publicKey)
      assert.strictEqual(shared && toHex(shared), v.shared_secret)
      // test_nonce_verification: 32 bytes, deterministic, sensitive to one bit
      const once = crypto.sha256(hex(v.client_nonce))
      assert.strictEqual(toHex(once), v.sha256_client_nonce)
      assert.strictEqual(toHex(crypto.sha256(hex(v.client_nonce))), toHex(once))
      const flipped = hex(v.client_nonce)
      flipped[15] ^= 1
      assert.notStrictEqual(toHex(crypto.sha256(flipped)), toHex(once))
      assert.strictEqual(toHex(crypto.sha256(hex(v.server_nonce))), v.sha256_server_nonce)
    }
  })

  it("does not use the unlabelled key of the crate's test_utils", () => {
    const { clientKey } = fullFlow(noble, noble, ReplayCache.makeUnsafe(), NOW, {
      client: fixedClient,
      server: fixedServer
    })
    assert.notStrictEqual(toHex(clientKey), "ed90920624c11bef97bbfe73d801b39d91bf7cb37222ca490c2f3395ebe39ec1")
  })
})

describe("Handshake flow", () => {
  it("test_secure_handshake_flow: both sides derive the same key, with every provider and across providers", () => {
    for (const clientCrypto of providers) {
      for (const serverCrypto of providers) {
        const cache = ReplayCache.makeUnsafe()
        const { client, clientKey, server, serverKey } = fullFlow(clientCrypto, serverCrypto, cache, NOW)
        assert.strictEqual(clientKey.length, 32)
        assert.strictEqual(toHex(clientKey), toHex(serverKey), `${clientCrypto.name} → ${serverCrypto.name}`)
        assert.notStrictEqual(toHex(clientKey), "00".repeat(32))
        assert.strictEqual(client.phase, "Done")
        assert.strictEqual(server.phase, "Done")
      }
    }
  })

  it("test_per_session_state_isolation: two interleaved handshakes on one cache", () => {
    const cache = ReplayCache.makeUnsafe({ ttl: "60 seconds", maxEntries: 100 })
    const c1 = Handshake.makeClientUnsafe(noble)
    const c2 = Handshake.makeClientUnsafe(noble)
    const s1 = Handshake.makeServerUnsafe(noble, cache)
    const s2 = Handshake.makeServerUnsafe(noble, cache)
    const i1 = ok(c1.init(NOW))
    const i2 = ok(c2.init(NOW))
    const r1 = ok(s1.respond(i1, NOW))
    const r2 = ok(s2.respond(i2, NOW))
    const f1 = ok(c1.confirm(r1))
    const f2 = ok(c2.confirm(r2))
    const k2 = ok(s2.finish(f2.confirm))
    const k1 = ok(s1.finish(f1.confirm))
    assert.strictEqual(toHex(k1), toHex(f1.sessionKey))
    assert.strictEqual(toHex(k2), toHex(f2.sessionKey))
    assert.notStrictEqual(toHex(k1), toHex(k2))
    assert.notStrictEqual(toHex(i1.pubKey), toHex(i2.pubKey))
    assert.notStrictEqual(toHex(i1.nonce), toHex(i2.nonce))
    assert.notStrictEqual(toHex(r1.pubKey), toHex(r2.pubKey))
    assert.notStrictEqual(toHex(r1.nonce), toHex(r2.nonce))
    assert.notStrictEqual(toHex(f1.confirm.nonceVerification), toHex(f2.confirm.nonceVerification))
  })

  it("a client cannot finish with the other session's response", () => {
    const cache = ReplayCache.makeUnsafe()
    const c1 = Handshake.makeClientUnsafe(noble)
    const c2 = Handshake.makeClientUnsafe(noble)
    ok(c1.init(NOW))
    const i2 = ok(c2.init(NOW))
    const r2 = ok(Handshake.makeServerUnsafe(noble, cache).respond(i2, NOW))
    assert.strictEqual(handshakeDetail(c1.confirm(r2)), "Server failed to verify client nonce")
  })

  it("test_nonce_uniqueness: three inits carry three distinct nonces and keys", () => {
    const inits = [0, 1, 2].map(() => ok(Handshake.makeClientUnsafe(noble).init(NOW)))
    assert.strictEqual(new Set(inits.map((i) => toHex(i.nonce))).size, 3)
    assert.strictEqual(new Set(inits.map((i) => toHex(i.pubKey))).size, 3)
    assert.isTrue(inits.every((i) => i.nonce.length === 16 && i.pubKey.length === 32 && i.timestamp === BigInt(NOW)))
  })

  it("wipes the ephemeral secrets and shared secrets, and hands over the session key", () => {
    for (const base of providers) {
      const s = spy(base)
      const { clientKey, serverKey } = fullFlow(s.crypto, s.crypto, ReplayCache.makeUnsafe(), NOW)
      assert.strictEqual(s.secrets.length, 2)
      assert.strictEqual(s.shared.length, 2)
      assert.isTrue(s.allWiped(), base.name)
      assert.notStrictEqual(toHex(clientKey), "00".repeat(32))
      assert.strictEqual(toHex(clientKey), toHex(serverKey))
    }
  })

  it("wipes the client's secret on failure and on destroy", () => {
    const s = spy(noble)
    const failing = Handshake.makeClientUnsafe(s.crypto)
    ok(failing.init(NOW))
    handshakeDetail(failing.confirm(Message.Ping()))
    assert.strictEqual(failing.phase, "Failed")
    const abandoned = Handshake.makeClientUnsafe(s.crypto)
    ok(abandoned.init(NOW))
    assert.isFalse(s.allWiped())
    abandoned.destroy()
    assert.strictEqual(abandoned.phase, "Failed")
    assert.isTrue(s.allWiped())
    assert.strictEqual(handshakeDetail(abandoned.confirm(Message.Ping())), "Client secret not found")
  })

  it("the server holds no ephemeral secret after responding; destroy wipes its pending key", () => {
    const s = spy(noble)
    const server = Handshake.makeServerUnsafe(s.crypto, ReplayCache.makeUnsafe())
    const client = Handshake.makeClientUnsafe(noble)
    ok(server.respond(ok(client.init(NOW)), NOW))
    assert.strictEqual(s.secrets.length, 1)
    assert.isTrue(s.allWiped())
    assert.strictEqual(s.derived.length, 1)
    assert.notStrictEqual(toHex(s.derived[0]), "00".repeat(32))
    server.destroy()
    assert.strictEqual(server.phase, "Failed")
    assert.strictEqual(toHex(s.derived[0]), "00".repeat(32))
    assert.strictEqual(
      handshakeDetail(server.finish(Message.SecureHandshakeConfirm({ nonceVerification: new Uint8Array(32) }))),
      "Server secret not found"
    )
  })
})

const services = Layer.mergeAll(Crypto.layerDefault, ReplayCache.layer())

describe("Handshake timestamp window (TestClock)", () => {
  /** Client clock = server clock + skew; the server checks the Init at its own time. */
  const attempt = (skewMillis: number) =>
    Effect.gen(function*() {
      const client = yield* Handshake.makeClient()
      const server = yield* Handshake.makeServer()
      yield* TestClock.setTime(NOW + skewMillis)
      const init = yield* Handshake.init(client)
      assert.strictEqual(init.timestamp, BigInt(NOW + skewMillis))
      yield* TestClock.setTime(NOW)
      return yield* Effect.exit(Handshake.respond(server, init))
    }).pipe(Effect.scoped, Effect.provide(services))

  const cases: ReadonlyArray<readonly [string, number, boolean]> = [
    ["now", 0, true],
    ["10 s old", -10_000, true],
    ["5 s old", -5_000, true],
    ["31 s old", -31_000, false],
    ["1 s ahead", 1_000, true],
    ["3 s ahead", 3_000, false],
    ["exactly 30,000 ms old", -30_000, true],
    ["30,001 ms old", -30_001, false],
    ["exactly 2,000 ms ahead", 2_000, true],
    ["2,001 ms ahead", 2_001, false]
  ]
  for (const [name, skew, accepted] of cases) {
    it.effect(`${accepted ? "accepts" : "rejects"} a timestamp ${name}`, () =>
      Effect.gen(function*() {
        const exit = yield* attempt(skew)
        if (accepted) {
          assert.isTrue(Exit.isSuccess(exit), `skew ${skew}`)
        } else {
          assert.strictEqual(exitDetail(exit), "Invalid or stale timestamp")
          const error = Option.getOrUndefined(Exit.findErrorOption(exit))
          assert.isTrue(ProtocolError.isProtocolError(error))
          assert.strictEqual(error?.message, "Handshake failed: Invalid or stale timestamp")
        }
      }))
  }

  it.effect("runs the whole flow through the Effect steps with the clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const client = yield* Handshake.makeClient()
      const server = yield* Handshake.makeServer()
      const init = yield* Handshake.init(client)
      assert.strictEqual(init.timestamp, BigInt(NOW))
      const response = yield* server.pipe(Handshake.respond(init))
      const { confirm, sessionKey } = yield* Handshake.confirm(client, response)
      const serverKey = yield* Handshake.finish(server, confirm)
      assert.strictEqual(toHex(serverKey), toHex(sessionKey))
    }).pipe(Effect.provide(services)))

  it.effect("closing the scope wipes a half-done handshake", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const [client, server] = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Handshake.makeClient()
        const server = yield* Handshake.makeServer()
        yield* Handshake.respond(server, yield* Handshake.init(client))
        return [client, server] as const
      }))
      assert.strictEqual(client.phase, "Failed")
      assert.strictEqual(server.phase, "Failed")
    }).pipe(Effect.provide(services)))

  it.effect("a clock before the epoch fails the init with the crate's Custom error", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(-1)
      const client = yield* Handshake.makeClient()
      const error = yield* Effect.flip(Handshake.init(client))
      assert.strictEqual(error.reason._tag, "Custom")
      assert.strictEqual(error.message, "Custom error: System time error: time went backwards")
    }).pipe(Effect.provide(services)))

  it("honours custom windows", () => {
    const server = (skew: number) => {
      const init = ok(Handshake.makeClientUnsafe(noble).init(NOW + skew))
      return Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe(), {
        futureToleranceMillis: 0,
        maxAgeMillis: 5_000
      }).respond(init, NOW)
    }
    assert.isTrue(Result.isSuccess(server(0)))
    assert.isTrue(Result.isSuccess(server(-5_000)))
    assert.strictEqual(handshakeDetail(server(-5_001)), "Invalid or stale timestamp")
    assert.strictEqual(handshakeDetail(server(1)), "Invalid or stale timestamp")
  })
})

describe("Handshake replay protection", () => {
  it("refuses the same Init on a second connection sharing the cache", () => {
    const cache = ReplayCache.makeUnsafe()
    const init = ok(Handshake.makeClientUnsafe(noble).init(NOW))
    const recorded = frame(init)
    assert.isTrue(Result.isSuccess(Handshake.makeServerUnsafe(noble, cache).respond(unframe(recorded), NOW)))
    const second = Handshake.makeServerUnsafe(noble, cache)
    assert.strictEqual(
      handshakeDetail(second.respond(unframe(recorded), NOW + 1_000)),
      "Replay attack detected - nonce/timestamp already seen"
    )
    assert.strictEqual(second.phase, "Failed")
    // with its timestamp rewritten (the crate would accept this)
    const bumped = Message.SecureHandshakeInit({ ...init, timestamp: init.timestamp + 1n })
    assert.strictEqual(
      handshakeDetail(Handshake.makeServerUnsafe(noble, cache).respond(bumped, NOW + 1_000)),
      "Replay attack detected - nonce/timestamp already seen"
    )
    // a server with its own cache (the crate's per-connection cache) would not notice
    assert.isTrue(Result.isSuccess(Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe()).respond(init, NOW)))
  })

  it.effect("refuses a replay through the Layer-provided cache, and accepts it once expired only if still fresh", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const init = yield* Handshake.init(yield* Handshake.makeClient())
      yield* Handshake.respond(yield* Handshake.makeServer(), init)
      const error = yield* Effect.flip(Handshake.respond(yield* Handshake.makeServer(), init))
      assert.strictEqual(error.reason._tag === "HandshakeError" && error.reason.detail, Handshake.errors.replay)
      // long after the TTL the cache has forgotten it, but the timestamp check refuses it
      yield* TestClock.adjust("301 seconds")
      const late = yield* Effect.flip(Handshake.respond(yield* Handshake.makeServer(), init))
      assert.strictEqual(late.reason._tag === "HandshakeError" && late.reason.detail, Handshake.errors.staleTimestamp)
    }).pipe(Effect.provide(services)))
})

describe("Handshake rejects bad peers", () => {
  const lowOrderPoints = [
    "00".repeat(32),
    "01" + "00".repeat(31),
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
  ]

  it("the server refuses a low-order client public key, with every provider", () => {
    for (const crypto of providers) {
      for (const point of lowOrderPoints) {
        const server = Handshake.makeServerUnsafe(crypto, ReplayCache.makeUnsafe())
        const init = Message.SecureHandshakeInit({
          pubKey: hex(point),
          timestamp: BigInt(NOW),
          nonce: crypto.randomBytes(16)
        })
        const detail = handshakeDetail(server.respond(init, NOW))
        assert.strictEqual(detail, Handshake.errors.lowOrderKey, `${crypto.name} ${point}`)
        assert.strictEqual(server.phase, "Failed")
      }
    }
  })

  it("the client refuses a low-order server public key, with every provider", () => {
    for (const crypto of providers) {
      const client = Handshake.makeClientUnsafe(crypto)
      const init = ok(client.init(NOW))
      const response = Message.SecureHandshakeResponse({
        pubKey: new Uint8Array(32),
        nonce: crypto.randomBytes(16),
        nonceVerification: crypto.sha256(init.nonce)
      })
      assert.strictEqual(handshakeDetail(client.confirm(response)), Handshake.errors.lowOrderKey, crypto.name)
      assert.strictEqual(client.phase, "Failed")
    }
  })

  it("test_tampering_detection: an all-zero nonce_verification fails the client", () => {
    const server = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
    const client = Handshake.makeClientUnsafe(noble)
    const response = ok(server.respond(ok(client.init(NOW)), NOW))
    const tampered = Message.SecureHandshakeResponse({ ...response, nonceVerification: new Uint8Array(32) })
    assert.strictEqual(handshakeDetail(client.confirm(tampered)), "Server failed to verify client nonce")
    assert.strictEqual(client.phase, "Failed")
  })

  it("a wrong Confirm fails the server", () => {
    const server = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
    const client = Handshake.makeClientUnsafe(noble)
    const { confirm } = ok(client.confirm(ok(server.respond(ok(client.init(NOW)), NOW))))
    const tampered = confirm.nonceVerification.slice()
    tampered[31] ^= 0x80
    assert.strictEqual(
      handshakeDetail(server.finish(Message.SecureHandshakeConfirm({ nonceVerification: tampered }))),
      "Client failed to verify server nonce"
    )
    assert.strictEqual(server.phase, "Failed")
    // and stays failed: the genuine Confirm no longer helps
    assert.strictEqual(handshakeDetail(server.finish(confirm)), "Server secret not found")
  })

  it("refuses wrong-variant messages with the crate's texts", () => {
    const others = [
      Message.Ping(),
      Message.Pong(),
      Message.Echo({ text: "hi" }),
      Message.Disconnect(),
      Message.Unknown(),
      Message.Custom({ command: "x", payload: new Uint8Array(1) })
    ]
    for (const wrong of others) {
      const server = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
      assert.strictEqual(handshakeDetail(server.respond(wrong, NOW)), "Unexpected message type")
      const client = Handshake.makeClientUnsafe(noble)
      const init = ok(client.init(NOW))
      assert.strictEqual(handshakeDetail(client.confirm(wrong)), "Invalid server response message type")
      const server2 = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
      ok(server2.respond(init, NOW))
      assert.strictEqual(handshakeDetail(server2.finish(wrong)), "Expected handshake confirmation")
    }
    // handshake messages in the wrong place
    const client = Handshake.makeClientUnsafe(noble)
    const init = ok(client.init(NOW))
    const server = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
    const response = ok(server.respond(init, NOW))
    assert.strictEqual(
      handshakeDetail(Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe()).respond(response, NOW)),
      "Unexpected message type"
    )
    assert.strictEqual(handshakeDetail(server.finish(init)), "Expected handshake confirmation")
    assert.strictEqual(handshakeDetail(client.confirm(init)), "Invalid server response message type")
  })

  it("refuses steps out of order", () => {
    const client = Handshake.makeClientUnsafe(noble)
    const server = Handshake.makeServerUnsafe(noble, ReplayCache.makeUnsafe())
    const confirm = Message.SecureHandshakeConfirm({ nonceVerification: new Uint8Array(32) })
    assert.strictEqual(handshakeDetail(client.confirm(Message.Ping())), "Client nonce not found")
    assert.strictEqual(handshakeDetail(server.finish(confirm)), "Server nonce not found")
    const init = ok(client.init(NOW))
    assert.strictEqual(handshakeDetail(client.init(NOW)), Handshake.errors.alreadyStarted)
    const response = ok(server.respond(init, NOW))
    assert.strictEqual(handshakeDetail(server.respond(init, NOW)), Handshake.errors.alreadyStarted)
    const result = ok(client.confirm(response))
    assert.strictEqual(handshakeDetail(client.confirm(response)), "Client secret not found")
    ok(server.finish(result.confirm))
    assert.strictEqual(handshakeDetail(server.finish(result.confirm)), "Server secret not found")
    // out-of-order calls do not disturb a finished machine
    assert.strictEqual(client.phase, "Done")
    assert.strictEqual(server.phase, "Done")
  })

  it("rejects fixed material of the wrong size as a programming error", () => {
    assert.throws(
      () => Handshake.makeClientUnsafe(noble, { fixed: { nonce: new Uint8Array(15) } }).init(NOW),
      RangeError
    )
    assert.throws(
      () => Handshake.makeClientUnsafe(noble, { fixed: { secretKey: new Uint8Array(31) } }).init(NOW),
      RangeError
    )
  })
})
