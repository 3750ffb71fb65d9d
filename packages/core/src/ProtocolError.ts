/**
 * The protocol's error type: one `ProtocolError` whose tagged `reason` is one
 * of the error kinds of the Rust crate `network-protocol` 1.2.1 (SPEC §11),
 * with the same Display texts.
 *
 * Handle one kind with `Effect.catchReason("ProtocolError", "DecryptionFailure", f)`
 * or move the reasons into the error channel with `Effect.unwrapReason("ProtocolError")`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const detailed = { detail: Schema.String, cause: Schema.optional(Schema.Defect()) }

/**
 * An I/O failure of the underlying transport.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Io extends Schema.Error<Io>("network-protocol/ProtocolError/Io")({
  _tag: Schema.tag("Io"),
  ...detailed
}) {
  override get message() {
    return `I/O error: ${this.detail}`
  }
}

/**
 * A bincode decoding failure (truncated field, invalid UTF-8, impossible length).
 *
 * @category reasons
 * @since 0.1.0
 */
export class Serialization extends Schema.Error<Serialization>("network-protocol/ProtocolError/Serialization")({
  _tag: Schema.tag("Serialization"),
  ...detailed
}) {
  override get message() {
    return `Serialization error: ${this.detail}`
  }
}

/**
 * A value could not be serialized.
 *
 * @category reasons
 * @since 0.1.0
 */
export class SerializeError extends Schema.Error<SerializeError>("network-protocol/ProtocolError/SerializeError")({
  _tag: Schema.tag("SerializeError"),
  ...detailed
}) {
  override get message() {
    return `Serialize error: ${this.detail}`
  }
}

/**
 * Bytes could not be deserialized into a value.
 *
 * @category reasons
 * @since 0.1.0
 */
export class DeserializeError
  extends Schema.Error<DeserializeError>("network-protocol/ProtocolError/DeserializeError")({
    _tag: Schema.tag("DeserializeError"),
    ...detailed
  })
{
  override get message() {
    return `Deserialize error: ${this.detail}`
  }
}

/**
 * A generic serialization failure (kept for parity with the crate).
 *
 * @category reasons
 * @since 0.1.0
 */
export class SerializationError
  extends Schema.Error<SerializationError>("network-protocol/ProtocolError/SerializationError")({
    _tag: Schema.tag("SerializationError"),
    ...detailed
  })
{
  override get message() {
    return `Serialization error: ${this.detail}`
  }
}

/**
 * A transport-level failure that is not an I/O error (framing, protocol misuse).
 *
 * @category reasons
 * @since 0.1.0
 */
export class TransportError extends Schema.Error<TransportError>("network-protocol/ProtocolError/TransportError")({
  _tag: Schema.tag("TransportError"),
  ...detailed
}) {
  override get message() {
    return `Transport error: ${this.detail}`
  }
}

/**
 * The peer closed the connection.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ConnectionClosed
  extends Schema.Error<ConnectionClosed>("network-protocol/ProtocolError/ConnectionClosed")({
    _tag: Schema.tag("ConnectionClosed"),
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message() {
    return "Connection closed"
  }
}

/**
 * A security check failed.
 *
 * @category reasons
 * @since 0.1.0
 */
export class SecurityError extends Schema.Error<SecurityError>("network-protocol/ProtocolError/SecurityError")({
  _tag: Schema.tag("SecurityError"),
  ...detailed
}) {
  override get message() {
    return `Security error: ${this.detail}`
  }
}

/**
 * A frame did not start with the magic bytes `NPRO`, or a direct decode was
 * given fewer than 9 bytes.
 *
 * @category reasons
 * @since 0.1.0
 */
export class InvalidHeader extends Schema.Error<InvalidHeader>("network-protocol/ProtocolError/InvalidHeader")({
  _tag: Schema.tag("InvalidHeader")
}) {
  override get message() {
    return "Invalid protocol header"
  }
}

/**
 * A frame carried a protocol version other than 1.
 *
 * @category reasons
 * @since 0.1.0
 */
export class UnsupportedVersion
  extends Schema.Error<UnsupportedVersion>("network-protocol/ProtocolError/UnsupportedVersion")({
    _tag: Schema.tag("UnsupportedVersion"),
    version: Schema.Number
  })
{
  override get message() {
    return `Unsupported protocol version: ${this.version}`
  }
}

/**
 * A frame announced a payload larger than the configured maximum.
 *
 * @category reasons
 * @since 0.1.0
 */
export class OversizedPacket extends Schema.Error<OversizedPacket>("network-protocol/ProtocolError/OversizedPacket")({
  _tag: Schema.tag("OversizedPacket"),
  size: Schema.Number
}) {
  override get message() {
    return `Packet too large: ${this.size} bytes`
  }
}

/**
 * An encrypted payload could not be opened (tampered, wrong key, truncated).
 *
 * @category reasons
 * @since 0.1.0
 */
export class DecryptionFailure
  extends Schema.Error<DecryptionFailure>("network-protocol/ProtocolError/DecryptionFailure")({
    _tag: Schema.tag("DecryptionFailure")
  })
{
  override get message() {
    return "Decryption failed"
  }
}

/**
 * A payload could not be sealed.
 *
 * @category reasons
 * @since 0.1.0
 */
export class EncryptionFailure
  extends Schema.Error<EncryptionFailure>("network-protocol/ProtocolError/EncryptionFailure")({
    _tag: Schema.tag("EncryptionFailure"),
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message() {
    return "Encryption failed"
  }
}

/**
 * Compression failed.
 *
 * @category reasons
 * @since 0.1.0
 */
export class CompressionFailure
  extends Schema.Error<CompressionFailure>("network-protocol/ProtocolError/CompressionFailure")({
    _tag: Schema.tag("CompressionFailure"),
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message() {
    return "Compression failed"
  }
}

/**
 * Decompression failed: corrupt or truncated input, or output beyond the bound.
 *
 * @category reasons
 * @since 0.1.0
 */
export class DecompressionFailure
  extends Schema.Error<DecompressionFailure>("network-protocol/ProtocolError/DecompressionFailure")({
    _tag: Schema.tag("DecompressionFailure"),
    detail: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message() {
    return this.detail === undefined ? "Decompression failed" : `Decompression failed: ${this.detail}`
  }
}

/**
 * The secure handshake failed.
 *
 * @category reasons
 * @since 0.1.0
 */
export class HandshakeError extends Schema.Error<HandshakeError>("network-protocol/ProtocolError/HandshakeError")({
  _tag: Schema.tag("HandshakeError"),
  ...detailed
}) {
  override get message() {
    return `Handshake failed: ${this.detail}`
  }
}

/**
 * A message arrived that the receiver has no use for at this point.
 *
 * @category reasons
 * @since 0.1.0
 */
export class UnexpectedMessage
  extends Schema.Error<UnexpectedMessage>("network-protocol/ProtocolError/UnexpectedMessage")({
    _tag: Schema.tag("UnexpectedMessage"),
    detail: Schema.optional(Schema.String)
  })
{
  override get message() {
    return this.detail === undefined ? "Unexpected message type" : `Unexpected message type: ${this.detail}`
  }
}

/**
 * An operation did not complete in time.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Timeout extends Schema.Error<Timeout>("network-protocol/ProtocolError/Timeout")({
  _tag: Schema.tag("Timeout"),
  detail: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.detail === undefined ? "Timeout occurred" : `Timeout occurred: ${this.detail}`
  }
}

/**
 * Nothing was received from the peer for longer than the dead-connection timeout.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ConnectionTimeout
  extends Schema.Error<ConnectionTimeout>("network-protocol/ProtocolError/ConnectionTimeout")({
    _tag: Schema.tag("ConnectionTimeout")
  })
{
  override get message() {
    return "Connection timed out (no activity)"
  }
}

/**
 * Configuration could not be loaded or is invalid.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ConfigError extends Schema.Error<ConfigError>("network-protocol/ProtocolError/ConfigError")({
  _tag: Schema.tag("ConfigError"),
  ...detailed
}) {
  override get message() {
    return `Configuration error: ${this.detail}`
  }
}

/**
 * A circuit breaker is open after too many consecutive failures.
 *
 * @category reasons
 * @since 0.1.0
 */
export class CircuitBreakerOpen
  extends Schema.Error<CircuitBreakerOpen>("network-protocol/ProtocolError/CircuitBreakerOpen")({
    _tag: Schema.tag("CircuitBreakerOpen")
  })
{
  override get message() {
    return "Circuit breaker open - too many consecutive failures"
  }
}

/**
 * A connection pool could not hand out a connection within its limits.
 *
 * @category reasons
 * @since 0.1.0
 */
export class PoolExhausted extends Schema.Error<PoolExhausted>("network-protocol/ProtocolError/PoolExhausted")({
  _tag: Schema.tag("PoolExhausted")
}) {
  override get message() {
    return "Connection pool exhausted - backpressure limit reached"
  }
}

/**
 * An application-defined failure.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Custom extends Schema.Error<Custom>("network-protocol/ProtocolError/Custom")({
  _tag: Schema.tag("Custom"),
  ...detailed
}) {
  override get message() {
    return `Custom error: ${this.detail}`
  }
}

/**
 * A TLS failure: configuration, certificates, handshake or verification.
 *
 * @category reasons
 * @since 0.1.0
 */
export class TlsError extends Schema.Error<TlsError>("network-protocol/ProtocolError/TlsError")({
  _tag: Schema.tag("TlsError"),
  ...detailed
}) {
  override get message() {
    return `TLS error: ${this.detail}`
  }
}

/**
 * Every reason a `ProtocolError` can carry, in the crate's order.
 *
 * @category models
 * @since 0.1.0
 */
export const Reason = Schema.Union([
  Io,
  Serialization,
  SerializeError,
  DeserializeError,
  SerializationError,
  TransportError,
  ConnectionClosed,
  SecurityError,
  InvalidHeader,
  UnsupportedVersion,
  OversizedPacket,
  DecryptionFailure,
  EncryptionFailure,
  CompressionFailure,
  DecompressionFailure,
  HandshakeError,
  UnexpectedMessage,
  Timeout,
  ConnectionTimeout,
  ConfigError,
  CircuitBreakerOpen,
  PoolExhausted,
  Custom,
  TlsError
])

/**
 * The type of every reason a `ProtocolError` can carry.
 *
 * @category models
 * @since 0.1.0
 */
export type Reason = typeof Reason.Type

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/ProtocolError" as const

/**
 * The error of every protocol operation. Its `message` is the crate's Display
 * text for the reason.
 *
 * @category errors
 * @since 0.1.0
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>(TypeId)("ProtocolError", {
  reason: Reason
}) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: typeof TypeId = TypeId

  override get message(): string {
    return this.reason.message
  }
}

/**
 * Tells whether a value is a `ProtocolError`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isProtocolError = (u: unknown): u is ProtocolError => Predicate.hasProperty(u, TypeId)

/**
 * Wraps a reason in a `ProtocolError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (reason: Reason): ProtocolError => new ProtocolError({ reason })
