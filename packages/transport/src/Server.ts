/**
 * A listening server that hands every accepted connection, framed, to a
 * handler. Made by `Tcp.listen`, `Unix.listen` and `Tls.listen`.
 *
 * It follows `SocketServer.run` from `effect/socket`: the server listens as
 * soon as it is acquired (connections that arrive before `run` wait, paused),
 * `run` forks one fiber per connection, and interrupting `run` interrupts
 * every connection fiber. Closing the scope that acquired the server stops
 * accepting, destroys every socket still open (including TLS handshakes in
 * progress) and waits until they and the listener are gone.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as Connection from "./Connection.ts"

/**
 * A listening server.
 *
 * **Details**
 *
 * `run(handler)` never returns; it serves until interrupted. Each handler
 * runs in its own scope, which owns the connection: when the handler ends
 * (or fails, or is interrupted) the connection is released. A handler's
 * failures are logged at debug level and never stop the server.
 *
 * `connections` counts the sockets accepted and not yet closed, including
 * those still in a TLS handshake.
 *
 * @category models
 * @since 0.1.0
 */
export interface Server {
  readonly address: NetAddress.SocketAddress
  readonly run: <A, E, R>(
    handler: (connection: Connection.Connection) => Effect.Effect<A, E, R>
  ) => Effect.Effect<never, never, Exclude<R, Scope.Scope>>
  readonly connections: Effect.Effect<number>
}
