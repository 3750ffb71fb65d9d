import { assert, describe, it } from "@effect/vitest"
import * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Certificate from "../src/Certificate.ts"
import type * as Connection from "../src/Connection.ts"
import * as SessionCache from "../src/SessionCache.ts"
import * as Tls from "../src/Tls.ts"
import {
  assertBytes,
  assertPortFree,
  echo,
  failureReason,
  noLeaks,
  payload,
  receiveN,
  tempDir
} from "./helpers.ts"

/**
 * Certificates for a test: a CA with a server and a client certificate, a
 * second CA, self-signed servers. Dated by the real clock: OpenSSL checks
 * validity against the wall clock, not the TestClock.
 */
const makePki = TestClock.withLive(Effect.gen(function*() {
  const ca = yield* Certificate.generate({ commonName: "test CA", isCa: true })
  const server = yield* Certificate.generate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], issuer: ca })
  const client = yield* Certificate.generate({ commonName: "client", dnsNames: [], issuer: ca })
  const otherCa = yield* Certificate.generate({ commonName: "other CA", isCa: true })
  const otherClient = yield* Certificate.generate({ commonName: "intruder", dnsNames: [], issuer: otherCa })
  const selfSigned = yield* Certificate.generate({ dnsNames: ["localhost"] })
  const otherSelfSigned = yield* Certificate.generate({ dnsNames: ["localhost"] })
  return { ca, server, client, otherCa, otherClient, selfSigned, otherSelfSigned }
}))

const identity = (certificate: Certificate.Certificate) => ({
  cert: Tls.pem(certificate.certPem),
  key: Tls.pem(Redacted.make(certificate.keyPem))
})

/** A TLS echo server; the handler also reports each connection's info. */
const serve = (options: Omit<Tls.ListenOptions, "port">) =>
  Effect.gen(function*() {
    const infos = yield* Ref.make<ReadonlyArray<Connection.Info>>([])
    const server = yield* Tls.listen({ port: 0, ...options })
    yield* Effect.forkScoped(server.run((connection) =>
      Effect.andThen(Ref.update(infos, (all) => [...all, connection.info]), echo(connection))
    ))
    return { server, infos }
  })

/** Connects, sends one packet and waits for the echo: the full path, including a late TLS 1.3 rejection. */
const roundTrip = (port: number, tls: Tls.ClientConfig | Tls.ClientContext) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Tls.connect({ host: "127.0.0.1", port, tls })
    yield* client.send([Packet.make(payload(32))])
    const [echoed] = yield* receiveN(client, 1)
    assertBytes(echoed.payload, payload(32))
    return client.info
  }))

describe("Tls", () => {
  it.effect("round trips packets of 0 B, 1 B, 64 KiB, 1 MiB and 16 MiB", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      const port = yield* noLeaks(Effect.gen(function*() {
        const { infos, server } = yield* serve({ tls: identity(pki.server) })
        assert.strictEqual(server.fingerprintSha256, pki.server.fingerprintSha256)
        const client = yield* Tls.connect({
          host: "127.0.0.1",
          port: server.port,
          tls: { ca: Tls.pem(pki.ca.certPem), serverName: "localhost" }
        })
        for (const size of [0, 1, 64 * 1024, 1024 * 1024, Packet.MAX_PAYLOAD_SIZE]) {
          const sent = payload(size, size & 0xff)
          yield* client.send([Packet.make(sent)])
          const [received] = yield* receiveN(client, 1)
          assertBytes(received.payload, sent, `${size} B`)
        }
        const info = client.info
        assert.strictEqual(info.transport, "tls")
        assert.strictEqual(info.tls?.protocol, "TLSv1.3")
        assert.isTrue(info.tls?.authorized)
        assert.isFalse(info.tls?.resumed)
        assert.strictEqual(info.tls?.serverName, "localhost")
        assert.strictEqual(info.tls?.peerCertificateSha256, pki.server.fingerprintSha256)
        // the crate's client offers no ALPN
        assert.isUndefined(info.tls?.alpnProtocol)
        const [serverSide] = yield* Ref.get(infos)
        assert.strictEqual(serverSide.transport, "tls")
        assert.isUndefined(serverSide.tls?.peerCertificateSha256)
        return server.port
      }))
      yield* assertPortFree(port)
    }))

  it.effect("mTLS: accepts a client certificate from the trusted CA", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { infos, server } = yield* serve({ tls: { ...identity(pki.server), clientCa: Tls.pem(pki.ca.certPem) } })
        const info = yield* roundTrip(server.port, {
          ca: Tls.pem(pki.ca.certPem),
          serverName: "localhost",
          ...identity(pki.client)
        })
        assert.isTrue(info.tls?.authorized)
        const [serverSide] = yield* Ref.get(infos)
        assert.isTrue(serverSide.tls?.authorized)
        assert.strictEqual(serverSide.tls?.peerCertificateSha256, pki.client.fingerprintSha256)
      }))
    }))

  for (const variant of ["no client certificate", "a certificate from another CA"] as const) {
    it.effect(`mTLS: refuses ${variant}`, () =>
      Effect.gen(function*() {
        const pki = yield* makePki
        yield* noLeaks(Effect.gen(function*() {
          const rejected = yield* Deferred.make<ProtocolError.ProtocolError>()
          const { infos, server } = yield* serve({
            tls: { ...identity(pki.server), clientCa: Tls.pem(pki.ca.certPem) },
            onHandshakeError: (error) => Deferred.doneUnsafe(rejected, Effect.succeed(error))
          })
          const exit = yield* Effect.exit(roundTrip(server.port, {
            ca: Tls.pem(pki.ca.certPem),
            serverName: "localhost",
            ...(variant === "no client certificate" ? {} : identity(pki.otherClient))
          }))
          // TLS 1.3: the client finished its handshake before the server looked
          // at its certificate; the server then closes without a word
          assert.isTrue(Exit.isFailure(exit))
          assert.include(["ConnectionClosed", "TlsError"], failureReason(exit)?._tag)
          const refusal = yield* Deferred.await(rejected)
          assert.strictEqual(refusal.reason._tag, "TlsError")
          assert.include(
            refusal.message,
            variant === "no client certificate" ? "none presented" : "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
          )
          // the handler never saw the connection
          assert.deepStrictEqual(yield* Ref.get(infos), [])
          assert.strictEqual(yield* server.connections, 0)
        }))
      }))
  }

  it.effect("optional mTLS: serves a client without a certificate, refuses one with a bad certificate", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const rejected = yield* Deferred.make<ProtocolError.ProtocolError>()
        const { infos, server } = yield* serve({
          tls: { ...identity(pki.server), clientCa: Tls.pem(pki.ca.certPem), requireClientCertificate: false },
          onHandshakeError: (error) => Deferred.doneUnsafe(rejected, Effect.succeed(error))
        })
        const ca = Tls.pem(pki.ca.certPem)
        yield* roundTrip(server.port, { ca, serverName: "localhost" })
        yield* roundTrip(server.port, { ca, serverName: "localhost", ...identity(pki.client) })
        const [anonymous, authenticated] = yield* Ref.get(infos)
        assert.isUndefined(anonymous.tls?.peerCertificateSha256)
        assert.isFalse(anonymous.tls?.authorized)
        assert.strictEqual(authenticated.tls?.peerCertificateSha256, pki.client.fingerprintSha256)
        assert.isTrue(authenticated.tls?.authorized)
        const intruder = yield* Effect.exit(
          roundTrip(server.port, { ca, serverName: "localhost", ...identity(pki.otherClient) })
        )
        assert.isTrue(Exit.isFailure(intruder))
        assert.include((yield* Deferred.await(rejected)).message, "client certificate rejected")
        assert.strictEqual((yield* Ref.get(infos)).length, 2)
      }))
    }))

  it.effect("pin-only: accepts the pinned self-signed server, refuses another", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { server } = yield* serve({ tls: identity(pki.selfSigned) })
        const { server: impostor } = yield* serve({ tls: identity(pki.otherSelfSigned) })
        const tls: Tls.ClientConfig = {
          verify: "pin-only",
          pins: [pki.selfSigned.fingerprintSha256],
          serverName: "localhost"
        }
        const info = yield* roundTrip(server.port, tls)
        // the chain was not verified: the pin stood in for it
        assert.isFalse(info.tls?.authorized)
        assert.strictEqual(info.tls?.peerCertificateSha256, pki.selfSigned.fingerprintSha256)
        const refused = yield* Effect.exit(roundTrip(impostor.port, tls))
        const reason = failureReason(refused)
        assert.strictEqual(reason?._tag, "TlsError")
        assert.include(reason?.message ?? "", "matches no pin")
        // pins given as bytes or colon-separated hex work alike
        const hexPairs = pki.selfSigned.fingerprintSha256.match(/../g) ?? []
        yield* roundTrip(server.port, { verify: "pin-only", pins: [hexPairs.join(":").toUpperCase()] })
        yield* roundTrip(server.port, { verify: "pin-only", pins: [Uint8Array.from(hexPairs, (h) => parseInt(h, 16))] })
      }))
    }))

  it.effect("full verification: a pin is an extra check; untrusted and misnamed servers are refused", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { server } = yield* serve({ tls: identity(pki.server) })
        const { server: selfSigned } = yield* serve({ tls: identity(pki.selfSigned) })
        const ca = Tls.pem(pki.ca.certPem)
        yield* roundTrip(server.port, { ca, serverName: "localhost", pins: [pki.server.fingerprintSha256] })
        const wrongPin = yield* Effect.exit(roundTrip(server.port, { ca, pins: [pki.selfSigned.fingerprintSha256] }))
        assert.strictEqual(failureReason(wrongPin)?._tag, "TlsError")
        // the pinned certificate does not make an untrusted chain acceptable
        const untrusted = yield* Effect.exit(
          roundTrip(selfSigned.port, { ca, serverName: "localhost", pins: [pki.selfSigned.fingerprintSha256] })
        )
        assert.strictEqual(failureReason(untrusted)?._tag, "TlsError")
        const misnamed = yield* Effect.exit(roundTrip(server.port, { ca, serverName: "example.org" }))
        assert.strictEqual(failureReason(misnamed)?._tag, "TlsError")
        // "none" accepts anything (testing only)
        const info = yield* roundTrip(selfSigned.port, { verify: "none" })
        assert.isFalse(info.tls?.authorized)
      }))
    }))

  it.effect("resumes a session on the second connection", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { infos, server } = yield* serve({ tls: identity(pki.server) })
        const sessionCache = yield* SessionCache.make({ maxEntries: 8 })
        const context = yield* Tls.makeClientContext({
          ca: Tls.pem(pki.ca.certPem),
          serverName: "localhost",
          pins: [pki.server.fingerprintSha256],
          sessionCache
        })
        const first = yield* roundTrip(server.port, context)
        assert.isFalse(first.tls?.resumed)
        const second = yield* roundTrip(server.port, context)
        assert.isTrue(second.tls?.resumed)
        // the pin still holds for a resumed session (which carries no certificate)
        assert.strictEqual(second.tls?.peerCertificateSha256, pki.server.fingerprintSha256)
        const serverSide = yield* Ref.get(infos)
        assert.deepStrictEqual(serverSide.map((info) => info.tls?.resumed), [false, true])
        const stats = yield* sessionCache.stats
        assert.strictEqual(stats.hits, 1)
        assert.strictEqual(stats.entries, 1)
        // a context without the cache does a full handshake
        const fresh = yield* roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem), serverName: "localhost" })
        assert.isFalse(fresh.tls?.resumed)
      }))
    }))

  it.effect("negotiates ALPN when the client offers it", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { infos, server } = yield* serve({ tls: identity(pki.server) })
        const info = yield* roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem), alpnProtocols: ["h2"] })
        assert.strictEqual(info.tls?.alpnProtocol, "h2")
        assert.strictEqual((yield* Ref.get(infos))[0].tls?.alpnProtocol, "h2")
      }))
    }))

  it.effect("honours cipher suite settings", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { server } = yield* serve({ tls: { ...identity(pki.server), ciphers: "TLS_CHACHA20_POLY1305_SHA256" } })
        const info = yield* roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem) })
        assert.strictEqual(info.tls?.cipher, "TLS_CHACHA20_POLY1305_SHA256")
        const refused = yield* Effect.exit(
          roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem), ciphers: "TLS_AES_128_GCM_SHA256" })
        )
        assert.strictEqual(failureReason(refused)?._tag, "TlsError")
      }))
    }))

  it.effect("refuses a TLS version outside the range", () =>
    Effect.gen(function*() {
      const pki = yield* makePki
      yield* noLeaks(Effect.gen(function*() {
        const { server } = yield* serve({ tls: { ...identity(pki.server), minVersion: "TLSv1.3" } })
        const exit = yield* Effect.exit(roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem), maxVersion: "TLSv1.2" }))
        assert.strictEqual(failureReason(exit)?._tag, "TlsError")
        const info = yield* roundTrip(server.port, { ca: Tls.pem(pki.ca.certPem), serverName: "localhost" })
        assert.strictEqual(info.tls?.protocol, "TLSv1.3")
      }))
    }))

  it.effect("a handshake that never completes times out (Timeout) and releases the socket", () =>
    noLeaks(Effect.gen(function*() {
      // a TCP server that accepts and never answers
      const silent = yield* Effect.acquireRelease(
        Effect.callback<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>((resume) => {
          const sockets = new Set<Net.Socket>()
          const server = Net.createServer((socket) => {
            sockets.add(socket)
            socket.once("close", () => sockets.delete(socket))
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
        }),
        ({ server, sockets }) =>
          Effect.callback<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resume(Effect.void))
          })
      )
      const port = (silent.server.address() as Net.AddressInfo).port
      const connecting = yield* Effect.forkChild(Effect.scoped(
        Tls.connect({ host: "127.0.0.1", port, tls: { verify: "none" }, connectTimeout: "5 seconds" })
      ))
      yield* TestClock.adjust("4999 millis")
      assert.isUndefined(connecting.pollUnsafe())
      yield* TestClock.adjust("1 milli")
      const exit = yield* Fiber.await(connecting)
      assert.strictEqual(failureReason(exit)?._tag, "Timeout")
    })))

  describe("configuration errors name the file and the problem", () => {
    /** The failure of loading a server configuration from these files. */
    const serverFailure = (cert: string, key: string, clientCa?: string) =>
      Effect.flip(Tls.makeServerContext({
        cert: Tls.file(cert),
        key: Tls.file(key),
        ...(clientCa === undefined ? {} : { clientCa: Tls.file(clientCa) })
      }))
    const kindOf = (error: unknown) => Tls.configError(error)?.kind
    const clientKind = (config: Tls.ClientConfig) => Effect.map(Effect.flip(Tls.makeClientContext(config)), kindOf)

    it.effect("missing, malformed, wrong kind, mismatched, unsupported and encrypted files", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const pki = yield* makePki
        const write = (name: string, text: string) => {
          const path = Path.join(dir, name)
          Fs.writeFileSync(path, text)
          return path
        }
        const certPath = write("cert.pem", pki.server.certPem)
        const keyPath = write("key.pem", pki.server.keyPem)

        const nowhere = Path.join(dir, "nope.pem")
        const missing = yield* serverFailure(nowhere, keyPath)
        assert.strictEqual(missing.reason._tag, "TlsError")
        assert.strictEqual(kindOf(missing), "FileNotFound")
        assert.strictEqual(Tls.configError(missing)?.source, nowhere)
        assert.include(missing.message, nowhere)

        const garbage = write("garbage.pem", "not a pem file at all")
        assert.strictEqual(kindOf(yield* serverFailure(garbage, keyPath)), "MalformedPem")
        const corrupt = write("corrupt.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        assert.strictEqual(kindOf(yield* serverFailure(corrupt, keyPath)), "MalformedPem")
        // a key where the certificate should be, and the reverse
        assert.strictEqual(kindOf(yield* serverFailure(keyPath, keyPath)), "NoCertificate")
        const wrongKind = yield* serverFailure(certPath, certPath)
        assert.strictEqual(kindOf(wrongKind), "NotAPrivateKey")
        assert.include(wrongKind.message, certPath)

        const otherKey = write("other-key.pem", pki.client.keyPem)
        const mismatch = yield* serverFailure(certPath, otherKey)
        assert.strictEqual(kindOf(mismatch), "KeyMismatch")
        assert.include(mismatch.message, otherKey)

        const x25519 = write(
          "x25519.pem",
          Crypto.generateKeyPairSync("x25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString()
        )
        assert.strictEqual(kindOf(yield* serverFailure(certPath, x25519)), "UnsupportedKeyType")

        const encrypted = write(
          "encrypted.pem",
          Crypto.createPrivateKey(pki.server.keyPem)
            .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" })
            .toString()
        )
        const locked = yield* serverFailure(certPath, encrypted)
        assert.strictEqual(kindOf(locked), "MalformedPem")
        assert.include(locked.message, "encrypted")

        const keyAsCa = write("key-as-ca.pem", pki.server.keyPem)
        assert.strictEqual(kindOf(yield* serverFailure(certPath, keyPath, keyAsCa)), "NoCertificate")
        // and the good files load
        const context = yield* Tls.makeServerContext({ cert: Tls.file(certPath), key: Tls.file(keyPath) })
        assert.strictEqual(context.fingerprintSha256, pki.server.fingerprintSha256)
        assert.notInclude(String(context.key), "PRIVATE KEY")
      }))

    it.effect("client options that cannot work", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* clientKind({ verify: "pin-only" }), "InvalidOption")
        assert.strictEqual(yield* clientKind({ pins: ["abcd"] }), "InvalidPin")
        assert.strictEqual(yield* clientKind({ pins: [new Uint8Array(31)] }), "InvalidPin")
        assert.strictEqual(yield* clientKind({ verify: "none", pins: ["00".repeat(32)] }), "InvalidOption")
        assert.strictEqual(yield* clientKind({ cert: Tls.pem("x") }), "InvalidOption")
        assert.strictEqual(yield* clientKind({ minVersion: "TLSv1.3", maxVersion: "TLSv1.2" }), "InvalidOption")
        assert.strictEqual(yield* clientKind({ ciphers: "NO-SUCH-CIPHER" }), "InvalidOption")
        assert.isUndefined(Tls.configError(new Error("unrelated")))
      }))
  })
})
