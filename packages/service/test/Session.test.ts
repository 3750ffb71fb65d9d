/**
 * `Session.secureClient` / `secureServer` over real loopback sockets: the
 * client's Confirm leaves with its first messages, or alone when it sends
 * nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as SealedSession from "../src/internal/sealedSession.ts"
import * as Session from "../src/Session.ts"

/** A server running the crate's handshake on each connection, handing the sessions out. */
const server = Effect.gen(function*() {
  const cache = yield* ReplayCache.make()
  const listener = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
  const sessions = yield* Deferred.make<{ readonly session: Session.Session; readonly pending: number }>()
  yield* Effect.forkScoped(listener.run((connection) =>
    Effect.gen(function*() {
      const session = yield* Session.secureServer(connection)
      const wire = SealedSession.wireOf(session)
      // what the server read after the Confirm, in the same read
      const pending = wire === undefined ? -1 : wire.pending.length
      yield* Deferred.succeed(sessions, { session, pending })
      return yield* Effect.never
    }).pipe(Effect.provideService(ReplayCache.ReplayCache, cache))
  ))
  return { port: listener.port, sessions }
})

describe("Session.secureClient", () => {
  it.live("the Confirm and the first message sent in the same tick arrive together", () =>
    Effect.gen(function*() {
      const { port, sessions } = yield* server
      const connection = yield* Tcp.connect({ host: "127.0.0.1", port })
      const client = yield* Session.secureClient(connection)
      yield* client.send([Message.Echo({ text: "first" })])
      const { pending } = yield* Deferred.await(sessions)
      assert.strictEqual(pending, 1)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("a client that sends nothing still completes the handshake, and then talks both ways", () =>
    Effect.gen(function*() {
      const { port, sessions } = yield* server
      const connection = yield* Tcp.connect({ host: "127.0.0.1", port })
      const client = yield* Session.secureClient(connection)
      // nothing sent: the server finishes its side from the Confirm alone
      const { pending, session } = yield* Deferred.await(sessions)
      assert.strictEqual(pending, 0)
      yield* session.send([Message.Ping()])
      assert.deepStrictEqual(yield* client.receive, [Message.Ping()])
      yield* client.send([Message.Pong()])
      assert.deepStrictEqual(yield* session.receive, [Message.Pong()])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
