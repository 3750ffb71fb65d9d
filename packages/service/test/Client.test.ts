/**
 * The client against a server driven by hand over a real socket, to control
 * exactly what arrives and when.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Client from "../src/Client.ts"
import * as Session from "../src/Session.ts"

describe("Client", () => {
  it.effect("a keepalive takes only a Pong: a server message arriving first is delivered, not swallowed", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
      const session = yield* Deferred.make<Session.Session>()
      yield* Effect.forkScoped(server.run((connection) =>
        Effect.gen(function*() {
          yield* Deferred.succeed(session, yield* Session.secureServer(connection))
          yield* Effect.never
        }).pipe(Effect.provide(ReplayCache.layer()))
      ))
      const client = yield* Client.make({
        connect: { tcp: { host: "127.0.0.1", port: server.port } },
        config: new NetworkConfig.ClientConfig({ ...NetworkConfig.defaults.client, heartbeat_interval: Duration.seconds(1) })
      })
      const peer = yield* Deferred.await(session)
      // idle for the heartbeat interval: the client sends its keepalive Ping
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* peer.receive, [Message.Ping()])
      // the server says something of its own before answering the keepalive
      const news = Message.Custom({ command: "NEWS", payload: new TextEncoder().encode("hello") })
      yield* peer.send([news, Message.Pong()])
      assert.deepStrictEqual(yield* client.receive, news)
      // requests are still paired with their own replies
      const request = yield* Effect.forkChild(client.request(Message.Echo({ text: "x" })))
      assert.deepStrictEqual(yield* peer.receive, [Message.Echo({ text: "x" })])
      yield* peer.send([Message.Echo({ text: "x" })])
      assert.deepStrictEqual(yield* Fiber.join(request), Message.Echo({ text: "x" }))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
