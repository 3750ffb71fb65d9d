import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Client from "../src/Client.ts"
import * as Daemon from "../src/Daemon.ts"

describe("smoke", () => {
  it.live("daemon and client exchange Ping/Echo over TCP", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: { tcp: { host: "127.0.0.1", port: 0 } } })
      const client = yield* Client.make({ connect: { tcp: { host: "127.0.0.1", port: daemon.port ?? 0 } } })
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      assert.deepStrictEqual(yield* client.request(Message.Echo({ text: "hi" })), Message.Echo({ text: "hi" }))
      const many = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
        client.request(Message.Echo({ text: String(i) })), { concurrency: "unbounded" })
      assert.deepStrictEqual(many, Array.from({ length: 100 }, (_, i) => Message.Echo({ text: String(i) })))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
