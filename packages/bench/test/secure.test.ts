/**
 * The library contenders' requests: a request of `size` bytes is a real
 * protocol message whose whole frame (secure: header, nonce, bincode, tag;
 * plain: header, bincode) is exactly `size` bytes, like the baselines'
 * frames; and the drivers talk to real servers over loopback (one real
 * connection, a few requests): the daemon over TCP, over TLS and with the
 * extended profile, and the multiplexed servers.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Crypto from "@network-protocol/core/Crypto"
import * as CryptoNoble from "@network-protocol/core/CryptoNoble"
import * as Identity from "@network-protocol/core/Identity"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as SecureChannel from "@network-protocol/core/SecureChannel"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Multiplexer from "@network-protocol/service/Multiplexer"
import * as Session from "@network-protocol/service/Session"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Data from "../src/harness/Data.ts"
import type * as HarnessDriver from "../src/harness/Driver.ts"
import * as MuxDriver from "../src/mux/driver.ts"
import * as Driver from "../src/secure/driver.ts"
import * as Requests from "../src/secure/Requests.ts"
import * as SelfSigned from "../src/harness/SelfSigned.ts"

const key = new Uint8Array(32).fill(7)

/** Sends `batches` of requests on one connection and waits for as many replies. */
const exchange = (
  driver: HarnessDriver.ClientDriver,
  port: number,
  options: HarnessDriver.ConnectionOptions,
  batches: ReadonlyArray<number>
) =>
  Effect.promise(async () => {
    const total = batches.reduce((a, b) => a + b, 0)
    let count = 0
    let done: () => void = () => {}
    let failed: (error: Error) => void = () => {}
    const all = new Promise<void>((resolve, reject) => {
      done = resolve
      failed = reject
    })
    const connection = await driver.connect({ kind: "tcp", host: "127.0.0.1", port }, options, {
      onReplies: (n) => {
        count += n
        if (count >= total) done()
      },
      onError: failed
    })
    for (const batch of batches) connection.send(batch)
    await all
    await connection.close()
    return { count, info: connection.info }
  })

describe("secure contender requests", () => {
  it("make secure frames of exactly the stated size", () => {
    const channel = SecureChannel.makeUnsafe(CryptoNoble.make, key)
    for (const size of [61, 64, 1024, 65_536]) {
      const frame = Packet.encode(Result.getOrThrow(channel.seal(Requests.request("echo", size))))
      assert.strictEqual(frame.length, size, `echo ${size}`)
    }
    for (const size of [73, 1024, 65_536]) {
      const frame = Packet.encode(Result.getOrThrow(channel.seal(Requests.request("custom", size))))
      assert.strictEqual(frame.length, size, `custom ${size}`)
    }
    assert.throws(() => Requests.request("echo", 60), RangeError)
    assert.throws(() => Requests.request("custom", 64), RangeError)
  })

  it("make plain (TLS profile) frames of exactly the stated size, and payload requests carry the payload", () => {
    for (const size of [21, 64, 1024, 65_536]) {
      const frame = Packet.encode(Packet.make(Result.getOrThrow(MessageCodec.encode(Requests.request("echo", size, "plain")))))
      assert.strictEqual(frame.length, size, `plain echo ${size}`)
    }
    assert.throws(() => Requests.request("echo", 20, "plain"), RangeError)
    assert.throws(() => Requests.request("custom", 1024, "plain"), RangeError)
    const payload = Data.jsonLike(300)
    const message = Requests.payloadRequest(payload)
    assert.strictEqual(message._tag, "Custom")
    if (message._tag === "Custom") {
      assert.strictEqual(message.command, "ECHO")
      assert.deepStrictEqual(message.payload, payload)
    }
  })

  it.live("the driver sends requests to the daemon and counts their replies", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: { tcp: { host: "127.0.0.1", port: 0 } } }).pipe(
        Effect.provideService(Crypto.Crypto, CryptoNoble.make)
      )
      const driver = yield* Effect.promise(() => Driver.make({ crypto: "noble", message: "custom" }))
      const replies = yield* Effect.promise(async () => {
        let count = 0
        let done: () => void = () => {}
        let failed: (error: Error) => void = () => {}
        const all = new Promise<void>((resolve, reject) => {
          done = resolve
          failed = reject
        })
        const connection = await driver.connect({ kind: "tcp", host: "127.0.0.1", port: daemon.port ?? 0 }, {
          size: 1024
        }, {
          onReplies: (n) => {
            count += n
            if (count >= 10) done()
          },
          onError: failed
        })
        connection.send(4)
        connection.send(6)
        await all
        await connection.close()
        return count
      })
      assert.strictEqual(replies, 10)
    }).pipe(Effect.scoped))

  it.live("the driver runs the crate's TLS profile against the daemon over TLS", () =>
    Effect.gen(function*() {
      const material = SelfSigned.make()
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-bench-test-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const ca = Path.join(dir, "cert.pem")
      Fs.writeFileSync(ca, material.certPem)
      const daemon = yield* Daemon.make({
        listen: {
          tls: { host: "127.0.0.1", port: 0, tls: { cert: Tls.pem(material.certPem), key: Tls.pem(material.keyPem) } }
        }
      }).pipe(Effect.provideService(Crypto.Crypto, CryptoNoble.make))
      const driver = yield* Effect.promise(() => Driver.make({ crypto: "noble", profile: "plain", ca }))
      const { count, info } = yield* exchange(driver, daemon.port ?? 0, { size: 64 }, [3, 5])
      assert.strictEqual(count, 8)
      assert.strictEqual(info?.["protocol"], "TLSv1.3")
      assert.strictEqual(info?.["profile"], "plain (crate TLS profile)")
    }).pipe(Effect.scoped))

  it.live("the driver negotiates the extended profile with the offered compression", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({
        listen: { tcp: { host: "127.0.0.1", port: 0 } },
        security: { identity: Identity.generate(), compression: ["zstd", "lz4"] }
      }).pipe(Effect.provideService(Crypto.Crypto, CryptoNoble.make))
      for (const compression of ["none", "lz4", "zstd"] as const) {
        const driver = yield* Effect.promise(() => Driver.make({ crypto: "noble", profile: "extended", compression }))
        const { count, info } = yield* exchange(driver, daemon.port ?? 0, { size: 16_384, payload: "json" }, [4])
        assert.strictEqual(count, 4)
        assert.strictEqual(info?.["profile"], "extended")
        assert.isTrue((info?.["compression"] ?? "").startsWith(compression), `${compression}: ${info?.["compression"]}`)
      }
    }).pipe(Effect.scoped))

  it.live("the multiplexed driver gets every reply, raw and in the secure session", () =>
    Effect.gen(function*() {
      const echo = (payload: Uint8Array) => Effect.succeed(payload)
      const raw = yield* Multiplexer.listen({ tcp: { host: "127.0.0.1", port: 0 } }, echo)
      const cache = yield* ReplayCache.make()
      const secure = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
      yield* Effect.forkScoped(secure.run((connection) =>
        Effect.scoped(Effect.flatMap(Session.secureServer(connection), (session) =>
          Multiplexer.serveSession(session, echo))).pipe(
            Effect.provideService(ReplayCache.ReplayCache, cache),
            Effect.provideService(Crypto.Crypto, CryptoNoble.make),
            Effect.ignore
          )
      ))
      for (const [frame, port] of [["raw", raw.port ?? 0], ["secure", secure.port]] as const) {
        const driver = yield* Effect.promise(() => MuxDriver.make({ frame, crypto: "noble" }))
        const { count } = yield* exchange(driver, port, { size: 64, payload: "filler" }, [10, 54])
        assert.strictEqual(count, 64, frame)
      }
    }).pipe(Effect.scoped))
})
