/**
 * The 9-byte framing of the baselines, written independently of the library
 * (so the baselines measure sockets, not our codec): 4 magic bytes `NPRO`,
 * version `1`, u32 big-endian payload length, payload.
 *
 * - {@link makeFrame} builds the client's request frame once.
 * - {@link FrameCounter} counts complete reply frames in a byte stream without
 *   copying (the client only needs to know how many arrived).
 * - {@link Replier} is the server side of perf-anchors §1's "framed server":
 *   it parses each request header and builds a **new** reply frame per
 *   request (allocate + copy of the payload), calling `write` for each.
 *
 * @since 0.1.0
 */

/**
 * Frame header size in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const HEADER_SIZE = 9

/**
 * The largest payload accepted, as in the protocol: 16 MiB.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_PAYLOAD = 16 * 1024 * 1024

/**
 * Writes a header for a payload of `length` bytes at `offset`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const writeHeader = (target: Uint8Array, offset: number, length: number): void => {
  target[offset] = 0x4e
  target[offset + 1] = 0x50
  target[offset + 2] = 0x52
  target[offset + 3] = 0x4f
  target[offset + 4] = 1
  target[offset + 5] = length >>> 24
  target[offset + 6] = (length >>> 16) & 0xff
  target[offset + 7] = (length >>> 8) & 0xff
  target[offset + 8] = length & 0xff
}

/**
 * A whole frame of `size` bytes (header included, so `size ≥ 9`) with a
 * filler payload.
 *
 * @category encoding
 * @since 0.1.0
 */
export const makeFrame = (size: number): Buffer => {
  if (size < HEADER_SIZE) throw new RangeError(`a frame has at least ${HEADER_SIZE} bytes, got ${size}`)
  const frame = Buffer.alloc(size, 0x61)
  writeHeader(frame, 0, size - HEADER_SIZE)
  return frame
}

/**
 * A whole frame carrying `payload` (so `HEADER_SIZE + payload.length` bytes).
 *
 * @category encoding
 * @since 0.1.0
 */
export const frameOf = (payload: Uint8Array): Buffer => {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length)
  writeHeader(frame, 0, payload.length)
  frame.set(payload, HEADER_SIZE)
  return frame
}

/**
 * Reads and checks a header at `offset`: the payload length, or `-1` if the
 * magic, version or length is invalid.
 *
 * @category decoding
 * @since 0.1.0
 */
export const readHeader = (bytes: Uint8Array, offset: number): number => {
  if (
    bytes[offset] !== 0x4e || bytes[offset + 1] !== 0x50 || bytes[offset + 2] !== 0x52 ||
    bytes[offset + 3] !== 0x4f || bytes[offset + 4] !== 1
  ) return -1
  const length = ((bytes[offset + 5] << 24) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 8) |
    bytes[offset + 8]) >>> 0
  return length > MAX_PAYLOAD ? -1 : length
}

/**
 * Counts complete frames in a chunked byte stream, skipping payloads.
 *
 * @category decoding
 * @since 0.1.0
 */
export class FrameCounter {
  private readonly header = new Uint8Array(HEADER_SIZE)
  private headerFilled = 0
  private bodyLeft = -1

  /** Feeds one chunk; returns the frames it completed, or `-1` for a bad header. */
  feed(chunk: Uint8Array): number {
    let completed = 0
    let offset = 0
    const end = chunk.length
    while (offset < end) {
      if (this.bodyLeft >= 0) {
        const take = Math.min(this.bodyLeft, end - offset)
        this.bodyLeft -= take
        offset += take
        if (this.bodyLeft === 0) {
          completed++
          this.bodyLeft = -1
        }
        continue
      }
      let length: number
      if (this.headerFilled === 0 && end - offset >= HEADER_SIZE) {
        length = readHeader(chunk, offset)
        offset += HEADER_SIZE
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFilled, end - offset)
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled)
        this.headerFilled += take
        offset += take
        if (this.headerFilled < HEADER_SIZE) continue
        this.headerFilled = 0
        length = readHeader(this.header, 0)
      }
      if (length < 0) return -1
      if (length === 0) completed++
      else this.bodyLeft = length
    }
    return completed
  }
}

/**
 * The framed server's per-connection state: turns request bytes into reply
 * frames of the same size, each a fresh buffer.
 *
 * @category server
 * @since 0.1.0
 */
export class Replier {
  private readonly header = Buffer.alloc(HEADER_SIZE)
  private headerFilled = 0
  private reply: Buffer | undefined = undefined
  private filled = 0
  private readonly write: (frame: Buffer) => void

  constructor(write: (frame: Buffer) => void) {
    this.write = write
  }

  /** Feeds one chunk; returns `false` on a bad header (close the connection). */
  feed(chunk: Buffer): boolean {
    let offset = 0
    const end = chunk.length
    while (offset < end) {
      const reply = this.reply
      if (reply !== undefined) {
        const take = Math.min(reply.length - this.filled, end - offset)
        chunk.copy(reply, this.filled, offset, offset + take)
        this.filled += take
        offset += take
        if (this.filled === reply.length) {
          this.reply = undefined
          this.write(reply)
        }
        continue
      }
      let length: number
      if (this.headerFilled === 0 && end - offset >= HEADER_SIZE) {
        length = readHeader(chunk, offset)
        offset += HEADER_SIZE
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFilled, end - offset)
        chunk.copy(this.header, this.headerFilled, offset, offset + take)
        this.headerFilled += take
        offset += take
        if (this.headerFilled < HEADER_SIZE) continue
        this.headerFilled = 0
        length = readHeader(this.header, 0)
      }
      if (length < 0) return false
      const next = Buffer.allocUnsafe(HEADER_SIZE + length)
      writeHeader(next, 0, length)
      if (length === 0) {
        this.write(next)
      } else {
        this.reply = next
        this.filled = HEADER_SIZE
      }
    }
    return true
  }
}
