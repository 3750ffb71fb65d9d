/**
 * Incremental packet framing: bytes in any chunking ⇄ `Packet`s.
 *
 * The decoder checks magic, version and the declared length as soon as the
 * header bytes arrive (the crate checks them only after buffering the whole
 * announced body), so a peer announcing 4 GiB is refused before a body byte is
 * held. Decoding is O(total bytes): a payload that lies inside one input chunk
 * is handed out as a view with no copy, and a payload split across chunks is
 * copied exactly once into a buffer of its exact size.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Bytes from "./internal/bytes.ts"
import * as Packet from "./Packet.ts"
import * as ProtocolError from "./ProtocolError.ts"

/**
 * Options of the decoder.
 *
 * @category models
 * @since 0.1.0
 */
export interface DecoderOptions {
  /** The largest accepted payload in bytes, inclusive. Default 16 MiB. */
  readonly maxPayloadSize?: number | undefined
}

const EMPTY = new Uint8Array(0)

/**
 * A stateful, push-style frame decoder for one byte stream. It is the
 * allocation-light core of the `decode` channel, usable directly on a hot path.
 *
 * @category models
 * @since 0.1.0
 */
export class PacketDecoder {
  /** The largest accepted payload in bytes. */
  readonly maxPayloadSize: number
  private readonly header = new Uint8Array(Packet.HEADER_SIZE)
  private headerFilled = 0
  private body: Uint8Array | undefined = undefined
  private bodyFilled = 0
  private failure: ProtocolError.ProtocolError | undefined = undefined

  constructor(options?: DecoderOptions) {
    this.maxPayloadSize = options?.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
  }

  /**
   * Bytes of an incomplete frame currently held.
   */
  get buffered(): number {
    return this.body === undefined ? this.headerFilled : Packet.HEADER_SIZE + this.bodyFilled
  }

  /**
   * Feeds one chunk and appends every frame it completes to `out`. Returns the
   * error that makes the stream undecodable; once failed, the decoder keeps
   * returning that error.
   */
  feed(chunk: Uint8Array, out: Array<Packet.Packet>): ProtocolError.ProtocolError | undefined {
    if (this.failure !== undefined) return this.failure
    const end = chunk.length
    let offset = 0
    while (offset < end) {
      if (this.body !== undefined) {
        const body = this.body
        const take = Math.min(body.length - this.bodyFilled, end - offset)
        body.set(chunk.subarray(offset, offset + take), this.bodyFilled)
        this.bodyFilled += take
        offset += take
        if (this.bodyFilled === body.length) {
          out.push({ version: Packet.VERSION, payload: body })
          this.body = undefined
        }
        continue
      }
      let length: number | ProtocolError.ProtocolError
      if (this.headerFilled === 0 && end - offset >= Packet.HEADER_SIZE) {
        length = Packet.checkHeader(chunk, offset, Packet.HEADER_SIZE, this.maxPayloadSize)
        offset += Packet.HEADER_SIZE
      } else {
        const take = Math.min(Packet.HEADER_SIZE - this.headerFilled, end - offset)
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled)
        this.headerFilled += take
        offset += take
        length = Packet.checkHeader(this.header, 0, this.headerFilled, this.maxPayloadSize)
        if (length === -1) continue
        this.headerFilled = 0
      }
      if (typeof length !== "number") {
        this.failure = length
        return length
      }
      if (length === 0) {
        out.push({ version: Packet.VERSION, payload: EMPTY })
      } else if (end - offset >= length) {
        out.push({ version: Packet.VERSION, payload: chunk.subarray(offset, offset + length) })
        offset += length
      } else {
        // every byte is written before the packet is handed out
        this.body = Bytes.allocExact(length)
        this.bodyFilled = 0
      }
    }
    return undefined
  }
}

/**
 * Makes a decoder for one byte stream.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDecoder = (options?: DecoderOptions): PacketDecoder => new PacketDecoder(options)

const truncated = (buffered: number) =>
  ProtocolError.make(
    new ProtocolError.Io({ detail: `stream ended in the middle of a frame (${buffered} bytes remaining on stream)` })
  )

/**
 * A channel from byte chunks to packets. Frames decoded before an error are
 * emitted first; the error fails the next pull. A stream that ends inside a
 * frame fails with an `Io` reason, as the crate's decoder does.
 *
 * @category channels
 * @since 0.1.0
 */
export const decode = <E = never, Done = void>(
  options?: DecoderOptions
): Channel.Channel<
  Arr.NonEmptyReadonlyArray<Packet.Packet>,
  ProtocolError.ProtocolError | E,
  Done,
  Arr.NonEmptyReadonlyArray<Uint8Array>,
  E,
  Done
> =>
  Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E, Done>) =>
    Effect.sync(() => {
      const decoder = new PacketDecoder(options)
      let stashed: ProtocolError.ProtocolError | undefined
      const onDone = (leftover: unknown): Effect.Effect<never, ProtocolError.ProtocolError | Cause.Done<Done>> =>
        decoder.buffered > 0 ? Effect.fail(truncated(decoder.buffered)) : Cause.done(leftover as Done)
      const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Packet.Packet>, ProtocolError.ProtocolError | E, Done> = Effect
        .suspend(() => {
          if (stashed !== undefined) return Effect.fail(stashed)
          return upstream.pipe(
            Pull.catchDone(onDone),
            Effect.flatMap((chunks) => {
              const out: Array<Packet.Packet> = []
              for (let i = 0; i < chunks.length; i++) {
                const error = decoder.feed(chunks[i], out)
                if (error !== undefined) {
                  if (out.length === 0) return Effect.fail(error)
                  stashed = error
                  break
                }
              }
              return out.length > 0 ? Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>) : pull
            })
          )
        })
      return pull
    })
  )

/**
 * Encodes a batch of packets into one buffer (one write for the batch).
 * Fails with `OversizedPacket` if a payload exceeds `maxPayloadSize`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeAll = (
  packets: ReadonlyArray<Packet.Packet>,
  maxPayloadSize: number = Packet.MAX_PAYLOAD_SIZE
): Uint8Array | ProtocolError.ProtocolError => {
  let total = 0
  for (let i = 0; i < packets.length; i++) {
    const size = packets[i].payload.length
    if (size > maxPayloadSize) return ProtocolError.make(new ProtocolError.OversizedPacket({ size }))
    total += Packet.HEADER_SIZE + size
  }
  // uninitialised: the loop below writes every byte
  const out = Bytes.view(Bytes.allocUnsafe(total), 0, total)
  let offset = 0
  for (let i = 0; i < packets.length; i++) {
    const payload = packets[i].payload
    Packet.writeHeader(out, offset, payload.length)
    out.set(payload, offset + Packet.HEADER_SIZE)
    offset += Packet.HEADER_SIZE + payload.length
  }
  return out
}

/**
 * A channel from packets to byte chunks: each input batch becomes one buffer.
 *
 * @category channels
 * @since 0.1.0
 */
export const encode = <E = never, Done = void>(
  options?: DecoderOptions
): Channel.Channel<
  Arr.NonEmptyReadonlyArray<Uint8Array>,
  ProtocolError.ProtocolError | E,
  Done,
  Arr.NonEmptyReadonlyArray<Packet.Packet>,
  E,
  Done
> => {
  const max = options?.maxPayloadSize ?? Packet.MAX_PAYLOAD_SIZE
  return Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Packet.Packet>, E, Done>) =>
    Effect.succeed(Effect.flatMap(upstream, (packets) => {
      const bytes = encodeAll(packets, max)
      return bytes instanceof Uint8Array ? Effect.succeed([bytes] as const) : Effect.fail(bytes)
    }))
  )
}
