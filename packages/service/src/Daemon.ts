/**
 * The server: a `Layer` that listens on TCP, a Unix socket or TLS, runs the
 * secure handshake on every connection (or, over TLS, the crate's plain
 * profile), and serves messages with a `Dispatcher`.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Crypto from "@network-protocol/core/Crypto"
 * import * as Message from "@network-protocol/core/Message"
 * import * as Daemon from "@network-protocol/service/Daemon"
 * import * as Dispatcher from "@network-protocol/service/Dispatcher"
 *
 * const DaemonLive = Daemon.layer({
 *   listen: { tcp: { host: "127.0.0.1", port: 9000 } },
 *   dispatcher: Dispatcher.defaults.pipe(
 *     Dispatcher.register("HELLO", () => Effect.succeed(Message.Echo({ text: "hello" })))
 *   )
 * }).pipe(Layer.provide(Crypto.layerDefault))
 * ```
 *
 * What the crate documents and we enforce (SPEC §5, §15.2):
 *
 * - `max_connections`: connections beyond it are refused at accept.
 * - `backpressure_limit`: at most that many requests of one connection are in
 *   flight; a client that never reads stalls only itself, memory stays bounded.
 * - `connection_timeout` bounds the handshake, not the connection's life;
 *   an optional `idleTimeout` ends connections with no application traffic.
 * - Heartbeats: a `Ping` after `heartbeat_interval` of silence, and the
 *   connection is closed when nothing was received for 4 × that.
 * - Replies go out in request order. User dispatchers are used.
 * - Graceful shutdown when the layer's scope closes (or `shutdown` is called):
 *   new connections are refused, requests already read are answered for up
 *   to `shutdown_timeout`, then every connection is closed.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as Crypto from "@network-protocol/core/Crypto"
import type * as Handshake from "@network-protocol/core/Handshake"
import * as Metrics from "@network-protocol/core/Metrics"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import type * as Connection from "@network-protocol/transport/Connection"
import type * as Server from "@network-protocol/transport/Server"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Unix from "@network-protocol/transport/Unix"
import * as Dispatcher from "./Dispatcher.ts"
import * as ExtendedSession from "./ExtendedSession.ts"
import { type DrainGroup, type Drainable, type Outcome, serveSession } from "./internal/serveSession.ts"
import * as Watchdog from "./internal/watchdog.ts"
import * as Session from "./Session.ts"

/**
 * Where the daemon listens. Without it, `config.address` is used over TCP.
 *
 * @category models
 * @since 0.1.0
 */
export type Listen =
  | { readonly tcp: { readonly host?: string | undefined; readonly port: number } }
  | { readonly unix: { readonly path: string } }
  | { readonly tls: Omit<Tls.ListenOptions, "maxConnections" | "maxPayloadSize"> }

/**
 * Options of the daemon.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<E, R> {
  /** Where to listen; default: TCP on `config.address`. */
  readonly listen?: Listen | undefined
  /** The crate's `[server]` section; default: the crate's defaults. */
  readonly config?: NetworkConfig.ServerConfig | undefined
  /**
   * The handlers. They are added on top of `Dispatcher.defaults` (PING → Pong,
   * ECHO → the message itself), so registering an opcode again overrides it.
   */
  readonly dispatcher?: Dispatcher.Dispatcher<E, R> | undefined
  /** End connections that received no application message for this long. Default: never. */
  readonly idleTimeout?: Duration.Input | undefined
  /** Largest accepted payload. Default: 16 MiB. */
  readonly maxPayloadSize?: number | undefined
  /** The listen backlog (pending connections the kernel queues). Default: Node's (511). */
  readonly backlog?: number | undefined
  /** Options of the replay cache shared by all connections. */
  readonly replayCache?: ReplayCache.Options | undefined
  /** Options of the server side of the handshake (timestamp window). */
  readonly handshake?: Handshake.ServerOptions | undefined
  // --- extended profile (ExtendedSession) -----------------------------------
  /**
   * Enables the opt-in extended profile on TCP and Unix sockets
   * (`ExtendedSession.server`, `docs/PROTOCOL.md`): server identity, client
   * authentication, sequenced envelope, compression. Clients that do not
   * offer it (the Rust crate) are still served with the crate's profile
   * unless `require` / `requireClientAuth` / `trustedClients` is set.
   * Default: off — the daemon then behaves exactly like the crate's.
   */
  readonly security?: Security | undefined
  // --------------------------------------------------------------------------
}

/**
 * The daemon's extended-profile options: `ExtendedSession.ServerOptions`
 * without the handshake timestamp window (taken from `handshake`).
 *
 * @category models
 * @since 0.1.0
 */
export type Security = Omit<ExtendedSession.ServerOptions, "futureToleranceMillis" | "maxAgeMillis" | "fixed">

/**
 * A running daemon.
 *
 * @category models
 * @since 0.1.0
 */
export interface Daemon {
  /** `host:port` for TCP and TLS, the socket path for a Unix socket. */
  readonly address: string
  /** The port for TCP and TLS (useful with port 0), `undefined` for a Unix socket. */
  readonly port: number | undefined
  /** Sessions currently open (past the handshake or in it). */
  readonly connections: Effect.Effect<number>
  /**
   * Shuts down gracefully: refuses new connections, lets requests already read
   * finish for up to `shutdown_timeout`, then closes every connection.
   * Idempotent; also run when the daemon's scope closes.
   */
  readonly shutdown: Effect.Effect<void>
}

/**
 * The daemon as a service.
 *
 * @category services
 * @since 0.1.0
 */
export const Daemon: Context.Service<Daemon, Daemon> = Context.Service<Daemon>("network-protocol/Daemon")

const serverAttributes = {
  tcp: { transport: "tcp", role: "server" },
  unix: { transport: "unix", role: "server" },
  tls: { transport: "tls", role: "server" }
} as const

const listen = (
  listenOn: Listen,
  limits: { readonly maxConnections: number; readonly maxPayloadSize: number | undefined; readonly backlog: number | undefined }
): Effect.Effect<Server.Server, ProtocolError.ProtocolError, Scope.Scope> => {
  if ("unix" in listenOn) return Unix.listen({ path: listenOn.unix.path, ...limits })
  if ("tls" in listenOn) return Tls.listen({ ...listenOn.tls, ...limits })
  return Tcp.listen({ host: listenOn.tcp.host, port: listenOn.tcp.port, ...limits })
}

const parseAddress = (address: string): { readonly host: string; readonly port: number } => {
  const colon = address.lastIndexOf(":")
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1")
  return { host, port: Number(address.slice(colon + 1)) }
}

const describe = (server: Server.Server): { readonly address: string; readonly port: number | undefined } => {
  const address = server.address
  switch (address._tag) {
    case "UnixPathAddress":
      return { address: address.path, port: undefined }
    case "InetAddressV6":
      return { address: `[${NetAddress.formatIp(address.address)}]:${address.port}`, port: address.port }
    default:
      return { address: `${NetAddress.formatIp(address.address)}:${address.port}`, port: address.port }
  }
}

const ignore = (): Effect.Effect<void> => Effect.void

/**
 * Starts a daemon in the current scope; it shuts down gracefully when the
 * scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*<E = never, R = never>(
  options: Options<E, R> = {}
): Effect.fn.Return<Daemon, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope | Exclude<R, Scope.Scope>> {
  const config = options.config ?? NetworkConfig.defaults.server
  const listenOn = options.listen ?? { tcp: parseAddress(config.address) }
  const secure = !("tls" in listenOn)
  const transport = "unix" in listenOn ? "unix" : secure ? "tcp" : "tls"
  const dispatcher: Dispatcher.Dispatcher<E, R> = options.dispatcher === undefined
    ? Dispatcher.defaults
    : Dispatcher.merge(Dispatcher.defaults, options.dispatcher)
  const replayCache = yield* ReplayCache.make(options.replayCache)
  const draining = yield* Deferred.make<void>()
  const drained = yield* Deferred.make<void>()
  let active = 0
  // one timer for the heartbeats and timeouts of every session
  const watchdog = Watchdog.make()
  yield* Effect.forkScoped(watchdog.run)
  // sessions to drain when shutting down, told without a fiber each
  const drainingSessions = new Set<Drainable>()
  const drainGroup: DrainGroup = {
    add: (session) => {
      if (Deferred.isDoneUnsafe(draining)) session.drain()
      else drainingSessions.add(session)
    },
    remove: (session) => {
      drainingSessions.delete(session)
    }
  }

  const serveOptions = {
    watchdog,
    dispatcher,
    backpressureLimit: config.backpressure_limit,
    heartbeatInterval: config.heartbeat_interval,
    deadTimeout: Duration.times(config.heartbeat_interval, 4),
    idleTimeout: options.idleTimeout === undefined ? undefined : Duration.fromInputUnsafe(options.idleTimeout),
    draining: Deferred.await(draining),
    drainGroup
  }

  const handshakeTimeout = ProtocolError.make(
    new ProtocolError.Timeout({ detail: `handshake not completed within ${Duration.format(config.connection_timeout)}` })
  )

  const openSession = (connection: Connection.Connection) =>
    secure
      ? (options.security === undefined // extended profile: see `security`
        ? Session.secureServer(connection, options.handshake)
        : ExtendedSession.server(connection, { ...options.handshake, ...options.security })).pipe(
        Metrics.trackHandshake,
        Effect.timeoutOrElse({ duration: config.connection_timeout, orElse: () => Effect.fail(handshakeTimeout) }),
        Effect.provideService(ReplayCache.ReplayCache, replayCache)
      )
      : Effect.succeed(Session.plain(connection))

  const onClosed = Effect.andThen(
    Metrics.connectionClosed,
    Effect.sync(() => {
      active--
      if (active === 0 && Deferred.isDoneUnsafe(draining)) Deferred.doneUnsafe(drained, Effect.void)
    })
  )
  // how a connection ended: logged with its peer, counted, then the connection count
  const onEnded = (connection: Connection.Connection, exit: Exit.Exit<Outcome, unknown>) => {
    const logged = Exit.isSuccess(exit)
      ? Effect.logDebug(`session ended: ${exit.value}`)
      : Cause.hasInterruptsOnly(exit.cause)
      ? Effect.logDebug("session interrupted")
      : Effect.andThen(Metrics.connectionError, Effect.logDebug("connection ended with an error", exit.cause))
    return Effect.andThen(Effect.annotateLogs(logged, logAnnotations(connection)), onClosed)
  }
  const logAnnotations = (connection: Connection.Connection) => ({ peer: connection.info.remoteAddress, transport })
  const serve = (session: Session.Session) => serveSession(session, serveOptions)
  const openAndServe = (connection: Connection.Connection) =>
    Effect.andThen(Metrics.connectionOpened, Effect.flatMap(openSession(connection), serve))

  // A connection's fiber waits for the whole life of its session: few frames,
  // and the context it inherits from the server (log annotations with the
  // peer are added where logs are written: `serveSession`, `onEnded`). The
  // session's finalizers go to the connection's scope.
  const handle = (connection: Connection.Connection) =>
    Effect.suspend(() => {
      if (Deferred.isDoneUnsafe(draining)) return connection.close
      active++
      // built when run: the frames that stay for the session's life must not
      // hold the handshake's effects
      return Effect.suspend(() => openAndServe(connection)).pipe(
        Effect.onExit((exit) => onEnded(connection, exit)),
        // logged above: the server need not report it again
        Effect.catchCause(ignore)
      )
    })

  const server = yield* listen(listenOn, {
    maxConnections: config.max_connections,
    maxPayloadSize: options.maxPayloadSize,
    backlog: options.backlog
  })
  // the metric attributes are the same for every connection: set once, inherited
  yield* Effect.forkScoped(Metrics.withAttributes(server.run(handle), serverAttributes[transport]))

  const shutdown = Effect.gen(function*() {
    if (!(yield* Deferred.succeed(draining, undefined))) return yield* Deferred.await(drained)
    const sessions = Array.from(drainingSessions)
    drainingSessions.clear()
    for (let i = 0; i < sessions.length; i++) sessions[i].drain()
    if (active === 0) yield* Deferred.succeed(drained, undefined)
    yield* Deferred.await(drained).pipe(Effect.timeoutOrElse({
      duration: config.shutdown_timeout,
      orElse: () => Effect.logWarning(`${active} connections still open after the shutdown timeout; closing them`)
    }))
    yield* Deferred.succeed(drained, undefined)
  })
  yield* Effect.addFinalizer(() => shutdown)

  return {
    ...describe(server),
    connections: Effect.sync(() => active),
    shutdown
  }
})

/**
 * The daemon as a layer: it starts when the layer is built and shuts down
 * gracefully when the layer's scope closes. Needs a `Crypto` provider
 * (`Crypto.layerDefault`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <E = never, R = never>(
  options: Options<E, R> = {}
): Layer.Layer<Daemon, ProtocolError.ProtocolError, Crypto.Crypto | Exclude<R, Scope.Scope>> =>
  Layer.effect(Daemon, make(options))
