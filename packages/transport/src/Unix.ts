/**
 * Framed connections over Unix domain sockets.
 *
 * `listen` takes care of the socket file: a **stale** file left by a server
 * that died (a socket on which nothing listens) is removed before binding; a
 * socket on which a server is still listening is left alone and reported as
 * an address in use; any other kind of file is never touched. On shutdown the
 * server removes its own socket file (only if it is still the one it
 * created). The crate deletes whatever exists at the path, live or not.
 *
 * @since 0.1.0
 */
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Net from "node:net"
import type * as Connection from "./Connection.ts"
import * as Connect from "./internal/connect.ts"
import * as InternalConnection from "./internal/connection.ts"
import * as Errors from "./internal/errors.ts"
import * as InternalServer from "./internal/server.ts"
import type * as Server from "./Server.ts"

/**
 * Options of `connect`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectOptions extends Connection.Options {
  readonly path: string
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
  readonly path: string
  /** Refuse connections beyond this many open ones. */
  readonly maxConnections?: number | undefined
  /** The listen backlog. */
  readonly backlog?: number | undefined
  /** Make the socket readable and writable by all users (`chmod 0666`); default: the umask decides. */
  readonly shared?: boolean | undefined
}

/**
 * A listening Unix socket server.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnixServer extends Server.Server {
  readonly path: string
}

/**
 * Connects to a Unix socket server and frames the connection, which belongs
 * to the current scope.
 *
 * **Details**
 *
 * A path where nothing listens is an `Io` reason with code `ENOENT` (no
 * file) or `ECONNREFUSED` (a stale socket file); a directory you may not
 * enter is `EACCES`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (
  options: ConnectOptions
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> =>
  Connect.connect({
    create: () => Net.createConnection({ path: options.path }),
    readyEvent: "connect",
    label: options.path,
    tls: false,
    connectTimeout: options.connectTimeout,
    maxPayloadSize: options.maxPayloadSize,
    closeTimeout: options.closeTimeout,
    describe: (socket) => InternalConnection.describe(socket, "unix", { side: "client", path: options.path })
  })

interface FileIdentity {
  readonly dev: number
  readonly ino: number
}

const lstat = (path: string): Effect.Effect<Fs.Stats | undefined, ProtocolError.ProtocolError> =>
  Effect.callback((resume) => {
    Fs.lstat(path, (error, stats) => {
      if (error === null) return resume(Effect.succeed(stats))
      if (error.code === "ENOENT") return resume(Effect.succeed(undefined))
      resume(Effect.fail(Errors.io(`cannot inspect ${path}`, error)))
    })
  })

/** Whether a server accepts connections on the socket file. */
const probe = (path: string): Effect.Effect<boolean, ProtocolError.ProtocolError> =>
  Effect.callback((resume) => {
    const socket = Net.createConnection({ path })
    InternalConnection.guard(socket)
    const release = InternalConnection.destroy(socket)
    socket.once("connect", () => resume(Effect.as(release, true)))
    socket.once("error", (error: Errors.NodeError) => {
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") return resume(Effect.as(release, false))
      resume(Effect.andThen(release, Effect.fail(Errors.io(`cannot probe ${path}`, error))))
    })
    return release
  })

const unlink = (path: string): Effect.Effect<void, ProtocolError.ProtocolError> =>
  Effect.callback((resume) => {
    Fs.unlink(path, (error) => {
      if (error === null || error.code === "ENOENT") return resume(Effect.void)
      resume(Effect.fail(Errors.io(`cannot remove ${path}`, error)))
    })
  })

/** Removes a stale socket file; refuses a live socket or another kind of file. */
const clearStale = Effect.fnUntraced(function*(path: string) {
  const stats = yield* lstat(path)
  if (stats === undefined) return
  if (!stats.isSocket()) {
    return yield* Effect.fail(
      Errors.io(
        `cannot listen on ${path}`,
        Object.assign(new Error("the path exists and is not a socket; it was left untouched"), { code: "EEXIST" })
      )
    )
  }
  if (yield* probe(path)) {
    return yield* Effect.fail(InternalServer.addressInUse(path, "a server is already listening on this socket"))
  }
  yield* unlink(path)
})

/**
 * Listens on a Unix socket path. The server belongs to the current scope; see
 * `Server` and the module notes on the socket file.
 *
 * **Details**
 *
 * A live server on the path is an `Io` reason with code `EADDRINUSE`
 * (`ErrorCode.isAddressInUse`); a path that exists and is not a socket is
 * `EEXIST`; a directory you may not write is `EACCES`
 * (`ErrorCode.isPermissionDenied`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = (options: ListenOptions): Effect.Effect<UnixServer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const path = options.path
    yield* clearStale(path)
    let created: FileIdentity | undefined
    // runs after the listener is closed (finalizers run in reverse order)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const identity = created
        if (identity === undefined) return Effect.void
        return lstat(path).pipe(
          Effect.flatMap((stats) =>
            stats !== undefined && stats.isSocket() && stats.dev === identity.dev && stats.ino === identity.ino
              ? unlink(path)
              : Effect.void
          ),
          Effect.ignore
        )
      })
    )
    const server = Net.createServer()
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections
    const made = yield* InternalServer.make({
      server,
      readyEvent: "connection",
      listen: {
        path,
        ...(options.backlog === undefined ? {} : { backlog: options.backlog }),
        ...(options.shared === true ? { readableAll: true, writableAll: true } : {})
      },
      label: path,
      noDelay: false,
      describe: (socket) => InternalConnection.describe(socket, "unix", { side: "server", path }),
      connection: { maxPayloadSize: options.maxPayloadSize, closeTimeout: options.closeTimeout }
    })
    const stats = yield* lstat(path)
    if (stats !== undefined) created = { dev: stats.dev, ino: stats.ino }
    return {
      address: NetAddress.unixPathAddress(path),
      path,
      run: made.run,
      connections: made.connections
    }
  })
