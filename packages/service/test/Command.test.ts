import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Client from "../src/Client.ts"
import * as Command from "../src/Command.ts"
import * as Daemon from "../src/Daemon.ts"
import * as Dispatcher from "../src/Dispatcher.ts"

const Add = Command.make("ADD", {
  request: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  response: Schema.Number
})
const Greet = Command.make("GREET", { request: Schema.String, response: Schema.Struct({ greeting: Schema.String }) })

describe("Command", () => {
  it.live("calls typed commands end to end; the wire form is a Custom message with a JSON payload", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(Tcp.listen({ host: "127.0.0.1", port: 0 }), (s) => s.port))
      const DaemonLive = Daemon.layer({
        listen: { tcp: { host: "127.0.0.1", port } },
        dispatcher: Dispatcher.empty.pipe(
          Command.handle(Add, ({ a, b }) => Effect.succeed(a + b)),
          Command.handle(Greet, (name) => Effect.succeed({ greeting: `hello, ${name}` }))
        )
      })
      const ClientLive = Client.layer({
        connect: { tcp: { host: "127.0.0.1", port } },
        config: new NetworkConfig.ClientConfig({ ...NetworkConfig.defaults.client, response_timeout: Duration.millis(300) })
      })
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        assert.strictEqual(yield* Command.call(client, Add, { a: 2, b: 40 }), 42)
        assert.deepStrictEqual(yield* Command.call(client, Greet, "effect"), { greeting: "hello, effect" })
        // the raw wire form
        const raw = yield* client.request(
          Message.Custom({ command: "ADD", payload: new TextEncoder().encode(JSON.stringify({ a: 1, b: 1 })) })
        )
        assert.deepStrictEqual(raw, Message.Custom({ command: "ADD", payload: new TextEncoder().encode("2") }))
        // a payload that does not decode gets no reply: the call times out
        const bad = yield* Effect.exit(
          client.request(Message.Custom({ command: "ADD", payload: new TextEncoder().encode("{\"a\":\"x\"}") }))
        )
        assert.isTrue(Exit.isFailure(bad))
        // and the connection is still in step
        assert.strictEqual(yield* Command.call(client, Add, { a: 1, b: 2 }), 3)
      }).pipe(Effect.provide(ClientLive.pipe(Layer.provideMerge(DaemonLive), Layer.provide(Crypto.layerDefault))))
    }))
})
