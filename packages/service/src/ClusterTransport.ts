/**
 * `effect/cluster` over the secure transport: the runners of an Effect
 * cluster talk to each other (and clients to runners) over connections that
 * run the crate's handshake and seal every byte (see `SecureSocket`).
 *
 * A cluster's transport plugs in through two services, and this module
 * provides both over `SecureSocket`, mirroring `NodeClusterSocket` from
 * `@effect/platform-node`:
 *
 * - `SocketServer` — {@link layerSocketServer}: the runner listens on
 *   `ShardingConfig.runnerListenAddress` (else `runnerAddress`) and serves the
 *   runner RPCs (`RunnerServer`) to connections that completed the handshake;
 * - `Runners.RpcClientProtocol` — {@link layerClientProtocol}: calls to another
 *   runner open a `SecureSocket` to its `RunnerAddress`.
 *
 * {@link layer} wires everything as `NodeClusterSocket.layer` does (RPC
 * serialization, runner health, storage, `ShardingConfig` from the
 * environment plus overrides, client-only mode):
 *
 * ```ts
 * import * as ClusterTransport from "@network-protocol/service/ClusterTransport"
 * import * as SqliteClient from "@network-protocol/service/SqliteClient"
 *
 * const RunnerLive = ClusterTransport.layer({
 *   storage: "sql",
 *   shardingConfig: { runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", 0)) }
 * }).pipe(
 *   Layer.provide(SqliteClient.layer({ filename: "/tmp/cluster.db" })),
 *   Layer.provide(Crypto.layerDefault)
 * )
 * ```
 *
 * **Storage.** Runners find each other and share out the shards through
 * `RunnerStorage`, so every runner of a cluster must use the same one.
 * `storage: "local"` (memory) only works for a single process. `"sql"` uses
 * `SqlRunnerStorage` and `SqlMessageStorage` over the `SqlClient` you provide:
 * PostgreSQL or MySQL for several machines, or `SqliteClient` (Node's
 * built-in `node:sqlite`, one database file) for several processes on one
 * machine. `"byo"` takes `RunnerStorage` and `MessageStorage` from the
 * context.
 *
 * **Port 0.** When `runnerAddress` has port `0`, the runner listens on a free
 * port and advertises that port (other runners read it from storage).
 *
 * @since 0.1.0
 */
import type * as Crypto from "@network-protocol/core/Crypto"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import type * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import type * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SecureSocket from "./SecureSocket.ts"

/**
 * Options of the client side: the secure socket, and the RPC client protocol
 * on top of it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientProtocolOptions extends SecureSocket.ClientOptions {
  /** How long to wait for the TCP connection to a runner. Default 1 second (as `NodeClusterSocket`). */
  readonly openTimeout?: Duration.Input | undefined
  /** Interval of the RPC client's pings. Default 5 seconds. */
  readonly pingInterval?: Duration.Input | undefined
  /** How long without a frame from the runner before the connection is dropped. Default: the ping interval. */
  readonly pingTimeout?: Duration.Input | undefined
}

/**
 * Provides `Runners.RpcClientProtocol`: a call to a runner opens a secure
 * socket to its address and speaks the RPC protocol of the current
 * `RpcSerialization` over it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClientProtocol = (
  options?: ClientProtocolOptions
): Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization | Crypto.Crypto> =>
  Layer.effect(Runners.RpcClientProtocol)(
    Effect.gen(function*() {
      const serialization = yield* RpcSerialization.RpcSerialization
      const context = yield* Effect.context<Crypto.Crypto>()
      return Runners.RpcClientProtocol.of({
        codecFor: serialization.codecFor,
        make: (address) =>
          Effect.flatMap(
            SecureSocket.makeNet({
              ...options,
              host: address.host,
              port: address.port,
              openTimeout: options?.openTimeout ?? 1000
            }),
            (socket) =>
              RpcClient.makeProtocolSocket({ pingInterval: options?.pingInterval, pingTimeout: options?.pingTimeout })
                .pipe(
                  Effect.provideService(Socket.Socket, socket),
                  Effect.provideService(RpcSerialization.RpcSerialization, serialization)
                )
          ).pipe(Effect.provideContext(context))
      })
    })
  )

/**
 * Provides the runner's secure `SocketServer`, listening on
 * `ShardingConfig.runnerListenAddress`, else `runnerAddress`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSocketServer = (
  options?: SecureSocket.ServerOptions
): Layer.Layer<
  SocketServer.SocketServer,
  SocketServer.SocketServerError,
  ShardingConfig.ShardingConfig | Crypto.Crypto
> =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* ShardingConfig.ShardingConfig
    const listen = Option.orElse(config.runnerListenAddress, () => config.runnerAddress)
    if (Option.isNone(listen)) {
      return yield* Effect.die(new Error("ClusterTransport.layerSocketServer: the runner has no address to listen on"))
    }
    return SecureSocket.layerServer({ ...options, host: listen.value.host, port: listen.value.port })
  }))

/**
 * Replaces a `runnerAddress` port of `0` by the port the `SocketServer` is
 * bound to.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerAdvertisedAddress: Layer.Layer<
  ShardingConfig.ShardingConfig,
  never,
  ShardingConfig.ShardingConfig | SocketServer.SocketServer
> = Layer.effect(ShardingConfig.ShardingConfig)(
  Effect.gen(function*() {
    const config = yield* ShardingConfig.ShardingConfig
    const server = yield* SocketServer.SocketServer
    const advertised = config.runnerAddress
    if (Option.isNone(advertised) || advertised.value.port !== 0 || server.address._tag === "UnixPathAddress") {
      return config
    }
    return {
      ...config,
      runnerAddress: Option.some(RunnerAddress.make(advertised.value.host, server.address.port))
    }
  })
)

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<ClientOnly extends boolean, Storage extends "local" | "sql" | "byo"> {
  /** The RPC serialization between runners. Default `"binary"` (`RpcSerialization.layerSchemaBinary`). */
  readonly serialization?: "binary" | "ndjson" | undefined
  readonly serializationMaxBufferSize?: number | "unbounded" | undefined
  /** Join as a client only: send to entities, host none, listen on nothing. */
  readonly clientOnly?: ClientOnly | undefined
  /** Where runners and messages are stored; see the module documentation. Default `"sql"`. */
  readonly storage?: Storage | undefined
  /** How a runner decides another one is alive. Default `"ping"` (over the secure transport). */
  readonly runnerHealth?: "ping" | "k8s" | undefined
  readonly runnerHealthK8s?: {
    readonly namespace?: string | undefined
    readonly labelSelector?: string | undefined
  } | undefined
  /** Overrides of the configuration read from the environment (`ShardingConfig.layerFromEnv`). */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
  /** Options of outgoing connections (to runners). */
  readonly client?: ClientProtocolOptions | undefined
  /** Options of incoming connections (of a runner). */
  readonly server?: SecureSocket.ServerOptions | undefined
}

/**
 * What {@link layer} needs from the context for a storage choice.
 *
 * @category models
 * @since 0.1.0
 */
export type StorageRequirements<Storage extends "local" | "sql" | "byo"> = "local" extends Storage ? never
  : "byo" extends Storage ? MessageStorage.MessageStorage | RunnerStorage.RunnerStorage
  : SqlClient.SqlClient

/**
 * The layer {@link layer} returns for its options.
 *
 * @category models
 * @since 0.1.0
 */
export type ClusterLayer<ClientOnly extends boolean, Storage extends "local" | "sql" | "byo"> = Layer.Layer<
  Sharding.Sharding | Runners.Runners | ("byo" extends Storage ? never : MessageStorage.MessageStorage),
  (ClientOnly extends true ? never : SocketServer.SocketServerError) | Config.ConfigError,
  Crypto.Crypto | StorageRequirements<Storage>
>

type Storages = MessageStorage.MessageStorage | RunnerStorage.RunnerStorage

const forwarded = <S extends Storages>(): Layer.Layer<S, never, S> => Layer.effectContext(Effect.context<S>())

/**
 * A cluster runner (or, with `clientOnly`, a cluster client) whose runner
 * traffic goes over the secure transport: `NodeClusterSocket.layer` with
 * {@link layerSocketServer} and {@link layerClientProtocol}. Requires the
 * `Crypto` service (`Crypto.layerDefault`), plus what the storage choice needs.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const ClientOnly extends boolean = false, const Storage extends "local" | "sql" | "byo" = "sql">(
  options?: Options<ClientOnly, Storage>
): ClusterLayer<ClientOnly, Storage> => {
  const serialization = options?.serialization === "ndjson"
    ? RpcSerialization.layerNdjsonWith({ maxBufferSize: options.serializationMaxBufferSize })
    : RpcSerialization.layerSchemaBinary({ maxFrameSize: options?.serializationMaxBufferSize })
  const config = ShardingConfig.layerFromEnv(options?.shardingConfig)
  const clientProtocol = layerClientProtocol(options?.client)

  const storage: string = options?.storage ?? "sql"
  const messageStorage: Layer.Layer<
    MessageStorage.MessageStorage,
    never,
    SqlClient.SqlClient | ShardingConfig.ShardingConfig | MessageStorage.MessageStorage
  > = storage === "local"
    ? MessageStorage.layerNoop
    : storage === "byo"
    ? forwarded<MessageStorage.MessageStorage>()
    : SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest))
  const runnerStorage: Layer.Layer<
    RunnerStorage.RunnerStorage,
    never,
    SqlClient.SqlClient | ShardingConfig.ShardingConfig | RunnerStorage.RunnerStorage
  > = storage === "local"
    ? RunnerStorage.layerMemory
    : storage === "byo"
    ? forwarded<RunnerStorage.RunnerStorage>()
    : Layer.orDie(SqlRunnerStorage.layer)

  const withStorage = <A, E, R>(runner: Layer.Layer<A, E, R>) =>
    runner.pipe(
      Layer.provideMerge(messageStorage),
      Layer.provide(runnerStorage)
    )

  if (options?.clientOnly === true) {
    const client = withStorage(SocketRunner.layerClientOnly.pipe(Layer.provide(clientProtocol))).pipe(
      Layer.provide(serialization),
      Layer.provide(config)
    )
    return client as unknown as ClusterLayer<ClientOnly, Storage>
  }

  const runnerHealth = options?.runnerHealth === "k8s"
    ? Layer.unwrap(
      Effect.map(
        Effect.promise(() => import("@effect/platform-node/NodeClusterSocket")),
        (NodeClusterSocket) =>
          RunnerHealth.layerK8s(options.runnerHealthK8s).pipe(Layer.provide(NodeClusterSocket.layerK8sHttpClient))
      )
    )
    : RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(clientProtocol))

  // the server is built once: from the configured address, and then read back for port 0
  const server = layerAdvertisedAddress.pipe(Layer.provideMerge(layerSocketServer(options?.server)))
  const runner = withStorage(
    SocketRunner.layer.pipe(
      Layer.provide(runnerHealth),
      Layer.provide(clientProtocol)
    )
  ).pipe(
    Layer.provide(server),
    Layer.provide(serialization),
    Layer.provide(config)
  )
  return runner as unknown as ClusterLayer<ClientOnly, Storage>
}
