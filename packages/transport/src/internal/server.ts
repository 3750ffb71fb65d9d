/**
 * A listening socket server handing framed connections to a handler, one
 * fiber per connection, modelled on `NodeSocketServer` from
 * `@effect/platform-node` (which it extends with: every accepted socket is
 * tracked from the TCP accept on, so TLS handshakes in progress are released
 * too; `TCP_NODELAY`; connection counting; typed listen errors).
 *
 * @internal
 */
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as NetAddress from "effect/net/NetAddress"
import { pipe } from "effect/Function"
import * as Scope from "effect/Scope"
import type * as Net from "node:net"
import type * as Connection from "../Connection.ts"
import type * as Server from "../Server.ts"
import * as InternalConnection from "./connection.ts"
import * as Errors from "./errors.ts"

/** @internal */
export interface Config {
  readonly server: Net.Server
  /** `"secureConnection"` for a TLS server: connections are handed out after the handshake. */
  readonly readyEvent: "connection" | "secureConnection"
  readonly listen: Net.ListenOptions
  /** For error messages, e.g. `127.0.0.1:7777`. */
  readonly label: string
  readonly noDelay: boolean
  readonly describe: (socket: Net.Socket) => Connection.Info
  readonly connection: Connection.Options
  /** A last check of a ready socket (mTLS authorization); a failure drops it. */
  readonly admit?: ((socket: Net.Socket) => ProtocolError.ProtocolError | undefined) | undefined
  readonly onRejected?: ((error: ProtocolError.ProtocolError) => void) | undefined
}

const reportFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Cause.hasInterruptsOnly(cause)
    ? Effect.void
    : Cause.hasDies(cause)
    ? Effect.logError("connection handler died", cause)
    : Effect.logDebug("connection handler failed", cause)

const kTracked: unique symbol = Symbol.for("network-protocol/transport/TrackedBy")

interface TrackedSocket extends Net.Socket {
  [kTracked]?: { readonly accepted: Set<Net.Socket>; readonly pending: Set<Net.Socket> } | undefined
}

// shared by every socket (`this` is the socket): no closure per connection
function untrack(this: TrackedSocket): void {
  const sets = this[kTracked]
  if (sets === undefined) return
  sets.accepted.delete(this)
  sets.pending.delete(this)
}

/**
 * Listens and returns the server. Closing the scope stops accepting, destroys
 * every accepted socket and waits for the listener and the sockets to be gone.
 *
 * @internal
 */
export const make = Effect.fnUntraced(function*(config: Config) {
  const server = config.server
  const services = yield* Effect.context<never>()
  /** Every accepted socket, from the TCP accept on. */
  const accepted = new Set<Net.Socket>()
  /** Ready sockets that arrived while no `run` was active. */
  const pending = new Set<Net.Socket>()
  const sets = { accepted, pending }
  const queue = (socket: Net.Socket) => {
    pending.add(socket)
  }
  let onReady: (socket: Net.Socket) => void = queue

  const track = (socket: TrackedSocket) => {
    InternalConnection.guard(socket)
    accepted.add(socket)
    socket[kTracked] = sets
    socket.on("close", untrack)
  }
  server.on("connection", (socket: Net.Socket) => {
    track(socket)
    if (config.noDelay) socket.setNoDelay(true)
    if (config.readyEvent === "connection") {
      // paused until a handler pulls, so nothing is read before it is wanted
      socket.pause()
      onReady(socket)
    }
  })
  if (config.readyEvent === "secureConnection") {
    server.on("secureConnection", (socket: Net.Socket) => {
      track(socket)
      socket.pause()
      const rejection = config.admit?.(socket)
      if (rejection !== undefined) {
        socket.destroy()
        config.onRejected?.(rejection)
        return
      }
      onReady(socket)
    })
  }

  // stop accepting, destroy every socket, and wait until the listener and
  // every socket are closed (a socket's `close` event comes after its handle
  // is released; the listener's callback may come before that)
  yield* Effect.addFinalizer(() =>
    Effect.callback<void>((resume) => {
      onReady = (socket) => socket.destroy()
      let waiting = 1
      const done = () => {
        if (--waiting === 0) resume(Effect.void)
      }
      for (const socket of accepted) {
        if (InternalConnection.isReleased(socket)) continue
        waiting++
        socket.once("close", done)
        socket.destroy()
      }
      server.close(done)
    })
  )

  yield* Effect.callback<void, ProtocolError.ProtocolError>((resume) => {
    const onError = (error: Error) => {
      server.off("listening", onListening)
      resume(Effect.fail(Errors.io(`cannot listen on ${config.label}`, error)))
    }
    const onListening = () => {
      server.off("error", onError)
      // errors after listening (accept failures such as EMFILE) must not crash the process
      server.on("error", (error) => {
        Effect.runForkWith(services)(Effect.logWarning(`server ${config.label}: ${error.message}`))
      })
      resume(Effect.void)
    }
    server.once("error", onError)
    server.once("listening", onListening)
    try {
      server.listen(config.listen)
    } catch (cause) {
      server.off("error", onError)
      server.off("listening", onListening)
      resume(Effect.fail(Errors.io(`cannot listen on ${config.label}`, cause)))
    }
  })

  const run = <A, E, R>(
    handler: (connection: Connection.Connection) => Effect.Effect<A, E, R>
  ): Effect.Effect<never, never, Exclude<R, Scope.Scope>> =>
    Effect.gen(function*() {
      const runScope = yield* Scope.make()
      const context = Context.omit(Scope.Scope)(yield* Effect.context<Exclude<R, Scope.Scope>>()) as Context.Context<
        Exclude<R, Scope.Scope>
      >
      const trackFiber = Fiber.runIn(runScope)
      const previous = onReady
      onReady = (socket) => {
        pipe(
          InternalConnection.fromNodeSocket(socket, { ...config.connection, info: config.describe(socket) }),
          Effect.flatMap(handler),
          Effect.scoped,
          Effect.catchCause(reportFailure),
          Effect.runForkWith(context),
          trackFiber
        )
      }
      for (const socket of pending) {
        pending.delete(socket)
        onReady(socket)
      }
      return yield* Effect.callback<never>(() =>
        Effect.suspend(() => {
          onReady = previous
          return Scope.close(runScope, Exit.void)
        })
      )
    })

  const connections = Effect.callback<number>((resume) => {
    server.getConnections((error, count) => resume(Effect.succeed(error ? accepted.size : count)))
  })

  return { server, run, connections } satisfies Omit<Server.Server, "address"> & { readonly server: Net.Server }
})

/** A `ProtocolError` for a listen address that is taken. @internal */
export const addressInUse = (label: string, detail: string): ProtocolError.ProtocolError =>
  Errors.io(`cannot listen on ${label}`, Object.assign(new Error(detail), { code: "EADDRINUSE" }))

/** `host:port`, `[v6]:port`. @internal */
export const formatHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** The server value of an IP listener. @internal */
export const inetServer = (
  made: { readonly run: Server.Server["run"]; readonly connections: Server.Server["connections"] },
  server: Net.Server
): Effect.Effect<Server.Server & { readonly host: string; readonly port: number }> =>
  Effect.suspend(() => {
    const bound = server.address() as Net.AddressInfo
    return Effect.map(
      Effect.orDie(Effect.fromResult(NetAddress.inetAddressFromIpString(bound.address, bound.port))),
      (address) => ({ address, host: bound.address, port: bound.port, run: made.run, connections: made.connections })
    )
  })
