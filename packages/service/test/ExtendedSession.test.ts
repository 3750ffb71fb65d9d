/**
 * The extended profile over real loopback sockets: men in the middle,
 * replayed / reordered / dropped / reflected frames, compression on the wire,
 * and interoperation with the compatible profile in both directions.
 */
import { assert, describe, it } from "@effect/vitest"
import { x25519 } from "@noble/curves/ed25519.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import type * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Crypto from "@network-protocol/core/Crypto"
import * as ExtendedHandshake from "@network-protocol/core/ExtendedHandshake"
import * as Identity from "@network-protocol/core/Identity"
import * as Message from "@network-protocol/core/Message"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Client from "../src/Client.ts"
import * as Daemon from "../src/Daemon.ts"
import * as ExtendedSession from "../src/ExtendedSession.ts"
import * as Session from "../src/Session.ts"
import { echoServer, errorOf, forward, handshakeDetail, packetRelay, type Rewrite, text } from "./loopback.ts"

const host = "127.0.0.1"
const serverId = Identity.generate()
const clientId = Identity.generate()
const attackerId = Identity.generate()

const noReconnect = new NetworkConfig.ClientConfig({ ...NetworkConfig.defaults.client, auto_reconnect: false })

// -----------------------------------------------------------------------------
// servers and relays
// -----------------------------------------------------------------------------

/**
 * An active man in the middle: it runs its own handshake with each side
 * (its own ephemeral keys), then passes messages along, reading them all and
 * rewriting the Echo replies.
 */
const mitmRelay = (
  target: number,
  toClient: (connection: Connection.Connection) => Effect.Effect<Session.Session, ProtocolError.ProtocolError, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope>,
  toServer: (connection: Connection.Connection) => Effect.Effect<Session.Session, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope>
) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<Array<string>>([])
    const relay = yield* Tcp.listen({ host, port: 0 })
    const cache = ReplayCache.makeUnsafe()
    yield* Effect.forkScoped(relay.run((clientConnection) =>
      Effect.gen(function*() {
        const victim = yield* toClient(clientConnection)
        const server = yield* toServer(yield* Tcp.connect({ host, port: target }))
        const up = Effect.forever(Effect.flatMap(victim.receive, (messages) =>
          Effect.andThen(Ref.update(seen, (all) => [...all, ...messages.map(text)]), server.send(messages))))
        const down = Effect.forever(Effect.flatMap(server.receive, (messages) =>
          victim.send(
            messages.map((m) =>
              m._tag === "Echo" ? Message.Echo({ text: m.text.replace("dawn", "noon") }) : m
            ) as unknown as Arr.NonEmptyReadonlyArray<Message.Message>
          )))
        yield* Effect.raceFirst(up, down).pipe(Effect.ignore)
      }).pipe(Effect.ignore, Effect.provideService(ReplayCache.ReplayCache, cache))
    ))
    return { port: relay.port, seen }
  })

const connectTo = (port: number) => Tcp.connect({ host, port })

const roundTrip = (session: Session.Session, message: Message.Message) =>
  Effect.andThen(session.send([message]), Effect.map(session.receive, (messages) => messages[0]))

// -----------------------------------------------------------------------------
// a man in the middle
// -----------------------------------------------------------------------------

describe("a man in the middle on loopback", () => {
  it.live("SUCCEEDS against the compatible profile: it reads and rewrites the traffic (the test is real)", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => Session.secureServer(c))
      const mitm = yield* mitmRelay(server.port, (c) => Session.secureServer(c), (c) => Session.secureClient(c))
      const session = yield* Session.secureClient(yield* connectTo(mitm.port))
      const reply = yield* roundTrip(session, Message.Echo({ text: "attack at dawn" }))
      assert.strictEqual(text(reply), "attack at noon") // rewritten, undetected
      assert.deepStrictEqual(yield* Ref.get(mitm.seen), ["attack at dawn"]) // read
      assert.deepStrictEqual(yield* Ref.get(server.received), ["attack at dawn"])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("succeeds against an unpinned extended client too (unauthenticated), but is REFUSED once the key is pinned", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId }))
      // The attacker answers the client with its own ephemeral key and its own identity.
      const mitm = yield* mitmRelay(
        server.port,
        (c) => ExtendedSession.server(c, { identity: attackerId }),
        (c) => ExtendedSession.client(c, {})
      )
      const unpinned = yield* ExtendedSession.client(yield* connectTo(mitm.port), {})
      assert.strictEqual(unpinned.security.peerFingerprint, attackerId.fingerprint)
      assert.strictEqual(text(yield* roundTrip(unpinned, Message.Echo({ text: "attack at dawn" }))), "attack at noon")

      const exit = yield* Effect.exit(ExtendedSession.client(yield* connectTo(mitm.port), { pin: serverId.fingerprint }))
      assert.strictEqual(handshakeDetail(exit), ExtendedHandshake.errors.serverIdentityMismatch)
      // and without presenting any identity
      const anonymous = yield* mitmRelay(server.port, (c) => ExtendedSession.server(c, {}), (c) => ExtendedSession.client(c))
      const exit2 = yield* Effect.exit(ExtendedSession.client(yield* connectTo(anonymous.port), { pin: serverId.publicKey }))
      assert.strictEqual(handshakeDetail(exit2), ExtendedHandshake.errors.serverIdentityMissing)
      // the pinned client talks to the real server directly
      const direct = yield* ExtendedSession.client(yield* connectTo(server.port), { pin: serverId.fingerprint })
      assert.strictEqual(text(yield* roundTrip(direct, Message.Echo({ text: "attack at dawn" }))), "attack at dawn")
      assert.strictEqual(direct.info.profile, "extended")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("is REFUSED when it substitutes its ephemeral keys and passes the real server's signed block along", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId }))
      // Its own ephemeral keys toward each side; the server's extension block is forwarded
      // with a Finished recomputed for the client's side (the attacker knows that secret).
      const toServerSecret = x25519.utils.randomSecretKey()
      const toClientSecret = x25519.utils.randomSecretKey()
      let clientInit: Uint8Array = new Uint8Array(0)
      const label = (s: string) => new TextEncoder().encode(s)
      const lp = (b: Uint8Array) => {
        const out = new Uint8Array(4 + b.length)
        new DataView(out.buffer).setUint32(0, b.length)
        out.set(b, 4)
        return out
      }
      const cat = (...parts: ReadonlyArray<Uint8Array>) => {
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
        parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
        return out
      }
      const port = yield* packetRelay(server.port, (direction, index, packet) => {
        if (index !== 0) return forward(direction, packet)
        // (a copy: a payload may be a Node Buffer, whose `slice` is a view)
        const payload = new Uint8Array(packet.payload)
        if (direction === "c2s") {
          clientInit = new Uint8Array(payload)
          payload.set(x25519.getPublicKey(toServerSecret), 4)
          return forward(direction, Packet.make(payload))
        }
        payload.set(x25519.getPublicKey(toClientSecret), 4)
        const shared = x25519.getSharedSecret(toClientSecret, clientInit.subarray(4, 36))
        const coreLength = 84 + 8 + 32
        const th2 = sha256(cat(label("NPX1 transcript"), lp(clientInit), lp(payload.subarray(0, coreLength))))
        const okm = hkdf(sha256, shared, th2, label("NPX1 keys"), 160)
        payload.set(hmac(sha256, okm.subarray(96, 128), th2), payload.length - 32)
        return forward(direction, Packet.make(payload))
      })
      const exit = yield* Effect.exit(ExtendedSession.client(yield* connectTo(port), { pin: serverId.fingerprint }))
      assert.strictEqual(handshakeDetail(exit), ExtendedHandshake.errors.serverSignature)
      // Without recomputing the Finished, the substitution is caught even earlier.
      const naive = yield* packetRelay(server.port, (direction, index, packet) => {
        if (index !== 0 || direction === "c2s") return forward(direction, packet)
        const payload = new Uint8Array(packet.payload)
        payload.set(x25519.getPublicKey(toClientSecret), 4)
        return forward(direction, Packet.make(payload))
      })
      const exit2 = yield* Effect.exit(ExtendedSession.client(yield* connectTo(naive), { pin: serverId.fingerprint }))
      assert.strictEqual(handshakeDetail(exit2), ExtendedHandshake.errors.serverFinished)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("is REFUSED when it downgrades a pinned (or requiring) client to the compatible profile", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId }))
      const mitm = yield* mitmRelay(server.port, (c) => Session.secureServer(c), (c) => Session.secureClient(c))
      for (const options of [{ pin: serverId.fingerprint }, { require: true }]) {
        const exit = yield* Effect.exit(ExtendedSession.client(yield* connectTo(mitm.port), options))
        assert.strictEqual(handshakeDetail(exit), ExtendedHandshake.errors.downgrade)
      }
      assert.deepStrictEqual(yield* Ref.get(mitm.seen), [])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})

// -----------------------------------------------------------------------------
// replayed, reordered, dropped and reflected frames
// -----------------------------------------------------------------------------

describe("in-session integrity on loopback", () => {
  /**
   * Client → relay → echo server. The relay rewrites the client's data frames
   * (c2s index 2, 3, … — after the Init and the Confirm); the server's session
   * must end with the expected violation, and the client must see the
   * connection close.
   */
  const attack = (rewrite: Rewrite, cipher: SecureEnvelope.Cipher) =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, { identity: serverId, ciphers: [cipher] }))
      const port = yield* packetRelay(server.port, rewrite)
      const session = yield* ExtendedSession.client(yield* connectTo(port), { ciphers: [cipher] })
      assert.strictEqual(session.security.cipher, cipher)
      yield* session.send([Message.Echo({ text: "a" }), Message.Echo({ text: "b" })])
      const replies: Array<string> = []
      const closed = yield* Effect.exit(Effect.forever(Effect.map(session.receive, (ms) => replies.push(...ms.map(text)))))
      const serverExit = yield* Queue.take(server.ended)
      return { closed, serverExit, replies, received: yield* Ref.get(server.received) }
    })

  const violation = (exit: Exit.Exit<never, ProtocolError.ProtocolError>) => {
    const found = SecureEnvelope.integrityViolation(errorOf(exit))
    if (found === undefined) return assert.fail(`expected an integrity violation, got ${errorOf(exit).message}`)
    return { kind: found.kind, expected: found.expected, received: found.received }
  }

  const closedReason = (exit: Exit.Exit<never, ProtocolError.ProtocolError>) => {
    const reason = errorOf(exit).reason._tag
    assert.isTrue(reason === "ConnectionClosed" || reason === "Io", reason)
  }

  /** The attacks below run under each data-frame cipher. */
  const ciphers: ReadonlyArray<SecureEnvelope.Cipher> = ["xchacha20-poly1305", "aes-256-gcm"]

  for (const cipher of ciphers) {
    it.live(`a replayed frame is refused: typed Replay, connection closed (${cipher})`, () =>
      Effect.gen(function*() {
        const result = yield* attack((direction, index, packet) =>
          direction === "c2s" && index === 2 ? [...forward(direction, packet), ...forward(direction, packet)] : forward(direction, packet)
        , cipher)
        assert.deepStrictEqual(violation(result.serverExit), { kind: "Replay", expected: 1, received: 0 })
        assert.strictEqual(errorOf(result.serverExit).reason._tag, "SecurityError")
        assert.deepStrictEqual(result.received, ["a"]) // the replay never reached the application
        closedReason(result.closed)
      }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
  }

  it.live("the same replay is accepted by the compatible profile (the crate's weakness, SPEC §15.1 #4)", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => Session.secureServer(c))
      const port = yield* packetRelay(server.port, (direction, index, packet) =>
        direction === "c2s" && index === 2 ? [...forward(direction, packet), ...forward(direction, packet)] : forward(direction, packet)
      )
      const session = yield* Session.secureClient(yield* connectTo(port))
      yield* session.send([Message.Echo({ text: "pay 100" })])
      const replies: Array<string> = []
      while (replies.length < 2) replies.push(...(yield* session.receive).map(text))
      assert.deepStrictEqual(replies, ["pay 100", "pay 100"])
      assert.deepStrictEqual(yield* Ref.get(server.received), ["pay 100", "pay 100"])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  for (const cipher of ciphers) {
    it.live(`reordered frames are refused: typed OutOfOrder, connection closed (${cipher})`, () =>
      Effect.gen(function*() {
        let held: Packet.Packet | undefined
        const result = yield* attack((direction, index, packet) => {
          if (direction !== "c2s" || index < 2) return forward(direction, packet)
          if (index === 2) {
            held = packet
            return []
          }
          return index === 3 && held !== undefined ? [...forward(direction, packet), ...forward(direction, held)] : forward(direction, packet)
        }, cipher)
        assert.deepStrictEqual(violation(result.serverExit), { kind: "OutOfOrder", expected: 0, received: 1 })
        assert.deepStrictEqual(result.received, [])
        closedReason(result.closed)
      }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
  }

  for (const cipher of ciphers) {
    it.live(`a dropped frame is detected at the next one: typed OutOfOrder (${cipher})`, () =>
      Effect.gen(function*() {
        const result = yield* attack((direction, index, packet) =>
          direction === "c2s" && index === 2 ? [] : forward(direction, packet)
        , cipher)
        assert.deepStrictEqual(violation(result.serverExit), { kind: "OutOfOrder", expected: 0, received: 1 })
        closedReason(result.closed)
      }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
  }

  for (const cipher of ciphers) {
    it.live(`a reflected frame (the server's own, sent back to it) is refused: typed Reflection (${cipher})`, () =>
      Effect.gen(function*() {
        const result = yield* attack((direction, index, packet) =>
          direction === "s2c" && index === 1
            ? [...forward(direction, packet), { to: "server", packet }]
            : forward(direction, packet)
        , cipher)
        assert.deepStrictEqual(violation(result.serverExit), { kind: "Reflection", expected: 2, received: 0 })
        assert.deepStrictEqual(result.received, ["a", "b"])
        closedReason(result.closed)
      }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
  }

  it.live("a frame the client reflects back to itself is refused by the client (typed Reflection)", () =>
    Effect.gen(function*() {
      const server = yield* echoServer((c) => ExtendedSession.server(c, {}))
      const port = yield* packetRelay(server.port, (direction, index, packet) =>
        direction === "c2s" && index === 2 ? [{ to: "client", packet }] : forward(direction, packet)
      )
      const session = yield* ExtendedSession.client(yield* connectTo(port), {})
      yield* session.send([Message.Echo({ text: "a" })])
      const exit = yield* Effect.exit(session.receive)
      assert.deepStrictEqual(violation(exit as Exit.Exit<never, ProtocolError.ProtocolError>), {
        kind: "Reflection",
        expected: 0,
        received: 0
      })
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  for (const cipher of ciphers) {
    it.live(`a tampered frame is a DecryptionFailure, connection closed (${cipher})`, () =>
      Effect.gen(function*() {
        const result = yield* attack((direction, index, packet) => {
          if (direction !== "c2s" || index !== 2) return forward(direction, packet)
          const payload = new Uint8Array(packet.payload)
          payload[payload.length - 20] ^= 1
          return forward(direction, Packet.make(payload))
        }, cipher)
        assert.strictEqual(errorOf(result.serverExit).reason._tag, "DecryptionFailure")
        assert.deepStrictEqual(result.received, [])
        closedReason(result.closed)
      }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
  }
})

// -----------------------------------------------------------------------------
// Daemon and Client: interoperation and compression
// -----------------------------------------------------------------------------

const tcp = { tcp: { host, port: 0 } } as const
const clientOf = (daemon: Daemon.Daemon, security?: Client.Security) =>
  Client.make({
    connect: { tcp: { host, port: daemon.port ?? 0 } },
    config: noReconnect,
    ...(security === undefined ? {} : { security })
  })

describe("Daemon and Client with the extended profile", () => {
  it.live("pinned client ↔ extended daemon: extended profile, concurrent requests, large messages", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, security: { identity: serverId } })
      const client = yield* clientOf(daemon, { pin: serverId.fingerprint })
      assert.strictEqual((yield* client.info)?.profile, "extended")
      const many = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => client.request(Message.Echo({ text: String(i) })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(many.map(text), Array.from({ length: 200 }, (_, i) => String(i)))
      const big = Message.Custom({ command: "ECHO", payload: new Uint8Array(1 << 20).fill(7) })
      assert.deepStrictEqual(yield* client.request(big), big)
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("extended client ↔ compatible-only daemon (extensions off): falls back to the crate's profile", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp })
      const client = yield* clientOf(daemon, { compression: ["lz4"], identity: clientId })
      assert.strictEqual((yield* client.info)?.profile, "secure")
      assert.strictEqual(text(yield* client.request(Message.Echo({ text: "fallback" }))), "fallback")
      // ... unless it requires the extension
      for (const security of [{ pin: serverId.fingerprint }, { require: true }]) {
        const exit = yield* Effect.exit(clientOf(daemon, security))
        assert.strictEqual(handshakeDetail(exit), ExtendedHandshake.errors.downgrade)
      }
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("compatible-only client ↔ extended daemon: served with the crate's profile (unless required)", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, security: { identity: serverId, compression: ["lz4"] } })
      const client = yield* clientOf(daemon)
      assert.strictEqual((yield* client.info)?.profile, "secure")
      assert.strictEqual(text(yield* client.request(Message.Echo({ text: "crate" }))), "crate")
      const raw = yield* Session.secureClient(yield* Tcp.connect({ host, port: daemon.port ?? 0 }))
      assert.deepStrictEqual(yield* roundTrip(raw, Message.Ping()), Message.Pong())

      const strict = yield* Daemon.make({ listen: tcp, security: { identity: serverId, require: true } })
      const refused = yield* Effect.exit(
        Effect.flatMap(Tcp.connect({ host, port: strict.port ?? 0 }), (c) =>
          Effect.flatMap(Session.secureClient(c), (s) => roundTrip(s, Message.Ping())))
      )
      assert.isTrue(Exit.isFailure(refused))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("compressed and uncompressed peers interoperate; compression is negotiated and used on the wire", () =>
    Effect.gen(function*() {
      const payload = "the quick brown fox jumps over the lazy dog. ".repeat(400)
      for (
        const [serverCompression, clientCompression, expected] of [
          [["lz4", "zstd"], [], undefined],
          [[], ["zstd"], undefined],
          [["zstd", "lz4"], ["lz4", "zstd"], "zstd"],
          [["lz4"], ["zstd", "lz4"], "lz4"]
        ] as const
      ) {
        const server = yield* echoServer((c) => ExtendedSession.server(c, { compression: serverCompression }))
        const sizes: Array<number> = []
        const port = yield* packetRelay(server.port, (direction, index, packet) => {
          if (direction === "c2s" && index >= 2) sizes.push(packet.payload.length)
          return forward(direction, packet)
        })
        const session = yield* ExtendedSession.client(yield* connectTo(port), { compression: clientCompression })
        assert.strictEqual(session.security.compression, expected)
        assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: payload }))), payload)
        assert.strictEqual(text(yield* roundTrip(session, Message.Echo({ text: "tiny" }))), "tiny")
        if (expected === undefined) assert.strictEqual(sizes[0], SecureEnvelope.OVERHEAD + 12 + payload.length)
        else assert.isBelow(sizes[0], payload.length / 10)
      }
      // the Daemon and the Client, one compressing, the other not
      const daemon = yield* Daemon.make({ listen: tcp, security: { compression: ["lz4"] } })
      const plain = yield* clientOf(daemon, {})
      const compressed = yield* clientOf(daemon, { compression: ["lz4"] })
      for (const client of [plain, compressed]) {
        assert.strictEqual((yield* client.info)?.profile, "extended")
        assert.strictEqual(text(yield* client.request(Message.Echo({ text: payload }))), payload)
      }
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("client authentication: trusted identity accepted, missing or untrusted refused", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({
        listen: tcp,
        security: { identity: serverId, trustedClients: [clientId.fingerprint] }
      })
      const trusted = yield* clientOf(daemon, { pin: serverId.fingerprint, identity: clientId })
      assert.strictEqual(text(yield* trusted.request(Message.Echo({ text: "me" }))), "me")

      const missing = yield* Effect.exit(clientOf(daemon, { pin: serverId.fingerprint }))
      assert.strictEqual(handshakeDetail(missing), ExtendedHandshake.errors.clientAuthUnavailable)

      // The server refuses silently (like the crate); the client sees the connection close.
      const untrusted = yield* Effect.exit(
        Effect.flatMap(clientOf(daemon, { pin: serverId.fingerprint, identity: attackerId }), (client) =>
          client.request(Message.Ping()))
      )
      assert.isTrue(Exit.isFailure(untrusted))
      // a compatible client cannot even get in
      const crate = yield* Effect.exit(Effect.flatMap(clientOf(daemon), (client) => client.request(Message.Ping())))
      assert.isTrue(Exit.isFailure(crate))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("the extended server reports the client's identity and the compression it agreed on", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen({ host, port: 0 })
      const security = yield* Deferred.make<ExtendedSession.Security>()
      yield* Effect.forkScoped(server.run((connection) =>
        ExtendedSession.server(connection, { identity: serverId, requestClientAuth: true, compression: ["zstd"] }).pipe(
          Effect.flatMap((session) => Deferred.succeed(security, session.security)),
          Effect.provideService(ReplayCache.ReplayCache, ReplayCache.makeUnsafe()),
          Effect.ignore
        )
      ))
      const session = yield* ExtendedSession.client(yield* connectTo(server.port), {
        pin: serverId.publicKey,
        identity: clientId,
        compression: ["zstd"]
      })
      const seen = yield* Deferred.await(security)
      assert.deepStrictEqual(seen, {
        profile: "extended",
        cipher: "xchacha20-poly1305",
        compression: "zstd",
        peerIdentity: clientId.publicKey,
        peerFingerprint: clientId.fingerprint
      })
      assert.strictEqual(session.security.peerFingerprint, serverId.fingerprint)
      assert.isTrue(Result.isSuccess(Identity.pinFingerprint(session.security.peerFingerprint ?? "")))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
