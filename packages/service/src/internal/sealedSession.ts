/**
 * What every sealed session (the crate's secure profile and the extended
 * profile) shares: reading a handshake one packet at a time, and a session
 * over a `Sealer` that turns messages into packets and back.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Message from "@network-protocol/core/Message"
import type * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Connection from "@network-protocol/transport/Connection"
import type * as Session from "../Session.ts"

/**
 * Seals messages into packets and opens them back (a `SecureChannel`, or the
 * extended profile's envelope).
 *
 * @internal
 */
export interface Sealer {
  readonly seal: (message: Message.Message) => Result.Result<Packet.Packet, ProtocolError.ProtocolError>
  readonly open: (packet: Packet.Packet) => Result.Result<Message.Message, ProtocolError.ProtocolError>
}

/**
 * A session's synchronous side, for serving it from socket events (the
 * daemon): the connection's push side and the session's own packet ⇄ message
 * conversions. Only sessions over a connection with a push side have one.
 *
 * @internal
 */
export interface Wire {
  readonly push: Connection.Push
  /** The message in a packet, `undefined` to skip the packet, or the error that ends the session. */
  readonly open: (packet: Packet.Packet) => Result.Result<Message.Message | undefined, ProtocolError.ProtocolError>
  readonly seal: (message: Message.Message) => Result.Result<Packet.Packet, ProtocolError.ProtocolError>
  /** Packets read before the session started (after the handshake), handed out once. */
  readonly takePending: () => ReadonlyArray<Packet.Packet>
}

const kWire: unique symbol = Symbol.for("network-protocol/service/SessionWire")

interface WithWire {
  readonly [kWire]?: Wire | undefined
}

/**
 * The wire of a session, if it has one.
 *
 * @internal
 */
export const wireOf = (session: Session.Session): Wire | undefined => (session as Session.Session & WithWire)[kWire]

/**
 * A session with its wire attached, when its connection has a push side.
 *
 * @internal
 */
export const withWire = (
  session: Session.Session,
  connection: Connection.Connection,
  make: (push: Connection.Push) => Wire
): Session.Session => {
  const push = Connection.push(connection)
  if (push === undefined) return session
  const withWire: Session.Session & WithWire = { ...session, [kWire]: make(push) }
  return withWire
}

/**
 * Reads one packet at a time during a handshake, keeping what comes after
 * (a peer may send its first sealed packets in the same batch as its last
 * handshake message).
 *
 * @internal
 */
export const packetReader = (connection: Connection.Connection) => {
  let buffered: Array<Packet.Packet> = []
  return {
    next: Effect.suspend((): Effect.Effect<Packet.Packet, ProtocolError.ProtocolError> => {
      const first = buffered.shift()
      if (first !== undefined) return Effect.succeed(first)
      return Effect.map(connection.receive, (packets) => {
        buffered = packets.slice(1)
        return packets[0]
      })
    }),
    drain: (): ReadonlyArray<Packet.Packet> => {
      const rest = buffered
      buffered = []
      return rest
    }
  }
}

/**
 * A session over a sealer: one object per session (its methods on the
 * prototype), which is also the session's wire when the connection has a
 * push side.
 */
class SealedSessionImpl implements Session.Session, Wire {
  readonly info: Session.Info
  readonly push: Connection.Push
  readonly [kWire]: Wire | undefined
  private readonly connection: Connection.Connection
  private readonly sealer: Sealer
  private leftover: ReadonlyArray<Packet.Packet>
  private stashed: ProtocolError.ProtocolError | undefined = undefined
  /** The handshake's last message, when it goes out with the first send (see {@link fromSealer}). */
  private unsent: Packet.Packet | undefined = undefined

  constructor(
    connection: Connection.Connection,
    sealer: Sealer,
    pending: ReadonlyArray<Packet.Packet>,
    profile: Session.Info["profile"],
    push: Connection.Push | undefined
  ) {
    this.connection = connection
    this.sealer = sealer
    this.leftover = pending
    this.push = push as Connection.Push
    this[kWire] = push === undefined ? undefined : this
    this.info = {
      transport: connection.info.transport,
      remoteAddress: connection.info.remoteAddress,
      localAddress: connection.info.localAddress,
      profile
    }
  }

  private openAll(
    packets: ReadonlyArray<Packet.Packet>
  ): Effect.Effect<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError> {
    const messages: Array<Message.Message> = []
    for (let i = 0; i < packets.length; i++) {
      const opened = this.sealer.open(packets[i])
      if (Result.isFailure(opened)) {
        if (messages.length === 0) return Effect.fail(opened.failure)
        this.stashed = opened.failure
        break
      }
      messages.push(opened.success)
    }
    return Effect.succeed(messages as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
  }

  get receive(): Effect.Effect<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError> {
    return Effect.suspend(() => {
      if (this.stashed !== undefined) return Effect.fail(this.stashed)
      if (this.leftover.length === 0) return Effect.flatMap(this.connection.receive, (packets) => this.openAll(packets))
      const packets = this.leftover
      this.leftover = []
      return this.openAll(packets)
    })
  }

  send(messages: Arr.NonEmptyReadonlyArray<Message.Message>): Effect.Effect<void, ProtocolError.ProtocolError> {
    return Effect.suspend(() => {
      const unsent = this.unsent
      const offset = unsent === undefined ? 0 : 1
      const packets = new Array<Packet.Packet>(messages.length + offset)
      if (unsent !== undefined) packets[0] = unsent
      for (let i = 0; i < messages.length; i++) {
        const sealed = this.sealer.seal(messages[i])
        if (Result.isFailure(sealed)) return Effect.fail(sealed.failure)
        packets[i + offset] = sealed.success
      }
      this.unsent = undefined
      return this.connection.send(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
    })
  }

  /**
   * Holds the handshake's last message until the first send of this tick,
   * so that both leave in one write; it is written alone at the end of the
   * tick if nothing was sent.
   */
  holdUntilFirstSend(packet: Packet.Packet): void {
    this.unsent = packet
    setImmediate(() => {
      const unsent = this.unsent
      if (unsent === undefined) return
      this.unsent = undefined
      // a failure shows on the next receive or send, as the socket's error
      this.push.write([unsent])
    })
  }

  get close(): Effect.Effect<void> {
    return this.connection.close
  }

  open(packet: Packet.Packet): Result.Result<Message.Message, ProtocolError.ProtocolError> {
    return this.sealer.open(packet)
  }

  seal(message: Message.Message): Result.Result<Packet.Packet, ProtocolError.ProtocolError> {
    return this.sealer.seal(message)
  }

  takePending(): ReadonlyArray<Packet.Packet> {
    const packets = this.leftover
    this.leftover = []
    return packets
  }
}

/**
 * A session over a sealer. `pending` are packets read during the handshake
 * that come after it. A packet that fails to open after good ones in the same
 * batch: the good ones are delivered first, the error fails the next `receive`.
 *
 * @internal
 */
export const fromSealer = (
  connection: Connection.Connection,
  sealer: Sealer,
  pending: ReadonlyArray<Packet.Packet>,
  profile: Session.Info["profile"]
): Session.Session => new SealedSessionImpl(connection, sealer, pending, profile, Connection.push(connection))

/**
 * A client's session whose handshake ends with a message the server does not
 * answer (the crate's Confirm): that message is sent with the first messages
 * of the session when they are sent in the same tick (one write, one wake-up
 * of the server instead of two), or alone at the end of the tick. Over a
 * connection without a push side it is sent at once.
 *
 * @internal
 */
export const fromSealerAfter = (
  connection: Connection.Connection,
  last: Packet.Packet,
  sealer: Sealer,
  pending: ReadonlyArray<Packet.Packet>,
  profile: Session.Info["profile"]
): Effect.Effect<Session.Session, ProtocolError.ProtocolError> => {
  const push = Connection.push(connection)
  if (push === undefined) {
    return Effect.as(connection.send([last]), new SealedSessionImpl(connection, sealer, pending, profile, push))
  }
  const session = new SealedSessionImpl(connection, sealer, pending, profile, push)
  session.holdUntilFirstSend(last)
  return Effect.succeed(session)
}
