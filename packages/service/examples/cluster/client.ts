/**
 * A client of the example cluster (it hosts no entity): it asks `Greeter`s to
 * relay a greeting to one another and prints which runner processes answered.
 *
 *   CLUSTER_DB=/tmp/cluster.db node client.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Crypto from "@network-protocol/core/Crypto"
import * as ClusterTransport from "@network-protocol/service/ClusterTransport"
import * as SqliteClient from "@network-protocol/service/SqliteClient"
import { Effect, Layer } from "effect"
import { Greeter, shardingConfig } from "./entities.ts"

const filename = process.env.CLUSTER_DB
if (filename === undefined) throw new Error("set CLUSTER_DB to the cluster's SQLite file")

const ClientLive = ClusterTransport.layer({ clientOnly: true, storage: "sql", shardingConfig }).pipe(
  Layer.provide(SqliteClient.layer({ filename })),
  Layer.provide(Crypto.layerDefault)
)

const program = Effect.gen(function*() {
  const greeter = yield* Greeter.client
  for (let i = 0; i < 8; i++) {
    const reply = yield* greeter(`greeter-${i}`).Relay({ target: `greeter-${i + 100}`, secret: `friend ${i}` })
    yield* Effect.log(
      `${reply.greeting}: relayed by ${reply.via.runner} (pid ${reply.via.pid}), ` +
        `answered by ${reply.at.runner} (pid ${reply.at.pid})`
    )
  }
})

program.pipe(Effect.provide(ClientLive), NodeRuntime.runMain)
