import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "fast-check"
import { createRequire } from "node:module"
import * as Crypto from "../src/Crypto.ts"
import * as CryptoNoble from "../src/CryptoNoble.ts"
import * as CryptoNode from "../src/CryptoNode.ts"
import * as CryptoSodium from "../src/CryptoSodium.ts"
import { captures, hex, toHex, vectors } from "./vectors.ts"

type Provider = Crypto.Crypto["Service"]

interface Variant {
  readonly label: string
  readonly provider: Provider
}

const available = await Effect.runPromise(Crypto.available)
const sodiumLibsodiumOnly = await Effect.runPromise(
  Effect.option(CryptoSodium.load("sodium-native", { bulkThreshold: Infinity }))
)
const sodiumAllOpenSSL = await Effect.runPromise(
  Effect.option(CryptoSodium.load("sodium-native", { bulkThreshold: 0 }))
)

/** Every provider, plus the internal routes of the hybrid ones, so that every code path is cross-checked. */
const variants: ReadonlyArray<Variant> = [
  ...available.map((provider) => ({ label: provider.name, provider })),
  ...(sodiumLibsodiumOnly._tag === "Some"
    ? [{ label: "sodium-native (libsodium only)", provider: sodiumLibsodiumOnly.value }]
    : []),
  ...(sodiumAllOpenSSL._tag === "Some"
    ? [{ label: "sodium-native (OpenSSL for all sizes)", provider: sodiumAllOpenSSL.value }]
    : []),
  { label: "node (JS path for all sizes)", provider: CryptoNode.makeUnsafe({ nativeThreshold: Infinity }) },
  { label: "node (JS path below 1 KiB)", provider: CryptoNode.makeUnsafe({ nativeThreshold: 1024 }) }
]

/** Asserts that `value` is defined and returns it. */
const must = <A>(value: A | undefined, message?: string): A => {
  assert.isDefined(value, message)
  if (value === undefined) throw new Error("unreachable")
  return value
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** A deterministic PRNG (xorshift32) for reproducible "random" inputs. */
const prng = (seed: number) => {
  let state = seed >>> 0 || 1
  const next = (): number => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state
  }
  return {
    int: (max: number): number => next() % max,
    bytes: (length: number): Uint8Array => {
      const out = new Uint8Array(length)
      for (let i = 0; i < length; i++) out[i] = next() & 0xff
      return out
    }
  }
}

/** Copies `bytes` to an odd offset inside a larger buffer, to catch alignment assumptions. */
const unaligned = (bytes: Uint8Array): Uint8Array => {
  const backing = new Uint8Array(bytes.length + 3)
  const view = backing.subarray(1, 1 + bytes.length)
  view.set(bytes)
  return view
}

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = bytes.slice()
  copy[bit >> 3] ^= 1 << (bit & 7)
  return copy
}

// draft-irtf-cfrg-xchacha-03 §A.3.1 (AEAD_XChaCha20_Poly1305, with AAD).
const draftA31 = {
  plaintext: utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
  ),
  aad: hex("50515253c0c1c2c3c4c5c6c7"),
  key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  nonce: hex("404142434445464748494a4b4c4d4e4f5051525354555657"),
  ciphertext: "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
    "21f9664c97637da9768812f615c68b13b52e",
  tag: "c0875924c1c7987947deafd8780acf49"
}

// Low-order X25519 points (libsodium's blacklist: 0, 1, the two points of
// order 8, p - 1, p, p + 1), and the same with the ignored top bit set.
const lowOrderPoints: ReadonlyArray<string> = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
].flatMap((point) => [point, point.slice(0, 62) + (parseInt(point.slice(62), 16) | 0x80).toString(16)])

const hs = vectors.handshake as Record<string, string>

describe("Crypto providers", () => {
  it("loads noble and node everywhere and sodium-native here, fastest first", () => {
    const names = available.map((provider) => provider.name)
    assert.deepStrictEqual(names, ["sodium-native", "node", "noble"])
    assert.deepStrictEqual([...Crypto.providerNames], names)
  })

  it.effect("makeDefault picks the first available provider", () =>
    Effect.gen(function*() {
      const provider = yield* Crypto.makeDefault
      assert.strictEqual(provider.name, available[0].name)
    }))

  it.effect("layerDefault provides the default provider", () =>
    Effect.gen(function*() {
      const provider = yield* Crypto.Crypto
      assert.strictEqual(provider.name, "sodium-native")
      const aead = provider.aead(new Uint8Array(32))
      assert.strictEqual(aead.seal(new Uint8Array(24), new Uint8Array(0)).length, 16)
    }).pipe(Effect.provide(Crypto.layerDefault)))

  it.effect("each provider's layer provides it", () =>
    Effect.gen(function*() {
      const noble = yield* Effect.provide(Effect.service(Crypto.Crypto), CryptoNoble.layer)
      const node = yield* Effect.provide(Effect.service(Crypto.Crypto), CryptoNode.layer)
      const sodium = yield* Effect.provide(Effect.service(Crypto.Crypto), CryptoSodium.layer)
      assert.deepStrictEqual([noble.name, node.name, sodium.name], ["noble", "node", "sodium-native"])
    }))

  it.effect("a native module that fails to load is a typed CryptoUnavailable", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(CryptoSodium.load("sodium-native-does-not-exist"))
      assert.strictEqual(missing._tag, "CryptoUnavailable")
      assert.strictEqual(missing.provider, "sodium-native")
      assert.isDefined(missing.cause)
      // A module that loads but is not sodium-native.
      const wrong = yield* Effect.flip(CryptoSodium.load("node:path"))
      assert.strictEqual(wrong._tag, "CryptoUnavailable")
    }))

  it.effect("firstAvailable falls back past providers that fail to load", () =>
    Effect.gen(function*() {
      const provider = yield* Crypto.firstAvailable([
        CryptoSodium.load("sodium-native-does-not-exist"),
        Effect.fail(new Crypto.CryptoUnavailable({ provider: "node" })),
        Effect.succeed(CryptoNoble.make)
      ])
      assert.strictEqual(provider.name, "noble")
      const none = yield* Effect.exit(Crypto.firstAvailable([CryptoSodium.load("sodium-native-does-not-exist")]))
      assert.isTrue(Exit.isFailure(none))
      const empty = yield* Effect.flip(Crypto.firstAvailable([]))
      assert.strictEqual(empty.provider, "none")
    }))
})

for (const { label, provider } of variants) {
  describe(`Crypto ${label}`, () => {
    describe("XChaCha20-Poly1305", () => {
      it("matches every aead_xchacha20poly1305 vector (seal, open, secure frame)", () => {
        assert.strictEqual(vectors.aead_xchacha20poly1305.length, 3)
        for (const vector of vectors.aead_xchacha20poly1305) {
          const aead = provider.aead(hex(vector.key))
          const nonce = hex(vector.nonce)
          const sealed = aead.seal(nonce, hex(vector.plaintext))
          assert.strictEqual(toHex(sealed), vector.ciphertext_and_tag)
          const opened = aead.open(nonce, hex(vector.ciphertext_and_tag))
          assert.isDefined(opened)
          assert.strictEqual(toHex(must(opened)), vector.plaintext)
          assert.isTrue(vector.secure_frame.endsWith(vector.nonce + vector.ciphertext_and_tag))
        }
      })

      it("reproduces draft-irtf-cfrg-xchacha-03 §A.3.1 (with AAD)", () => {
        const aead = provider.aead(draftA31.key)
        const sealed = aead.seal(draftA31.nonce, draftA31.plaintext, draftA31.aad)
        assert.strictEqual(toHex(sealed), draftA31.ciphertext + draftA31.tag)
        const opened = aead.open(draftA31.nonce, sealed, draftA31.aad)
        assert.strictEqual(toHex(must(opened)), toHex(draftA31.plaintext))
        // The AAD is authenticated: without it, or with another, open fails.
        assert.isUndefined(aead.open(draftA31.nonce, sealed))
        assert.isUndefined(aead.open(draftA31.nonce, sealed, flipBit(draftA31.aad, 0)))
      })

      it("reproduces the SPEC §4.4 encrypted examples (session key, nonce a0..b7)", () => {
        const aead = provider.aead(hex(hs.session_key))
        const nonce = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7")
        assert.strictEqual(toHex(aead.seal(nonce, hex(vectors.bincode.Ping))), "fedfc2ad8ba7b5398c3f19e99d6b5f212515ecbe")
        assert.strictEqual(toHex(aead.seal(nonce, hex(vectors.bincode.Pong))), "ffdfc2adbaaedbb9f58d0378448ee5ffb0415493")
        assert.strictEqual(
          toHex(aead.seal(nonce, hex(vectors.bincode["Echo(\"hi\")"]))),
          "fbdfc2adea604baa8334931f3c1bb29d74467e16d68dc77fb9a1182af3cd"
        )
      })

      it("opens every encrypted frame of the Rust captures", () => {
        let opened = 0
        // The stock-daemon captures carry no session key.
        const keyed = captures.filter((capture) => typeof capture.session_key === "string")
        assert.isAtLeast(keyed.length, 3)
        for (const capture of keyed) {
          const aead = provider.aead(hex(capture.session_key))
          for (const frame of capture.frames) {
            const payload = hex(frame.hex).subarray(9)
            const variant = payload.length >= 4 ? payload[0] | (payload[1] << 8) : -1
            const isHandshake = (variant === 2 && payload.length === 60) ||
              (variant === 3 && payload.length === 84) || (variant === 4 && payload.length === 36)
            if (isHandshake) continue
            const plaintext = must(
              aead.open(payload.subarray(0, 24), payload.subarray(24)),
              `${capture.name} ${frame.dir} #${frame.frame}`
            )
            // A bincode message: u32 LE variant index (Ping..Unknown) first.
            assert.isAtLeast(plaintext.length, 4)
            assert.isBelow(plaintext[0] | (plaintext[1] << 8) | (plaintext[2] << 16) | (plaintext[3] << 24), 9)
            opened++
          }
        }
        assert.strictEqual(opened, keyed.length * 5)
      })

      it("writes into `out` (a view into a larger buffer) and returns it", () => {
        const aead = provider.aead(new Uint8Array(32).fill(1))
        const nonce = new Uint8Array(24).fill(2)
        const plaintext = utf8("hello, out buffer")
        const expected = toHex(aead.seal(nonce, plaintext))
        const backing = new Uint8Array(plaintext.length + 16 + 9).fill(0xee)
        const out = backing.subarray(9)
        const result = aead.seal(nonce, plaintext, undefined, out)
        assert.strictEqual(result, out)
        assert.strictEqual(toHex(out), expected)
        assert.strictEqual(toHex(backing.subarray(0, 9)), "ee".repeat(9))
        assert.throws(() => aead.seal(nonce, plaintext, undefined, new Uint8Array(plaintext.length + 15)), RangeError)
        assert.throws(() => aead.seal(nonce, plaintext, undefined, new Uint8Array(plaintext.length + 17)), RangeError)
      })

      it("returns results that later calls do not overwrite", () => {
        const aead = provider.aead(new Uint8Array(32).fill(11))
        const rand = prng(5)
        // Enough small messages to cross internal buffer boundaries.
        const messages = Array.from({ length: 400 }, (_, i) => ({
          nonce: rand.bytes(24),
          plaintext: rand.bytes(i % 97)
        }))
        const sealed = messages.map(({ nonce, plaintext }) => aead.seal(nonce, plaintext))
        const opened = messages.map(({ nonce }, i) => must(aead.open(nonce, sealed[i])))
        const reference = CryptoNoble.make.aead(new Uint8Array(32).fill(11))
        messages.forEach(({ nonce, plaintext }, i) => {
          assert.strictEqual(toHex(sealed[i]), toHex(reference.seal(nonce, plaintext)), `sealed #${i}`)
          assert.strictEqual(toHex(opened[i]), toHex(plaintext), `opened #${i}`)
        })
        const first = provider.sha256(utf8("abc"))
        provider.sha256(utf8("something else"))
        assert.strictEqual(toHex(first), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
      })

      it("handles unaligned key, nonce, plaintext and sealed views", () => {
        const rand = prng(7)
        const key = rand.bytes(32)
        const nonce = rand.bytes(24)
        for (const size of [0, 5, 64, 1000, 40000]) {
          const plaintext = rand.bytes(size)
          const expected = toHex(CryptoNoble.make.aead(key).seal(nonce, plaintext))
          const aead = provider.aead(unaligned(key))
          const sealed = aead.seal(unaligned(nonce), unaligned(plaintext))
          assert.strictEqual(toHex(sealed), expected)
          assert.strictEqual(toHex(must(aead.open(unaligned(nonce), unaligned(sealed)))), toHex(plaintext))
        }
      })

      it("rejects keys that are not 32 bytes and nonces that are not 24 bytes (RangeError)", () => {
        for (const size of [0, 16, 31, 33, 64]) {
          assert.throws(() => provider.aead(new Uint8Array(size)), RangeError)
        }
        const aead = provider.aead(new Uint8Array(32))
        const sealed = aead.seal(new Uint8Array(24), new Uint8Array(8))
        for (const size of [0, 12, 23, 25, 32]) {
          assert.throws(() => aead.seal(new Uint8Array(size), new Uint8Array(8)), RangeError)
          assert.throws(() => aead.open(new Uint8Array(size), sealed), RangeError)
        }
      })

      it("keeps its own copy of the key", () => {
        const key = new Uint8Array(32).fill(0x42)
        const nonce = new Uint8Array(24).fill(0x99)
        const aead = provider.aead(key)
        const before = aead.seal(nonce, utf8("secret"))
        key.fill(0)
        assert.strictEqual(toHex(aead.seal(nonce, utf8("secret"))), toHex(before))
        assert.strictEqual(toHex(must(aead.open(nonce, before))), toHex(utf8("secret")))
      })

      it("rejects every single-bit flip of ciphertext and tag", () => {
        const aead = provider.aead(new Uint8Array(32).fill(3))
        const nonce = new Uint8Array(24).fill(4)
        const sealed = aead.seal(nonce, utf8("attack at dawn!!!!!!"))
        assert.strictEqual(aead.open(nonce, sealed)?.length, 20)
        for (let bit = 0; bit < sealed.length * 8; bit++) {
          assert.isUndefined(aead.open(nonce, flipBit(sealed, bit)), `bit ${bit}`)
        }
      })

      it("rejects every single-bit flip of the nonce, and a wrong key", () => {
        const key = new Uint8Array(32).fill(5)
        const nonce = new Uint8Array(24).fill(6)
        const aead = provider.aead(key)
        const sealed = aead.seal(nonce, utf8("message"))
        for (let bit = 0; bit < 24 * 8; bit++) {
          assert.isUndefined(aead.open(flipBit(nonce, bit), sealed), `nonce bit ${bit}`)
        }
        for (let bit = 0; bit < 32 * 8; bit += 7) {
          assert.isUndefined(provider.aead(flipBit(key, bit)).open(nonce, sealed), `key bit ${bit}`)
        }
        assert.isUndefined(provider.aead(new Uint8Array(32)).open(nonce, sealed))
      })

      it("rejects truncated and extended input without throwing", () => {
        const aead = provider.aead(new Uint8Array(32).fill(7))
        const nonce = new Uint8Array(24).fill(8)
        const sealed = aead.seal(nonce, utf8("truncate me please"))
        for (let length = 0; length < sealed.length; length++) {
          assert.isUndefined(aead.open(nonce, sealed.subarray(0, length)), `length ${length}`)
        }
        const extended = new Uint8Array(sealed.length + 1)
        extended.set(sealed)
        assert.isUndefined(aead.open(nonce, extended))
        // The tag of an empty plaintext alone is valid; 15 bytes are not.
        const empty = aead.seal(nonce, new Uint8Array(0))
        assert.strictEqual(aead.open(nonce, empty)?.length, 0)
        assert.isUndefined(aead.open(nonce, empty.subarray(1)))
      })

      it("rejects a large tampered message on every route", () => {
        const aead = provider.aead(new Uint8Array(32).fill(9))
        const nonce = new Uint8Array(24).fill(10)
        const sealed = aead.seal(nonce, new Uint8Array(100_000).fill(1))
        assert.strictEqual(aead.open(nonce, sealed)?.length, 100_000)
        assert.isUndefined(aead.open(nonce, flipBit(sealed, 8 * 50_000 + 3)))
        assert.isUndefined(aead.open(nonce, flipBit(sealed, 8 * (sealed.length - 1))))
        assert.isUndefined(aead.open(nonce, sealed.subarray(0, sealed.length - 1)))
      })

      // SPEC §13.2 edge_cases.rs crypto tests.
      it("edge case: empty plaintext gives a 16-byte tag", () => {
        const sealed = provider.aead(new Uint8Array(32)).seal(new Uint8Array(24), new Uint8Array(0))
        assert.strictEqual(sealed.length, 16)
        assert.notStrictEqual(toHex(sealed), "00".repeat(16))
      })

      it("edge case: key 0x42, nonce 0x99, pangram round trip and ciphertext differs", () => {
        const aead = provider.aead(new Uint8Array(32).fill(0x42))
        const nonce = new Uint8Array(24).fill(0x99)
        const plaintext = utf8("The quick brown fox jumps over the lazy dog")
        const sealed = aead.seal(nonce, plaintext)
        assert.strictEqual(sealed.length, plaintext.length + 16)
        assert.notStrictEqual(toHex(sealed.subarray(0, plaintext.length)), toHex(plaintext))
        assert.strictEqual(toHex(must(aead.open(nonce, sealed))), toHex(plaintext))
      })

      it("edge case: the same plaintext under nonces 0x11 and 0x22 differs", () => {
        const aead = provider.aead(new Uint8Array(32).fill(0x42))
        const plaintext = utf8("same plaintext")
        const a = aead.seal(new Uint8Array(24).fill(0x11), plaintext)
        const b = aead.seal(new Uint8Array(24).fill(0x22), plaintext)
        assert.notStrictEqual(toHex(a), toHex(b))
        assert.isUndefined(aead.open(new Uint8Array(24).fill(0x22), a))
      })

      it("edge case: a corrupted first byte is rejected", () => {
        const aead = provider.aead(new Uint8Array(32).fill(0x42))
        const nonce = new Uint8Array(24).fill(0x99)
        const sealed = aead.seal(nonce, utf8("corrupt me"))
        sealed[0] ^= 0xff
        assert.isUndefined(aead.open(nonce, sealed))
      })

      it("edge case: 10 MiB round trip", () => {
        const aead = provider.aead(new Uint8Array(32).fill(0x42))
        const nonce = new Uint8Array(24).fill(0x99)
        const plaintext = new Uint8Array(10 * 1024 * 1024)
        for (let i = 0; i < plaintext.length; i += 4096) plaintext[i] = i >>> 12
        const sealed = aead.seal(nonce, plaintext)
        assert.strictEqual(sealed.length, plaintext.length + 16)
        const opened = must(aead.open(nonce, sealed))
        assert.strictEqual(opened.length, plaintext.length)
        assert.isTrue(Buffer.from(opened).equals(Buffer.from(plaintext)))
      })
    })

    describe("X25519", () => {
      it("derives the RFC 7748 §6.1 public keys and the handshake shared secret", () => {
        const client = provider.x25519KeyPair(hex(hs.client_secret))
        const server = provider.x25519KeyPair(hex(hs.server_secret))
        assert.strictEqual(toHex(client.publicKey), hs.client_public)
        assert.strictEqual(toHex(server.publicKey), hs.server_public)
        assert.strictEqual(toHex(client.secretKey), hs.client_secret)
        assert.strictEqual(toHex(must(provider.x25519(client.secretKey, server.publicKey))), hs.shared_secret)
        assert.strictEqual(toHex(must(provider.x25519(hex(hs.server_secret), hex(hs.client_public)))), hs.shared_secret)
      })

      it("derives the handshake session key from the vector (SPEC §3.2)", () => {
        const shared = provider.x25519(hex(hs.client_secret), hex(hs.server_public))!
        const clientNonce = hex(hs.client_nonce)
        const serverNonce = hex(hs.server_nonce)
        assert.strictEqual(toHex(provider.sha256(clientNonce)), hs.sha256_client_nonce)
        assert.strictEqual(toHex(provider.sha256(serverNonce)), hs.sha256_server_nonce)
        const parts = [shared, utf8("client_nonce"), clientNonce, utf8("server_nonce"), serverNonce]
        assert.strictEqual(toHex(provider.sha256(...parts)), hs.session_key)
        assert.strictEqual(toHex(provider.sha256(Buffer.concat(parts))), hs.session_key)
      })

      it("fresh key pairs are 32 bytes, distinct, and agree on a shared secret", () => {
        const a = provider.x25519KeyPair()
        const b = provider.x25519KeyPair()
        assert.strictEqual(a.secretKey.length, 32)
        assert.strictEqual(a.publicKey.length, 32)
        assert.notStrictEqual(toHex(a.secretKey), toHex(b.secretKey))
        assert.notStrictEqual(toHex(a.publicKey), toHex(b.publicKey))
        const ab = provider.x25519(a.secretKey, b.publicKey)
        const ba = provider.x25519(b.secretKey, a.publicKey)
        assert.isDefined(ab)
        assert.strictEqual(toHex(must(ab)), toHex(must(ba)))
        // Agrees with the reference implementation too.
        assert.strictEqual(toHex(must(CryptoNoble.make.x25519(a.secretKey, b.publicKey))), toHex(must(ab)))
        assert.strictEqual(toHex(CryptoNoble.make.x25519KeyPair(a.secretKey).publicKey), toHex(a.publicKey))
      })

      it("uses the current bytes of a generated secret key, even if the caller changed them", () => {
        const pair = provider.x25519KeyPair()
        pair.secretKey.set(hex(hs.client_secret))
        assert.strictEqual(toHex(must(provider.x25519(pair.secretKey, hex(hs.server_public)))), hs.shared_secret)
        // And a second use of the same secret gives the same answer.
        assert.strictEqual(toHex(must(provider.x25519(pair.secretKey, hex(hs.server_public)))), hs.shared_secret)
      })

      it("returns undefined for low-order public keys (all-zero shared secret)", () => {
        assert.strictEqual(lowOrderPoints.length, 14)
        const secrets = [hex(hs.client_secret), provider.x25519KeyPair().secretKey]
        for (const secret of secrets) {
          for (const point of lowOrderPoints) {
            assert.isUndefined(provider.x25519(secret, hex(point)), point)
          }
        }
      })

      it("returns undefined for a public key that is not 32 bytes, throws for a bad secret key", () => {
        const secret = hex(hs.client_secret)
        assert.isUndefined(provider.x25519(secret, new Uint8Array(31).fill(9)))
        assert.isUndefined(provider.x25519(secret, new Uint8Array(33).fill(9)))
        assert.throws(() => provider.x25519(new Uint8Array(31), hex(hs.server_public)), RangeError)
        assert.throws(() => provider.x25519KeyPair(new Uint8Array(16)), RangeError)
      })
    })

    describe("SHA-256", () => {
      it("hashes known inputs", () => {
        assert.strictEqual(
          toHex(provider.sha256(new Uint8Array(0))),
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        assert.strictEqual(toHex(provider.sha256()), toHex(provider.sha256(new Uint8Array(0))))
        assert.strictEqual(
          toHex(provider.sha256(utf8("abc"))),
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        assert.strictEqual(toHex(provider.sha256(utf8("a"), utf8(""), utf8("bc"))), toHex(provider.sha256(utf8("abc"))))
      })

      it("hashes many parts like their concatenation, small and large", () => {
        const rand = prng(11)
        for (const sizes of [[1, 2, 3], [500, 600], [1000, 1000, 1000], [70_000, 1]]) {
          const parts = sizes.map((size) => rand.bytes(size))
          const expected = toHex(CryptoNoble.make.sha256(Buffer.concat(parts)))
          assert.strictEqual(toHex(provider.sha256(...parts)), expected)
          assert.strictEqual(toHex(provider.sha256(...parts.map(unaligned))), expected)
        }
      })

      it("changes when one input byte flips (nonce verification)", () => {
        const nonce = hex(hs.client_nonce)
        const a = provider.sha256(nonce)
        assert.strictEqual(a.length, 32)
        assert.strictEqual(toHex(provider.sha256(nonce)), toHex(a))
        assert.notStrictEqual(toHex(provider.sha256(flipBit(nonce, 0))), toHex(a))
      })
    })

    describe("random bytes", () => {
      it("returns the requested sizes", () => {
        for (const size of [0, 1, 16, 24, 32, 1024, 1025, 70_000, 200_000]) {
          assert.strictEqual(provider.randomBytes(size).length, size)
        }
        assert.throws(() => provider.randomBytes(-1), RangeError)
        assert.throws(() => provider.randomBytes(1.5), RangeError)
      })

      it("edge case: nonces are 24 bytes and unique, keys are 32 bytes and not all zero", () => {
        const nonces = [provider.randomBytes(24), provider.randomBytes(24), provider.randomBytes(24)]
        for (const nonce of nonces) assert.strictEqual(nonce.length, 24)
        assert.strictEqual(new Set(nonces.map(toHex)).size, 3)
        const key = provider.randomBytes(32)
        assert.strictEqual(key.length, 32)
        assert.isTrue(key.some((byte) => byte !== 0))
      })

      it("never hands out the same bytes twice (across pool refills)", () => {
        // 10,000 × 24 bytes crosses at least two refills of a 96 KiB pool.
        const seen = new Set<string>()
        for (let i = 0; i < 10_000; i++) seen.add(toHex(provider.randomBytes(24)))
        assert.strictEqual(seen.size, 10_000)
        // Each result owns its memory (no view into a shared pool).
        const bytes = provider.randomBytes(24)
        assert.strictEqual(bytes.buffer.byteLength, 24)
      })
    })
  })
}

describe("RandomPool", () => {
  it("hands every filled byte out at most once and refills when used up", () => {
    let fills = 0
    // Each fill writes bytes that were never written before (fills * 8 + i < 256).
    const pool = new CryptoNode.RandomPool((buffer) => {
      for (let i = 0; i < buffer.length; i++) buffer[i] = (fills * 8 + i) & 0xff
      fills++
    }, 8, 4)
    const handedOut: Array<number> = []
    const rand = prng(3)
    while (handedOut.length < 200) {
      const size = 1 + rand.int(4)
      handedOut.push(...pool.take(size))
    }
    assert.strictEqual(new Set(handedOut).size, handedOut.length)
    assert.isAtLeast(fills, 200 / 8)
    // Larger than maxRequest: filled directly, outside the pool.
    const fillsBefore = fills
    assert.strictEqual(pool.take(5).length, 5)
    assert.strictEqual(fills, fillsBefore + 1)
  })
})

describe("cross-provider", () => {
  it("seals identical bytes and opens each other's output, 0 B to 1 MiB", () => {
    const rand = prng(2024)
    const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 255, 1023, 1024, 1025, 32767, 32768, 32769, 65536, 1 << 20]
    for (let i = 0; i < 8; i++) sizes.push(rand.int(1 << 20))
    for (const size of sizes) {
      const key = rand.bytes(32)
      const nonce = rand.bytes(24)
      const plaintext = rand.bytes(size)
      const aad = size % 2 === 0 ? undefined : rand.bytes(rand.int(64))
      const sealed = variants.map(({ provider }) => provider.aead(key).seal(nonce, plaintext, aad))
      const reference = toHex(sealed[0])
      for (let i = 1; i < variants.length; i++) {
        assert.strictEqual(toHex(sealed[i]), reference, `${variants[i].label} at ${size} B`)
      }
      for (const { label, provider } of variants) {
        const opened = must(provider.aead(key).open(nonce, sealed[(size + label.length) % sealed.length], aad))
        assert.isTrue(Buffer.from(opened).equals(Buffer.from(plaintext)), `${label} at ${size} B`)
      }
    }
  })

  it("every provider opens every other provider's output", () => {
    const key = hex(hs.session_key)
    const nonce = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7")
    for (const sealer of variants) {
      for (const size of [0, 100, 50_000]) {
        const plaintext = new Uint8Array(size).fill(size & 0xff)
        const sealed = sealer.provider.aead(key).seal(nonce, plaintext)
        for (const opener of variants) {
          const opened = opener.provider.aead(key).open(nonce, sealed)
          assert.strictEqual(opened?.length, size, `${sealer.label} → ${opener.label} at ${size} B`)
        }
      }
    }
  })

  it("agrees on X25519 between providers", () => {
    for (const a of variants) {
      for (const b of variants) {
        const pairA = a.provider.x25519KeyPair()
        const pairB = b.provider.x25519KeyPair()
        const ab = a.provider.x25519(pairA.secretKey, pairB.publicKey)
        const ba = b.provider.x25519(pairB.secretKey, pairA.publicKey)
        assert.isDefined(ab)
        assert.strictEqual(toHex(must(ab)), toHex(must(ba)), `${a.label} × ${b.label}`)
      }
    }
  })

  it("property: seal/open round-trips across providers with identical bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 2048 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        fc.nat({ max: variants.length - 1 }),
        fc.nat({ max: variants.length - 1 }),
        (key, nonce, plaintext, aad, sealerIndex, openerIndex) => {
          const sealed = variants[sealerIndex].provider.aead(key).seal(nonce, plaintext, aad)
          const reference = CryptoNoble.make.aead(key).seal(nonce, plaintext, aad)
          const opened = variants[openerIndex].provider.aead(key).open(nonce, sealed, aad)
          return toHex(sealed) === toHex(reference) && opened !== undefined && toHex(opened) === toHex(plaintext)
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe("sodium-native hybrid routing (libsodium below the bulk thresholds, OpenSSL from them)", () => {
  const sodium = createRequire(import.meta.url)("sodium-native") as CryptoSodium.SodiumNative
  const defaults = CryptoSodium.DEFAULT_BULK_THRESHOLDS
  const key = prng(21).bytes(32)
  const reference = CryptoNoble.make.aead(key)
  const aads: ReadonlyArray<Uint8Array | undefined> = [undefined, utf8("header"), prng(22).bytes(100)]

  /** `sodium-native` with its AEAD calls counted, to see which route a message took. */
  const counting = () => {
    const calls = { encrypt: 0, decrypt: 0 }
    const module: CryptoSodium.SodiumNative = {
      ...sodium,
      crypto_aead_xchacha20poly1305_ietf_encrypt: (c, m, ad, nsec, npub, k) => {
        calls.encrypt++
        return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, m, ad, nsec, npub, k)
      },
      crypto_aead_xchacha20poly1305_ietf_decrypt: (m, nsec, c, ad, npub, k) => {
        calls.decrypt++
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(m, nsec, c, ad, npub, k)
      }
    }
    return { calls, module }
  }

  /** Sizes around both thresholds, plus 0 B and 1 MiB. */
  const sizesAround = (thresholds: CryptoSodium.BulkThresholds): ReadonlyArray<number> =>
    [...new Set([0, 1 << 20, ...[thresholds.seal, thresholds.open].flatMap((t) => [t - 1, t, t + 1])])]
      .filter((size) => size >= 0)
      .sort((a, b) => a - b)

  it("the default thresholds send bulk to OpenSSL, sealing from a larger size than opening", () => {
    assert.isTrue(CryptoNode.isAeadSupported())
    assert.isAbove(defaults.open, 1024)
    assert.isAtLeast(defaults.seal, defaults.open)
    assert.isBelow(defaults.seal, 1 << 20)
  })

  it("routes each operation by its own threshold", () => {
    const { calls, module } = counting()
    const aead = CryptoSodium.fromModule(module).aead(key)
    const nonce = prng(23).bytes(24)
    for (const size of sizesAround(defaults)) {
      const plaintext = prng(size).bytes(size)
      calls.encrypt = 0
      calls.decrypt = 0
      const sealed = aead.seal(nonce, plaintext)
      const opened = must(aead.open(nonce, sealed), `${size} B`)
      assert.strictEqual(opened.length, size)
      assert.strictEqual(calls.encrypt, size >= defaults.seal ? 0 : 1, `seal of ${size} B`)
      assert.strictEqual(calls.decrypt, size >= defaults.open ? 0 : 1, `open of ${size} B`)
    }
    // One number sets both; Infinity keeps everything in libsodium.
    const both = counting()
    const single = CryptoSodium.fromModule(both.module, { bulkThreshold: 100 }).aead(key)
    single.open(nonce, single.seal(nonce, new Uint8Array(99)))
    assert.deepStrictEqual(both.calls, { encrypt: 1, decrypt: 1 })
    single.open(nonce, single.seal(nonce, new Uint8Array(100)))
    assert.deepStrictEqual(both.calls, { encrypt: 1, decrypt: 1 })
    const never = counting()
    const libsodium = CryptoSodium.fromModule(never.module, { bulkThreshold: Infinity }).aead(key)
    libsodium.open(nonce, libsodium.seal(nonce, new Uint8Array(1 << 20)))
    assert.deepStrictEqual(never.calls, { encrypt: 1, decrypt: 1 })
  })

  it("rejects thresholds that are negative or not numbers (RangeError)", () => {
    for (const bulkThreshold of [-1, Number.NaN, { seal: -1, open: 0 }, { seal: 0, open: Number.NaN }]) {
      assert.throws(() => CryptoSodium.fromModule(sodium, { bulkThreshold }), RangeError)
    }
  })

  for (const [label, thresholds] of [
    ["default thresholds", defaults],
    ["seal from 1000 B, open from 3000 B", { seal: 1000, open: 3000 }],
    ["open from 1000 B, seal from 3000 B", { seal: 3000, open: 1000 }]
  ] as const) {
    const aead = CryptoSodium.fromModule(sodium, { bulkThreshold: thresholds }).aead(key)

    it(`${label}: byte-identical to noble around the thresholds, with and without AAD`, () => {
      const rand = prng(thresholds.seal ^ thresholds.open)
      for (const size of sizesAround(thresholds)) {
        const plaintext = rand.bytes(size)
        for (const aad of aads) {
          const nonce = rand.bytes(24)
          const expected = reference.seal(nonce, plaintext, aad)
          const what = `${size} B, AAD ${aad?.length ?? "none"}`
          assert.isTrue(Buffer.from(aead.seal(nonce, plaintext, aad)).equals(Buffer.from(expected)), `seal ${what}`)
          const out = new Uint8Array(size + Crypto.TAG_SIZE + 5).subarray(3, size + Crypto.TAG_SIZE + 3)
          assert.strictEqual(aead.seal(nonce, plaintext, aad, out), out)
          assert.isTrue(Buffer.from(out).equals(Buffer.from(expected)), `seal into out ${what}`)
          assert.isTrue(Buffer.from(must(aead.open(nonce, expected, aad), what)).equals(Buffer.from(plaintext)))
        }
      }
    })

    it(`${label}: tampering, truncation and a wrong AAD are rejected on both routes`, () => {
      const rand = prng(thresholds.seal + thresholds.open)
      for (const size of sizesAround(thresholds)) {
        const plaintext = rand.bytes(size)
        const aad = size % 2 === 0 ? utf8("aad") : undefined
        const nonce = rand.bytes(24)
        const sealed = aead.seal(nonce, plaintext, aad)
        const what = `${size} B`
        if (size > 0) {
          assert.isUndefined(aead.open(nonce, flipBit(sealed, 0), aad), `first ciphertext bit, ${what}`)
          assert.isUndefined(aead.open(nonce, flipBit(sealed, 8 * (size - 1) + 7), aad), `last ciphertext bit, ${what}`)
        }
        assert.isUndefined(aead.open(nonce, flipBit(sealed, 8 * size + 5), aad), `tag bit, ${what}`)
        assert.isUndefined(aead.open(nonce, sealed.subarray(0, sealed.length - 1), aad), `truncated by 1, ${what}`)
        assert.isUndefined(aead.open(nonce, sealed.subarray(1), aad), `first byte cut, ${what}`)
        assert.isUndefined(aead.open(nonce, sealed, utf8("other")), `wrong AAD, ${what}`)
        assert.isUndefined(aead.open(flipBit(nonce, 100), sealed, aad), `wrong nonce, ${what}`)
        // still opens untouched
        assert.strictEqual(must(aead.open(nonce, sealed, aad), what).length, size)
      }
    })
  }
})
