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
 * Turns messages into packets and back: a `SecureChannel`, the extended
 * profile's envelope, or plain bincode inside TLS. `open` gives `undefined`
 * for a packet to skip (the plain profile skips payloads that do not decode).
 *
 * @internal
 */
export interface Sealer {
  readonly seal: (message: Message.Message) => Result.Result<Packet.Packet, ProtocolError.ProtocolError>
  readonly open: (packet: Packet.Packet) => Result.Result<Message.Message | undefined, ProtocolError.ProtocolError>
}

/**
 * A session's synchronous side, for serving it from socket events (the
 * daemon): the connection's push side, the session's sealer, and the packets
 * read after the handshake that the session has not delivered yet.
 *
 * @internal
 */
export interface Wire {
  readonly push: Connection.Push
  readonly sealer: Sealer
  readonly pending: ReadonlyArray<Packet.Packet>
}

/**
 * The wire of a session, if it has one (a session of this module over a
 * connection with a push side). It takes over the session's pending packets:
 * call it once, to serve the session from then on.
 *
 * @internal
 */
export const wireOf = (session: Session.Session): Wire | undefined =>
  session instanceof SealedSessionImpl ? session.wire() : undefined

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
 * A session over a sealer: one object per session, its methods on the
 * prototype.
 */
class SealedSessionImpl implements Session.Session {
  readonly info: Session.Info
  private readonly connection: Connection.Connection
  private readonly push: Connection.Push | undefined
  private readonly sealer: Sealer
  private leftover: ReadonlyArray<Packet.Packet>
  private stashed: ProtocolError.ProtocolError | undefined = undefined
  /** The handshake's last message, when it goes out with the first send (see {@link fromSealerAfter}). */
  private unsent: Packet.Packet | undefined = undefined

  constructor(
    connection: Connection.Connection,
    sealer: Sealer,
    pending: ReadonlyArray<Packet.Packet>,
    profile: Session.Info["profile"]
  ) {
    this.connection = connection
    this.push = Connection.push(connection)
    this.sealer = sealer
    this.leftover = pending
    this.info = {
      transport: connection.info.transport,
      remoteAddress: connection.info.remoteAddress,
      localAddress: connection.info.localAddress,
      profile
    }
  }

  wire(): Wire | undefined {
    const push = this.push
    if (push === undefined) return undefined
    const pending = this.leftover
    this.leftover = []
    return { push, sealer: this.sealer, pending }
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
      if (opened.success !== undefined) messages.push(opened.success)
    }
    // every packet skipped: read on
    if (messages.length === 0) return this.receive
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
  holdUntilFirstSend(packet: Packet.Packet, push: Connection.Push): void {
    this.unsent = packet
    setImmediate(() => {
      const unsent = this.unsent
      if (unsent === undefined) return
      this.unsent = undefined
      // a failure shows on the next receive or send, as the socket's error
      push.write([unsent])
    })
  }

  get close(): Effect.Effect<void> {
    return this.connection.close
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
): Session.Session => new SealedSessionImpl(connection, sealer, pending, profile)

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
  const session = new SealedSessionImpl(connection, sealer, pending, profile)
  const push = Connection.push(connection)
  if (push === undefined) return Effect.as(connection.send([last]), session)
  session.holdUntilFirstSend(last, push)
  return Effect.succeed(session)
}
