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
