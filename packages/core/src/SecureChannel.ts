/**
 * The post-handshake stages of the secure stack (SPEC §4): every message
 * travels as one packet whose payload is
 *
 * ```
 * nonce (24 random bytes) ‖ XChaCha20-Poly1305(session key, nonce, bincode(message), no AAD)
 * ```
 *
 * with the 16-byte tag at the end, so a payload is 24 + |bincode| + 16 bytes
 * and the smallest valid one is 44. The same key serves both directions.
 *
 * A {@link SecureChannel} is a per-connection value with synchronous `seal`
 * and `open` returning a `Result`. Sealing encodes the bincode plaintext into
 * a scratch buffer shared by all channels (no allocation, wiped after use)
 * and allocates one buffer per message, the payload, which the AEAD writes
 * straight into after the nonce. Nonces come from pools of random bytes (8
 * nonces at first, doubling up to {@link NONCE_POOL_SIZE}) shared by every
 * channel of a crypto provider, each nonce used once. Opening never throws: a short, tampered or wrongly keyed payload
 * is a `DecryptionFailure`, undecodable plaintext a `Serialization` error, and
 * the channel stays usable — one corrupted frame does not affect the next.
 *
 * {@link sealChannel} and {@link openChannel} are the same operations as
 * `Channel` stages between `PacketCodec.decode` and `PacketCodec.encode`:
 *
 * ```
 * bytes ─► PacketCodec.decode ─► openChannel ─► messages
 * messages ─► sealChannel ─► PacketCodec.encode ─► bytes
 * ```
 *
 * As in the crate there is no replay, reordering or reflection protection
 * inside a session (SPEC §15.1 #4): nonces are random and carry no sequence.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Crypto from "./Crypto.ts"
import * as Bytes from "./internal/bytes.ts"
import type * as Message from "./Message.ts"
import * as MessageCodec from "./MessageCodec.ts"
import * as Packet from "./Packet.ts"
import * as ProtocolError from "./ProtocolError.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/SecureChannel" as const

/**
 * The overhead of a secure payload over its bincode plaintext: a 24-byte nonce
 * and a 16-byte tag.
 *
 * @category constants
 * @since 0.1.0
 */
export const OVERHEAD = Crypto.NONCE_SIZE + Crypto.TAG_SIZE

/**
 * The smallest payload that can authenticate (an empty plaintext): 40 bytes.
 * Anything shorter is a `DecryptionFailure` without touching the cipher.
 *
 * @category constants
 * @since 0.1.0
 */
export const MIN_PAYLOAD_SIZE = OVERHEAD

/**
 * The most nonces the default nonce source draws from the random generator at
 * once (its first pools are smaller: 8, 16, 32, …).
 *
 * @category constants
 * @since 0.1.0
 */
export const NONCE_POOL_SIZE = 128

/** How many nonces the first pool of a channel holds. */
const FIRST_NONCE_POOL_SIZE = 8

/**
 * Plaintexts are encoded in one buffer shared by every channel of the process
 * (sealing is synchronous), grown on demand up to this many bytes (1 MiB);
 * bigger ones get a buffer of their own.
 */
const MAX_SCRATCH_SIZE = 1024 * 1024
let scratch = new Uint8Array(4096)
/** V8 keeps typed arrays of up to 64 bytes inside its heap. */
const SMALL_PAYLOAD_SIZE = 64
/** Where small payloads are sealed before being copied out (outside the V8 heap; shared, like `scratch`). */
const smallScratch = new Uint8Array(new ArrayBuffer(SMALL_PAYLOAD_SIZE))
const EMPTY: Uint8Array = new Uint8Array(0)

/**
 * Writes a fresh 24-byte nonce into `out` (a view into the payload being built).
 *
 * @category models
 * @since 0.1.0
 */
export type NonceSource = (out: Uint8Array) => void

/**
 * Options of a secure channel.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Where nonces come from. Default: random, drawn in pools of up to
   * {@link NONCE_POOL_SIZE} shared by the provider's channels. Override only for reproducible tests — a repeated
   * nonce under one key breaks XChaCha20-Poly1305.
   */
  readonly nonceSource?: NonceSource | undefined
}

/**
 * The secure stages of one connection, bound to its session key.
 *
 * @category models
 * @since 0.1.0
 */
export interface SecureChannel extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  /**
   * Encrypts a message into a packet. Fails with `SerializeError` for a
   * message that cannot be encoded, `EncryptionFailure` once destroyed.
   */
  readonly seal: (message: Message.Message) => Result.Result<Packet.Packet, ProtocolError.ProtocolError>
  /**
   * Decrypts a packet into a message. Fails with `DecryptionFailure` (short,
   * tampered, wrong key, or destroyed) or `Serialization` (undecodable
   * plaintext); never throws. The `payload` of a `Custom` message is a view
   * into a fresh plaintext buffer, never into the packet.
   */
  readonly open: (packet: Packet.Packet) => Result.Result<Message.Message, ProtocolError.ProtocolError>
  /** Whether {@link SecureChannel.destroy} has been called. */
  readonly destroyed: boolean
  /** Drops the cipher; later `seal`/`open` calls fail. Idempotent. */
  readonly destroy: () => void
}

/**
 * Tells whether a value is a `SecureChannel`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isSecureChannel = (u: unknown): u is SecureChannel => Predicate.hasProperty(u, TypeId)

/**
 * Random nonces drawn from the provider in pools, each handed out once. The
 * first pool is drawn with the first message and holds
 * {@link FIRST_NONCE_POOL_SIZE} nonces; each next one is twice as big, up to
 * {@link NONCE_POOL_SIZE}.
 */
const pooledNonces = (crypto: Crypto.Crypto["Service"]): NonceSource => {
  let nonces = FIRST_NONCE_POOL_SIZE / 2
  let pool: Uint8Array = EMPTY
  let offset = 0
  return (out) => {
    if (offset === pool.length) {
      nonces = Math.min(nonces * 2, NONCE_POOL_SIZE)
      pool = crypto.randomBytes(nonces * Crypto.NONCE_SIZE)
      offset = 0
    }
    for (let i = 0; i < Crypto.NONCE_SIZE; i++) {
      out[i] = pool[offset + i]
      // Not secret, but never let a nonce be handed out twice.
      pool[offset + i] = 0
    }
    offset += Crypto.NONCE_SIZE
  }
}

/**
 * One nonce pool per provider, shared by every channel made with it: nonces
 * are independent random values, each handed out once whatever the channel,
 * so an idle connection holds no pool of its own and a short one draws no
 * random bytes of its own.
 */
const sharedNonces = new WeakMap<Crypto.Crypto["Service"], NonceSource>()

const noncesOf = (crypto: Crypto.Crypto["Service"]): NonceSource => {
  let source = sharedNonces.get(crypto)
  if (source === undefined) {
    source = pooledNonces(crypto)
    sharedNonces.set(crypto, source)
  }
  return source
}

const decryptionFailure = () => Result.fail(ProtocolError.make(new ProtocolError.DecryptionFailure()))

class SecureChannelImpl implements SecureChannel {
  pipe() {
    return Pipeable.pipeArguments(this, arguments)
  }

  readonly [TypeId] = TypeId
  private aead: Crypto.Aead | undefined
  private readonly nonceSource: NonceSource

  constructor(aead: Crypto.Aead, nonceSource: NonceSource) {
    this.aead = aead
    this.nonceSource = nonceSource
  }

  get destroyed(): boolean {
    return this.aead === undefined
  }

  seal(message: Message.Message): Result.Result<Packet.Packet, ProtocolError.ProtocolError> {
    const aead = this.aead
    if (aead === undefined) return Result.fail(ProtocolError.make(new ProtocolError.EncryptionFailure()))
    // bincode into the shared scratch space (a one-off buffer for huge messages)
    let plaintext = scratch
    let end = MessageCodec.encodeInto(message, plaintext, 0)
    if (end === -1) {
      const needed = MessageCodec.maxEncodedSize(message)
      if (needed <= MAX_SCRATCH_SIZE) {
        scratch = new Uint8Array(Math.min(MAX_SCRATCH_SIZE, Math.max(needed, 2 * scratch.length)))
        plaintext = scratch
      } else {
        plaintext = new Uint8Array(needed)
      }
      end = MessageCodec.encodeInto(message, plaintext, 0)
    }
    if (typeof end !== "number") return Result.fail(end)
    const payloadSize = OVERHEAD + end
    // every byte is written below (nonce, then ciphertext and tag)
    const payload = Bytes.allocExact(payloadSize)
    try {
      if (payloadSize > SMALL_PAYLOAD_SIZE) {
        // the AEAD writes straight into the payload, after the nonce
        const nonce = payload.subarray(0, Crypto.NONCE_SIZE)
        this.nonceSource(nonce)
        aead.seal(nonce, plaintext.subarray(0, end), undefined, payload.subarray(Crypto.NONCE_SIZE))
      } else {
        // V8 keeps arrays this small in its heap and must move one out the
        // first time native code sees it (costlier than the copy): seal into
        // reused off-heap space, then copy into the payload.
        const sealed = smallScratch.subarray(0, payloadSize)
        const nonce = sealed.subarray(0, Crypto.NONCE_SIZE)
        this.nonceSource(nonce)
        aead.seal(nonce, plaintext.subarray(0, end), undefined, sealed.subarray(Crypto.NONCE_SIZE))
        payload.set(sealed)
      }
    } finally {
      // the scratch space outlives the message: leave no plaintext in it
      plaintext.fill(0, 0, end)
    }
    return Result.succeed(Packet.make(payload))
  }

  open(packet: Packet.Packet): Result.Result<Message.Message, ProtocolError.ProtocolError> {
    const aead = this.aead
    const payload = packet.payload
    if (aead === undefined || payload.length < MIN_PAYLOAD_SIZE) return decryptionFailure()
    const plaintext = aead.open(payload.subarray(0, Crypto.NONCE_SIZE), payload.subarray(Crypto.NONCE_SIZE))
    if (plaintext === undefined) return decryptionFailure()
    return MessageCodec.decode(plaintext)
  }

  readonly destroy = (): void => {
    this.aead = undefined
  }
}

/**
 * A secure channel for one connection, with an explicit crypto provider.
 *
 * The key is not kept: the provider's cipher takes its own copy, so the
 * caller may wipe `key` as soon as this returns. Throws a `RangeError` if the
 * key is not 32 bytes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (
  crypto: Crypto.Crypto["Service"],
  key: Uint8Array,
  options?: Options
): SecureChannel => new SecureChannelImpl(crypto.aead(key), options?.nonceSource ?? noncesOf(crypto))

/**
 * A secure channel using the `Crypto` service, destroyed when the scope closes.
 * See {@link makeUnsafe} about the key.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  key: Uint8Array,
  options?: Options
): Effect.Effect<SecureChannel, never, Crypto.Crypto | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Crypto.Crypto, (crypto) => makeUnsafe(crypto, key, options)),
    (channel) => Effect.sync(channel.destroy)
  )

/**
 * A channel stage sealing batches of messages into batches of packets (same
 * order, same batching). Fails with the first message that cannot be sealed.
 *
 * @category channels
 * @since 0.1.0
 */
export const sealChannel = <E = never, Done = void>(
  channel: SecureChannel
): Channel.Channel<
  Arr.NonEmptyReadonlyArray<Packet.Packet>,
  ProtocolError.ProtocolError | E,
  Done,
  Arr.NonEmptyReadonlyArray<Message.Message>,
  E,
  Done
> =>
  Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Message.Message>, E, Done>) =>
    Effect.succeed(Effect.flatMap(upstream, (messages) => {
      const packets = new Array<Packet.Packet>(messages.length)
      for (let i = 0; i < messages.length; i++) {
        const sealed = channel.seal(messages[i])
        if (Result.isFailure(sealed)) return Effect.fail(sealed.failure)
        packets[i] = sealed.success
      }
      return Effect.succeed(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
    }))
  )

/**
 * A channel stage opening batches of packets into batches of messages.
 * Messages opened before a bad packet are emitted first; the bad packet's
 * error (`DecryptionFailure` or `Serialization`) then fails the next pull —
 * the crate closes the connection at that point too.
 *
 * @category channels
 * @since 0.1.0
 */
export const openChannel = <E = never, Done = void>(
  channel: SecureChannel
): Channel.Channel<
  Arr.NonEmptyReadonlyArray<Message.Message>,
  ProtocolError.ProtocolError | E,
  Done,
  Arr.NonEmptyReadonlyArray<Packet.Packet>,
  E,
  Done
> =>
  Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Packet.Packet>, E, Done>) =>
    Effect.sync(() => {
      let stashed: ProtocolError.ProtocolError | undefined
      const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError | E, Done> =
        Effect.suspend(() => {
          if (stashed !== undefined) return Effect.fail(stashed)
          return Effect.flatMap(upstream, (packets) => {
            const messages: Array<Message.Message> = []
            for (let i = 0; i < packets.length; i++) {
              const opened = channel.open(packets[i])
              if (Result.isFailure(opened)) {
                if (messages.length === 0) return Effect.fail(opened.failure)
                stashed = opened.failure
                break
              }
              messages.push(opened.success)
            }
            return Effect.succeed(messages as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
          })
        })
      return pull
    })
  )
