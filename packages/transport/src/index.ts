/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Certificate from "./Certificate.ts"

/**
 * @since 0.1.0
 */
export * as Cluster from "./Cluster.ts"

/**
 * @since 0.1.0
 */
export * as Connection from "./Connection.ts"

/**
 * @since 0.1.0
 */
export * as ErrorCode from "./ErrorCode.ts"

/**
 * @since 0.1.0
 */
export * as Server from "./Server.ts"

/**
 * @since 0.1.0
 */
export * as SessionCache from "./SessionCache.ts"

/**
 * @since 0.1.0
 */
export * as Tcp from "./Tcp.ts"

/**
 * @since 0.1.0
 */
export * as Tls from "./Tls.ts"

/**
 * @since 0.1.0
 */
export * as Unix from "./Unix.ts"
