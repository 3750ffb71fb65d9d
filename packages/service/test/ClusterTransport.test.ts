/**
 * effect/cluster over the secure transport, for real: two runner processes
 * (`examples/cluster/runner.ts`, run by `process.execPath`) sharing their
 * storage through one SQLite file, and this process joining as a client.
 *
 * Each runner advertises the port of a recording proxy in this process and
 * listens behind it, so every byte between runners, and from the client to
 * the runners, is seen here: the tests check it is sealed. Runners get
 * SIGTERM at the end (SIGKILL after 5 s), whatever happened.
 */
import { assert, layer } from "@effect/vitest"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Crypto from "@network-protocol/core/Crypto"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as Runners from "effect/cluster/Runners"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Schedule from "effect/Schedule"
import * as Socket from "effect/socket/Socket"
import * as SqlClient from "effect/sql/SqlClient"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Greeter, shardingConfig } from "../examples/cluster/entities.ts"
import * as ClusterTransport from "../src/ClusterTransport.ts"
import * as SqliteClient from "../src/SqliteClient.ts"
import * as WireProxy from "./wireProxy.ts"

const RUNNER = fileURLToPath(new URL("../examples/cluster/runner.ts", import.meta.url))

interface Runner {
  readonly name: string
  readonly pid: number
  /** The port the runner listens on. */
  readonly port: number
  /** The proxy in front of it, whose port the runner advertises. */
  readonly proxy: WireProxy.WireProxy
}

class Cluster extends Context.Service<Cluster, {
  readonly db: string
  readonly runners: ReadonlyArray<Runner>
}>()("test/Cluster") {}

/** SIGTERM, then SIGKILL if the process is still there after 5 s; waits for it to exit. */
const stop = (child: ChildProcess.ChildProcess): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

/** Starts a runner that advertises `advertisedPort` and listens on a free port; resolves that port. */
const startRunner = (name: string, db: string, advertisedPort: number) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(process.execPath, [RUNNER], {
          stdio: ["ignore", "pipe", "pipe"],
          env: {
            ...process.env,
            NO_COLOR: "1",
            CLUSTER_DB: db,
            RUNNER_NAME: name,
            RUNNER_HOST: "127.0.0.1",
            RUNNER_PORT: String(advertisedPort),
            RUNNER_LISTEN_PORT: "0"
          }
        })
      ),
      stop
    )
    let output = ""
    const port = yield* Effect.callback<number, Error>((resume) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8")
        const match = /Listening on: [^\s]+:(\d+)/.exec(output)
        if (match !== null) resume(Effect.succeed(Number(match[1])))
      }
      child.stdout?.on("data", onData)
      child.stderr?.on("data", onData)
      child.once("exit", (code, signal) =>
        resume(Effect.fail(new Error(`runner ${name} exited (${code ?? signal}) before listening:\n${output}`))))
    }).pipe(
      Effect.timeoutOrElse({
        duration: "30 seconds",
        orElse: () => Effect.fail(new Error(`runner ${name} did not listen within 30 s:\n${output}`))
      })
    )
    const pid = child.pid
    if (pid === undefined) return yield* Effect.fail(new Error(`runner ${name} has no pid`))
    return { pid, port }
  })

const ClusterLive = Layer.effect(Cluster)(Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-cluster-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  const db = Path.join(dir, "cluster.db")
  const runners: Array<Runner> = []
  // one after the other: the first one creates the tables
  for (const name of ["alpha", "beta"]) {
    let upstream: (port: number) => void = () => {}
    const listening = new Promise<number>((resolve) => (upstream = resolve))
    const proxy = yield* WireProxy.make(() => listening)
    const { pid, port } = yield* startRunner(name, db, proxy.port)
    upstream(port)
    runners.push({ name, pid, port, proxy })
  }
  return { db, runners }
}))

/** This process as a cluster client over the secure transport. */
const clientOf = (db: string) =>
  ClusterTransport.layer({ clientOnly: true, storage: "sql", shardingConfig }).pipe(
    Layer.provide(SqliteClient.layer({ filename: db })),
    Layer.provide(Crypto.layerDefault)
  )

const everyConnection = (runners: ReadonlyArray<Runner>) => runners.flatMap((runner) => runner.proxy.connections())

layer(ClusterLive, { excludeTestServices: true, timeout: "90 seconds" })("ClusterTransport", (it) => {
  it.effect("an entity in one runner process calls an entity in the other, over sealed connections", () =>
    Effect.gen(function*() {
      const { db, runners } = yield* Cluster
      const pids = runners.map((runner) => runner.pid)
      const secret = "SECRET-5f0c7a"
      const crossed = yield* Effect.gen(function*() {
        const greeter = yield* Greeter.client
        // shards move to the second runner within a few assignment rounds; ask until a relay crosses processes
        for (let i = 0;; i++) {
          const reply = yield* greeter(`source-${i}`).Relay({ target: `target-${i}`, secret })
          assert.strictEqual(reply.greeting, `hello, ${secret}`)
          assert.include(pids, reply.via.pid)
          assert.include(pids, reply.at.pid)
          if (reply.via.pid !== reply.at.pid) return reply
        }
      }).pipe(Effect.provide(clientOf(db)), Effect.timeout("40 seconds"))
      assert.notStrictEqual(crossed.via.runner, crossed.at.runner)

      // what went through the proxies: the client's calls and the runner-to-runner call
      for (const runner of runners) assert.isAbove(runner.proxy.connections().length, 0, runner.name)
      let handshakes = 0
      for (const connection of everyConnection(runners)) {
        for (const bytes of [connection.toServer, connection.toClient]) {
          assert.strictEqual(bytes.indexOf(secret), -1, "the secret travelled in plaintext")
          assert.strictEqual(bytes.indexOf("Greeter"), -1, "the entity type travelled in plaintext")
          assert.strictEqual(bytes.indexOf("Relay"), -1, "the RPC tag travelled in plaintext")
        }
        if (connection.toServer.length === 0) continue
        const first = WireProxy.frames(connection.toServer)[0]
        assert.strictEqual(Result.getOrThrow(MessageCodec.decode(first.payload))._tag, "SecureHandshakeInit")
        handshakes++
      }
      assert.isAtLeast(handshakes, 2)
    }))

  it.effect("the runner processes share their storage: both are registered in the one SQLite file", () =>
    Effect.gen(function*() {
      const { db, runners } = yield* Cluster
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ readonly address: string }>`SELECT address FROM cluster_runners ORDER BY address`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: db })))
      assert.deepStrictEqual(
        rows.map((row) => row.address).sort(),
        runners.map((runner) => `127.0.0.1:${runner.proxy.port}`).sort()
      )
    }))

  it.effect("a runner serves the secure protocol only: a plaintext runner client is refused", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const port = runners[0].port
      // the same runner RPC (Ping) through ClusterTransport's client protocol…
      yield* Effect.gen(function*() {
        const protocols = yield* Runners.RpcClientProtocol
        const protocol = yield* protocols.make(RunnerAddress.make("127.0.0.1", port))
        const client = yield* Runners.makeRpcClient.pipe(Effect.provideService(RpcClient.Protocol, protocol))
        yield* client.Ping()
      }).pipe(
        Effect.provide(ClusterTransport.layerClientProtocol()),
        Effect.provide(Crypto.layerDefault),
        Effect.scoped,
        Effect.timeout("10 seconds")
      )
      // …and through a plain socket, as `NodeClusterSocket` would send it
      const exit = yield* Effect.gen(function*() {
        const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port })
        const protocol = yield* RpcClient.makeProtocolSocket({ retryPolicy: Schedule.recurs(0) }).pipe(
          Effect.provideService(Socket.Socket, socket)
        )
        const client = yield* Runners.makeRpcClient.pipe(Effect.provideService(RpcClient.Protocol, protocol))
        return yield* client.Ping()
      }).pipe(Effect.scoped, Effect.timeout("10 seconds"), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.findErrorOption(exit)
      // the runner closed the connection on the first bytes, which are not a handshake
      assert.strictEqual(error._tag === "Some" ? error.value._tag : "", "RpcClientError")
      const reason = error._tag === "Some" && error.value._tag === "RpcClientError" ? error.value.reason._tag : ""
      assert.strictEqual(reason, "SocketCloseError")
    }).pipe(Effect.provide(RpcSerialization.layerSchemaBinary())))
})
