/**
 * One frame of the wire format (SPEC §1): magic `NPRO`, version `1`, a u32
 * big-endian payload length, then the payload.
 *
 * ```
 * offset 0  4E 50 52 4F   magic "NPRO"
 * offset 4  01            version
 * offset 5  u32 BE        payload length N (0 ≤ N ≤ 16 MiB, inclusive)
 * offset 9  N bytes       payload
 * ```
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as ProtocolError from "./ProtocolError.ts"

/**
 * The magic bytes every frame starts with: ASCII `NPRO`.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAGIC: Uint8Array = new Uint8Array([0x4e, 0x50, 0x52, 0x4f])

/**
 * The protocol version written in every frame.
 *
 * @category constants
 * @since 0.1.0
 */
export const VERSION = 1

/**
 * Size of the frame header in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const HEADER_SIZE = 9

/**
 * The largest payload the crate accepts, inclusive: 16 MiB.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_PAYLOAD_SIZE = 16 * 1024 * 1024

/**
 * A decoded frame. `payload` may be a view into the bytes it was decoded from:
 * copy it (`slice()`) before keeping it beyond the current message.
 *
 * @category models
 * @since 0.1.0
 */
export interface Packet {
  readonly version: number
  readonly payload: Uint8Array
}

/**
 * Makes a packet with version 1.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (payload: Uint8Array): Packet => ({ version: VERSION, payload })

/**
 * Checks the header bytes that are available in `bytes[offset, offset + available)`,
 * in the crate's order (magic, version, length), as soon as each is present. Returns
 * the payload length once all 9 bytes are there, `-1` while more are needed, or a
 * `ProtocolError`.
 *
 * This is what lets the decoder reject a bad peer after its first wrong byte
 * instead of after buffering a whole announced body.
 *
 * @category decoding
 * @since 0.1.0
 */
export const checkHeader = (
  bytes: Uint8Array,
  offset: number,
  available: number,
  maxPayloadSize: number
): number | ProtocolError.ProtocolError => {
  const magicBytes = available < 4 ? available : 4
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[offset + i] !== MAGIC[i]) return ProtocolError.make(new ProtocolError.InvalidHeader())
  }
  if (available < 5) return -1
  const version = bytes[offset + 4]
  if (version !== VERSION) return ProtocolError.make(new ProtocolError.UnsupportedVersion({ version }))
  if (available < HEADER_SIZE) return -1
  const length = ((bytes[offset + 5] << 24) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 8) |
    bytes[offset + 8]) >>> 0
  if (length > maxPayloadSize) return ProtocolError.make(new ProtocolError.OversizedPacket({ size: length }))
  return length
}

/**
 * Writes the 9-byte header for a payload of `length` bytes at `offset`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const writeHeader = (target: Uint8Array, offset: number, length: number): void => {
  target[offset] = 0x4e
  target[offset + 1] = 0x50
  target[offset + 2] = 0x52
  target[offset + 3] = 0x4f
  target[offset + 4] = VERSION
  target[offset + 5] = length >>> 24
  target[offset + 6] = (length >>> 16) & 0xff
  target[offset + 7] = (length >>> 8) & 0xff
  target[offset + 8] = length & 0xff
}

/**
 * Encodes one frame. Like the crate's encoder it always writes version 1,
 * whatever `packet.version` says.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (packet: Packet): Uint8Array => {
  const out = new Uint8Array(HEADER_SIZE + packet.payload.length)
  writeHeader(out, 0, packet.payload.length)
  out.set(packet.payload, HEADER_SIZE)
  return out
}

/**
 * Decodes exactly one whole frame. Unlike the crate's `Packet::from_bytes`, the
 * declared length must match the bytes given: a truncated body or surplus bytes
 * are `InvalidHeader`. The payload is a view into `bytes`.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decode = (
  bytes: Uint8Array,
  maxPayloadSize: number = MAX_PAYLOAD_SIZE
): Result.Result<Packet, ProtocolError.ProtocolError> => {
  if (bytes.length < HEADER_SIZE) return Result.fail(ProtocolError.make(new ProtocolError.InvalidHeader()))
  const length = checkHeader(bytes, 0, HEADER_SIZE, maxPayloadSize)
  if (typeof length !== "number") return Result.fail(length)
  if (bytes.length !== HEADER_SIZE + length) {
    return Result.fail(ProtocolError.make(new ProtocolError.InvalidHeader()))
  }
  return Result.succeed({ version: VERSION, payload: bytes.subarray(HEADER_SIZE) })
}
