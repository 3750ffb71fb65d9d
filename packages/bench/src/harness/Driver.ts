/**
 * The interface between the generic client workloads (`Workload.ts`) and one
 * contender's client code. A contender's client side is a *driver module*: a
 * file whose `make(options)` export returns a {@link ClientDriver}. The
 * workloads only ever ask a connection to send `n` requests and listen for
 * how many replies completed, so the same ping-pong, window and connect loops
 * measure raw `node:net`, `node:tls` and the library's secure client alike.
 *
 * @since 0.1.0
 */
import type * as Data from "./Data.ts"

/**
 * Where a server listens, as announced by the server process.
 *
 * @category models
 * @since 0.1.0
 */
export type Address =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string }

/**
 * Settings of one connection, fixed for a workload.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionOptions {
  /**
   * Size of one request in bytes. For the framed baselines it is the whole
   * frame on the wire, 9-byte header included; a library driver sends an
   * application message of this many bytes (and says so in its label).
   * The server replies with a message of the same size.
   */
  readonly size: number
  /**
   * When set, `size` counts the **application payload** only, made of these
   * bytes, and every contender wraps it in its own framing (9-byte header,
   * multiplexed frame, `Custom` message, …); the reply carries the same
   * payload back.
   */
  readonly payload?: Data.Payload | undefined
}

/**
 * What a connection reports back to the workload.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handlers {
  /** `count` more replies have completed (called once per read, `count ≥ 1`). */
  readonly onReplies: (count: number) => void
  /** The connection failed or was closed by the peer. */
  readonly onError: (error: Error) => void
}

/**
 * An open client connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Connection {
  /** Writes `count` requests, batched into as few writes as possible. */
  readonly send: (count: number) => void
  /** Closes gracefully; resolves when the connection is fully closed. */
  readonly close: () => Promise<void>
  /** Facts worth reporting, e.g. the negotiated TLS cipher. */
  readonly info?: Readonly<Record<string, string>> | undefined
}

/**
 * A contender's client: opens connections to its server.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientDriver {
  /** Connects (including any handshake) and resolves once requests can be sent. */
  readonly connect: (address: Address, options: ConnectionOptions, handlers: Handlers) => Promise<Connection>
}

/**
 * Options a driver module receives, as given in its contender's entry.
 *
 * @category models
 * @since 0.1.0
 */
export type DriverOptions = Readonly<Record<string, string | number | boolean>>

/**
 * The shape of a driver module: `export const make: DriverModule["make"]`.
 *
 * @category models
 * @since 0.1.0
 */
export interface DriverModule {
  readonly make: (options: DriverOptions) => ClientDriver | Promise<ClientDriver>
}

/**
 * Narrows an imported module to a {@link DriverModule}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isDriverModule = (u: unknown): u is DriverModule =>
  typeof u === "object" && u !== null && "make" in u && typeof u.make === "function"
