import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Certificate from "../src/Certificate.ts"
import { tempDir } from "./helpers.ts"

describe("Certificate", () => {
  it.effect("makes a self-signed ECDSA P-256 certificate with the SANs asked for", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2030, 0, 1))
      const certificate = yield* Certificate.generate({
        dnsNames: ["localhost", "node.example"],
        ipAddresses: ["127.0.0.1", "::1", "fe80::1:2", "::ffff:10.0.0.1"],
        validity: "30 days"
      })
      const x509 = new Crypto.X509Certificate(certificate.certPem)
      assert.strictEqual(x509.subject, "CN=localhost")
      assert.strictEqual(x509.issuer, "CN=localhost")
      assert.strictEqual(
        x509.subjectAltName,
        "DNS:localhost, DNS:node.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, " +
          "IP Address:FE80:0:0:0:0:0:1:2, IP Address:0:0:0:0:0:FFFF:A00:1"
      )
      assert.isFalse(x509.ca)
      assert.isTrue(x509.verify(x509.publicKey))
      assert.isTrue(x509.checkHost("node.example") !== undefined)
      assert.isTrue(x509.checkIP("127.0.0.1") !== undefined)
      assert.deepStrictEqual(x509.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
      // validity from the Clock, starting an hour early
      assert.strictEqual(new Date(x509.validFrom).getTime(), Date.UTC(2029, 11, 31, 23))
      assert.strictEqual(new Date(x509.validTo).getTime(), Date.UTC(2030, 0, 31))
      // a PKCS#8 P-256 key matching the certificate
      assert.match(certificate.keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
      const key = Crypto.createPrivateKey(certificate.keyPem)
      assert.strictEqual(key.asymmetricKeyType, "ec")
      assert.strictEqual(key.asymmetricKeyDetails?.namedCurve, "prime256v1")
      assert.isTrue(x509.checkPrivateKey(key))
      assert.strictEqual(x509.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1")
      // the fingerprint is the SHA-256 of the DER
      assert.deepStrictEqual(new Uint8Array(x509.raw), certificate.der)
      assert.strictEqual(certificate.fingerprintSha256, Crypto.createHash("sha256").update(x509.raw).digest("hex"))
      assert.strictEqual(Certificate.fingerprintSha256(certificate.certPem), certificate.fingerprintSha256)
      assert.strictEqual(Certificate.fingerprintSha256(certificate.der), certificate.fingerprintSha256)
    }))

  it.effect("issues certificates from a CA", () =>
    Effect.gen(function*() {
      const ca = yield* Certificate.generate({ commonName: "Test CA", organization: "np", isCa: true })
      const caX509 = new Crypto.X509Certificate(ca.certPem)
      assert.isTrue(caX509.ca)
      assert.strictEqual(caX509.subject, "O=np\nCN=Test CA")
      assert.isUndefined(caX509.subjectAltName)
      const leaf = yield* Certificate.generate({ commonName: "leaf", dnsNames: ["leaf.example"], issuer: ca })
      const leafX509 = new Crypto.X509Certificate(leaf.certPem)
      assert.strictEqual(leafX509.issuer, "O=np\nCN=Test CA")
      assert.isTrue(leafX509.checkIssued(caX509))
      assert.isTrue(leafX509.verify(caX509.publicKey))
      assert.isFalse(leafX509.verify(leafX509.publicKey))
      // each certificate has its own key and serial
      assert.notStrictEqual(leaf.keyPem, ca.keyPem)
      assert.notStrictEqual(leafX509.serialNumber, caX509.serialNumber)
    }))

  it.effect("refuses bad input with a TlsError", () =>
    Effect.gen(function*() {
      const badIp = yield* Effect.flip(Certificate.generate({ ipAddresses: ["300.1.1.1"] }))
      assert.strictEqual(badIp.reason._tag, "TlsError")
      assert.include(badIp.message, "300.1.1.1")
      const leaf = yield* Certificate.generate()
      const notCa = yield* Effect.flip(Certificate.generate({ issuer: leaf }))
      assert.include(notCa.message, "not a CA")
      const ca = yield* Certificate.generate({ isCa: true })
      const wrongKey = yield* Effect.flip(
        Certificate.generate({ issuer: { certPem: ca.certPem, keyPem: leaf.keyPem } })
      )
      assert.include(wrongKey.message, "does not match")
      const zero = yield* Effect.flip(Certificate.generate({ validity: 0 }))
      assert.include(zero.message, "validity")
    }))

  it.effect("writes PEM files, the key private, and never overwrites unasked", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const certPath = Path.join(dir, "cert.pem")
      const keyPath = Path.join(dir, "key.pem")
      const first = yield* Certificate.generate()
      yield* Certificate.writeFiles(first, { certPath, keyPath })
      assert.strictEqual(Fs.readFileSync(certPath, "utf8"), first.certPem)
      assert.strictEqual(Fs.statSync(keyPath).mode & 0o777, 0o600)
      const second = yield* Certificate.generate()
      const refused = yield* Effect.flip(Certificate.writeFiles(second, { certPath, keyPath }))
      assert.strictEqual(refused.reason._tag, "Io")
      assert.strictEqual(Fs.readFileSync(certPath, "utf8"), first.certPem)
      yield* Certificate.writeFiles(second, { certPath, keyPath, overwrite: true })
      assert.strictEqual(Fs.readFileSync(keyPath, "utf8"), second.keyPem)
    }))
})
