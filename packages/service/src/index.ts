/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Client from "./Client.ts"

/**
 * @since 0.1.0
 */
export * as Command from "./Command.ts"

/**
 * @since 0.1.0
 */
export * as Daemon from "./Daemon.ts"

/**
 * @since 0.1.0
 */
export * as Dispatcher from "./Dispatcher.ts"

/**
 * @since 0.1.0
 */
export * as ExtendedSession from "./ExtendedSession.ts"

/**
 * @since 0.1.0
 */
export * as Session from "./Session.ts"

/**
 * @since 0.1.0
 */
export * as Pool from "./Pool.ts"

/**
 * @since 0.1.0
 */
export * as Multiplexer from "./Multiplexer.ts"

/**
 * @since 0.1.0
 */
export * as SecureSocket from "./SecureSocket.ts"

/**
 * @since 0.1.0
 */
export * as ClusterTransport from "./ClusterTransport.ts"

/**
 * @since 0.1.0
 */
export * as SqliteClient from "./SqliteClient.ts"
