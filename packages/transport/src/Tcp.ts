/**
 * Framed connections over TCP: `connect` dials, `listen` serves. `TCP_NODELAY`
 * is on for every socket, on both sides (the crate leaves Nagle on, which
 * delays its first small message by about 40 ms; rust-peer §6).
 *
 * ```ts
 * import * as Tcp from "@network-protocol/transport/Tcp"
 *
 * const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
 * yield* Effect.forkScoped(server.run((connection) =>
 *   Effect.forever(Effect.flatMap(connection.receive, connection.send))))
 *
 * const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
 * yield* client.send([Packet.make(new Uint8Array([1, 2, 3]))])
 * const echoed = yield* client.receive
 * ```
 *
 * @since 0.1.0
 */
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import type * as Connection from "./Connection.ts"
import * as Connect from "./internal/connect.ts"
import * as InternalConnection from "./internal/connection.ts"
import * as InternalServer from "./internal/server.ts"
import type * as Server from "./Server.ts"

/**
 * Options of `connect`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectOptions extends Connection.Options {
  readonly host: string
  readonly port: number
  /** How long to wait for the connection. Default 10 seconds; exceeding it fails with a `Timeout` reason. */
  readonly connectTimeout?: Duration.Input | undefined
}

/**
 * Options of `listen`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ListenOptions extends Connection.Options {
  /** Default `"127.0.0.1"`. */
  readonly host?: string | undefined
  /** `0` picks a free port (read it back from `port`). */
  readonly port: number
  /** Refuse connections beyond this many open ones (`net.Server.maxConnections`). */
  readonly maxConnections?: number | undefined
  /** The listen backlog. */
  readonly backlog?: number | undefined
}

/**
 * A listening TCP server.
 *
 * @category models
 * @since 0.1.0
 */
export interface TcpServer extends Server.Server {
  readonly host: string
  readonly port: number
}

/**
 * Connects to a TCP server and frames the connection, which belongs to the
 * current scope.
 *
 * **Details**
 *
 * A refused connection is an `Io` reason whose cause has code `ECONNREFUSED`
 * (`ErrorCode.isConnectionRefused`); not connecting within
 * `connectTimeout` is a `Timeout` reason.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (
  options: ConnectOptions
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> =>
  Connect.connect({
    create: () => {
      const socket = Net.createConnection({ host: options.host, port: options.port })
      socket.setNoDelay(true)
      return socket
    },
    readyEvent: "connect",
    label: InternalServer.formatHostPort(options.host, options.port),
    tls: false,
    connectTimeout: options.connectTimeout,
    maxPayloadSize: options.maxPayloadSize,
    closeTimeout: options.closeTimeout,
    describe: (socket) => InternalConnection.describe(socket, "tcp")
  })

/**
 * Listens on a TCP address. The server belongs to the current scope; see
 * `Server`.
 *
 * **Details**
 *
 * An address in use is an `Io` reason with code `EADDRINUSE`
 * (`ErrorCode.isAddressInUse`); a privileged port without the right to bind
 * it is `EACCES` (`ErrorCode.isPermissionDenied`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = (
  options: ListenOptions
): Effect.Effect<TcpServer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const server = Net.createServer({ noDelay: true })
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections
    const made = yield* InternalServer.make({
      server,
      readyEvent: "connection",
      listen: { host, port: options.port, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) },
      label: InternalServer.formatHostPort(host, options.port),
      noDelay: true,
      describe: (socket) => InternalConnection.describe(socket, "tcp"),
      connection: { maxPayloadSize: options.maxPayloadSize, closeTimeout: options.closeTimeout }
    })
    return yield* InternalServer.inetServer(made, server)
  })
