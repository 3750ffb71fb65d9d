/**
 * The library contenders' requests: a request of `size` bytes is a real
 * protocol message whose whole secure frame (header, nonce, bincode, tag) is
 * exactly `size` bytes, like the baselines' frames; and the driver talks to
 * the daemon over loopback (one real connection, a few requests).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Crypto from "@network-protocol/core/Crypto"
import * as CryptoNoble from "@network-protocol/core/CryptoNoble"
import * as Packet from "@network-protocol/core/Packet"
import * as SecureChannel from "@network-protocol/core/SecureChannel"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Driver from "../src/secure/driver.ts"
import * as Requests from "../src/secure/Requests.ts"

const key = new Uint8Array(32).fill(7)

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
})
