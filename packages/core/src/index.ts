/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Crypto from "./Crypto.ts"

/**
 * @since 0.1.0
 */
export * as Message from "./Message.ts"

/**
 * @since 0.1.0
 */
export * as MessageCodec from "./MessageCodec.ts"

/**
 * @since 0.1.0
 */
export * as Packet from "./Packet.ts"

/**
 * @since 0.1.0
 */
export * as PacketCodec from "./PacketCodec.ts"

/**
 * @since 0.1.0
 */
export * as ProtocolError from "./ProtocolError.ts"

/**
 * @since 0.1.0
 */
export * as Handshake from "./Handshake.ts"

/**
 * @since 0.1.0
 */
export * as ReplayCache from "./ReplayCache.ts"

/**
 * @since 0.1.0
 */
export * as SecureChannel from "./SecureChannel.ts"

/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.ts"

/**
 * @since 0.1.0
 */
export * as Logging from "./Logging.ts"

/**
 * @since 0.1.0
 */
export * as NetworkConfig from "./NetworkConfig.ts"

/**
 * @since 0.1.0
 */
export * as Compression from "./Compression.ts"

/**
 * @since 0.1.0
 */
export * as Lz4Block from "./Lz4Block.ts"

/**
 * @since 0.1.0
 */
export * as Identity from "./Identity.ts"

/**
 * @since 0.1.0
 */
export * as ExtendedHandshake from "./ExtendedHandshake.ts"

/**
 * @since 0.1.0
 */
export * as SecureEnvelope from "./SecureEnvelope.ts"
