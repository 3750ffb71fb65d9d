import { assert, describe, it } from "@effect/vitest"
import { ed25519 } from "@noble/curves/ed25519.js"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as NodeCrypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Identity from "../src/Identity.ts"
import { hex, toHex } from "./vectors.ts"

const ok = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${String(result.failure)}`)
  return result.success
}

describe("Identity", () => {
  it("derives the RFC 8032 public key from a seed and signs like Ed25519 (noble cross-check)", () => {
    // RFC 8032 §7.1 TEST 1
    const id = ok(Identity.fromSeed(hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")))
    assert.strictEqual(toHex(id.publicKey), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    const message = new TextEncoder().encode("transcript")
    const signature = id.sign(message)
    assert.strictEqual(signature.length, Identity.SIGNATURE_SIZE)
    assert.isTrue(ed25519.verify(signature, message, id.publicKey))
    // libsodium (when loaded) and OpenSSL give the same deterministic signature
    assert.deepStrictEqual(signature, new Uint8Array(NodeCrypto.sign(null, message, id.privateKey)))
    assert.isTrue(Identity.verify(id.publicKey, message, signature))
    assert.isFalse(Identity.verify(id.publicKey, new TextEncoder().encode("other"), signature))
    assert.isFalse(Identity.verify(id.publicKey.subarray(1), message, signature))
    assert.isFalse(Identity.verify(new Uint8Array(32), message, signature))
    assert.strictEqual(
      id.fingerprint,
      `sha256:${NodeCrypto.createHash("sha256").update(id.publicKey).digest("hex")}`
    )
    assert.match(String(id), /^Identity\(sha256:[0-9a-f]{64}\)$/)
    assert.notInclude(JSON.stringify(id), "PRIVATE")
  })

  it("round-trips PEM (PKCS#8 / SPKI, the OpenSSL formats)", () => {
    const id = Identity.generate()
    const pem = Identity.toPem(id)
    assert.match(pem.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/)
    assert.match(pem.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/)
    assert.deepStrictEqual(ok(Identity.fromPem(pem.privateKeyPem)).publicKey, id.publicKey)
    assert.deepStrictEqual(ok(Identity.publicKeyFromPem(pem.publicKeyPem)), id.publicKey)
    assert.deepStrictEqual(ok(Identity.publicKeyFromPem(pem.privateKeyPem)), id.publicKey)
    const ec = NodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
    const ecPem = String(ec.privateKey.export({ format: "pem", type: "pkcs8" }))
    assert.isTrue(Result.isFailure(Identity.fromPem(ecPem)))
    assert.isTrue(Result.isFailure(Identity.fromPem("not a key")))
    assert.isTrue(Result.isFailure(Identity.publicKeyFromPem("not a key")))
    assert.isTrue(Result.isFailure(Identity.fromSeed(new Uint8Array(31))))
  })

  it("parses pins; refuses malformed ones with a ConfigError", () => {
    const id = Identity.generate()
    const fingerprint = Identity.fingerprintOf(id.publicKey)
    for (
      const pin of [
        id.publicKey,
        id.fingerprint,
        id.fingerprint.toUpperCase(),
        id.fingerprint.slice(7),
        `ed25519:${toHex(id.publicKey)}`,
        `  ${id.fingerprint}\n`
      ]
    ) {
      assert.deepStrictEqual(ok(Identity.pinFingerprint(pin)), fingerprint)
    }
    for (const pin of ["", "sha256:", "sha256:zz", `ed25519:${toHex(id.publicKey).slice(2)}`, new Uint8Array(31)]) {
      const result = Identity.pinFingerprint(pin)
      assert.isTrue(Result.isFailure(result) && result.failure.reason._tag === "ConfigError", String(pin))
    }
    assert.isTrue(Identity.matchesAny(id.publicKey, ok(Identity.pinFingerprints([Identity.generate().fingerprint, id.fingerprint]))))
    assert.isFalse(Identity.matchesAny(id.publicKey, ok(Identity.pinFingerprints(Identity.generate().publicKey))))
    assert.deepStrictEqual(ok(Identity.pinFingerprints(undefined)), [])
  })

  it.effect("saves (0600 private key, no overwrite by default) and loads files", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "np-identity-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const keyPath = path.join(dir, "identity.key")
      const publicKeyPath = path.join(dir, "identity.pub")
      const id = Identity.generate()
      yield* Identity.save(id, { keyPath, publicKeyPath })
      assert.strictEqual(fs.statSync(keyPath).mode & 0o777, 0o600)
      assert.deepStrictEqual((yield* Identity.load(keyPath)).publicKey, id.publicKey)
      assert.deepStrictEqual(yield* Identity.loadPublicKey(publicKeyPath), id.publicKey)
      const again = yield* Effect.exit(Identity.save(Identity.generate(), { keyPath, publicKeyPath }))
      assert.isTrue(Exit.isFailure(again))
      assert.deepStrictEqual((yield* Identity.load(keyPath)).publicKey, id.publicKey)
      const other = Identity.generate()
      yield* Identity.save(other, { keyPath, publicKeyPath, overwrite: true })
      assert.deepStrictEqual((yield* Identity.load(keyPath)).publicKey, other.publicKey)
      const missing = yield* Effect.exit(Identity.load(path.join(dir, "missing.key")))
      assert.isTrue(Exit.isFailure(missing))
      const wrong = yield* Effect.exit(Identity.load(publicKeyPath))
      assert.isTrue(Exit.isFailure(wrong))
    }).pipe(Effect.scoped))
})
