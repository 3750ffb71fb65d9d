/**
 * One runner of an `effect/cluster` whose runners talk over the secure
 * transport (the crate's handshake, then XChaCha20-Poly1305 on every byte).
 * Start several, each in its own process, on one machine: they share the
 * cluster's storage through one SQLite file (Node's built-in `node:sqlite`).
 *
 *   CLUSTER_DB=/tmp/cluster.db RUNNER_NAME=alpha node runner.ts
 *   CLUSTER_DB=/tmp/cluster.db RUNNER_NAME=beta  node runner.ts
 *
 * Environment:
 * - `CLUSTER_DB` — the SQLite file shared by the runners (required);
 * - `RUNNER_NAME` — shown in the replies (default `runner`);
 * - `RUNNER_HOST` — the runner's host (default `127.0.0.1`);
 * - `RUNNER_PORT` — the port other runners connect to (default `0`: the port
 *   it listens on, picked by the system);
 * - `RUNNER_LISTEN_PORT` — the port to listen on when it differs from
 *   `RUNNER_PORT` (behind a proxy, say).
 *
 * It logs `Listening on: host:port` once it serves, and stops gracefully
 * (unregisters, releases its shards) on SIGINT / SIGTERM.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Crypto from "@network-protocol/core/Crypto"
import * as ClusterTransport from "@network-protocol/service/ClusterTransport"
import * as SqliteClient from "@network-protocol/service/SqliteClient"
import { Layer, Option } from "effect"
import { RunnerAddress } from "effect/cluster"
import { GreeterLive, shardingConfig } from "./entities.ts"

const filename = process.env.CLUSTER_DB
if (filename === undefined) throw new Error("set CLUSTER_DB to the cluster's SQLite file")
const host = process.env.RUNNER_HOST ?? "127.0.0.1"
const port = Number(process.env.RUNNER_PORT ?? "0")
const listenPort = process.env.RUNNER_LISTEN_PORT

const RunnerLive = GreeterLive.pipe(
  Layer.provide(ClusterTransport.layer({
    storage: "sql",
    shardingConfig: {
      ...shardingConfig,
      runnerAddress: Option.some(RunnerAddress.make(host, port)),
      runnerListenAddress: listenPort === undefined
        ? Option.none()
        : Option.some(RunnerAddress.make(host, Number(listenPort)))
    }
  })),
  Layer.provide(SqliteClient.layer({ filename })),
  Layer.provide(Crypto.layerDefault)
)

Layer.launch(RunnerLive).pipe(NodeRuntime.runMain)
