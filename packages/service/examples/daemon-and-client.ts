import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { Crypto, Message } from "@network-protocol/core"
import { Client, Command, Daemon, Dispatcher } from "@network-protocol/service"

// A typed command: a Custom message on the wire, with JSON payloads checked by Schema
const Add = Command.make("ADD", {
  request: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  response: Schema.Number
})

// The daemon: secure handshake + XChaCha20-Poly1305 on every connection, PING/ECHO built in
const DaemonLive = Daemon.layer({
  listen: { tcp: { host: "127.0.0.1", port: 9000 } },
  dispatcher: Dispatcher.empty.pipe(Command.handle(Add, ({ a, b }) => Effect.succeed(a + b)))
})

const ClientLive = Client.layer({ connect: { tcp: { host: "127.0.0.1", port: 9000 } } })

const program = Effect.gen(function*() {
  const client = yield* Client.Client
  const pong = yield* client.request(Message.Ping())
  const sum = yield* Command.call(client, Add, { a: 20, b: 22 })
  yield* Effect.log(`${pong._tag}, 20 + 22 = ${sum}`)
})

program.pipe(
  Effect.provide(ClientLive.pipe(Layer.provideMerge(DaemonLive), Layer.provide(Crypto.layerDefault))),
  NodeRuntime.runMain
)
