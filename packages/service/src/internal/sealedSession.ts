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
import type * as Connection from "@network-protocol/transport/Connection"
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
): Session.Session => {
  let leftover = pending
  let stashed: ProtocolError.ProtocolError | undefined = undefined
  const openAll = (
    packets: ReadonlyArray<Packet.Packet>
  ): Effect.Effect<Arr.NonEmptyReadonlyArray<Message.Message>, ProtocolError.ProtocolError> => {
    const messages: Array<Message.Message> = []
    for (let i = 0; i < packets.length; i++) {
      const opened = sealer.open(packets[i])
      if (Result.isFailure(opened)) {
        if (messages.length === 0) return Effect.fail(opened.failure)
        stashed = opened.failure
        break
      }
      messages.push(opened.success)
    }
    return Effect.succeed(messages as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
  }
  const receiveOpened = Effect.flatMap(connection.receive, openAll)
  return {
    receive: Effect.suspend(() => {
      if (stashed !== undefined) return Effect.fail(stashed)
      if (leftover.length === 0) return receiveOpened
      const packets = leftover
      leftover = []
      return openAll(packets)
    }),
    send: (messages) =>
      Effect.suspend(() => {
        const packets = new Array<Packet.Packet>(messages.length)
        for (let i = 0; i < messages.length; i++) {
          const sealed = sealer.seal(messages[i])
          if (Result.isFailure(sealed)) return Effect.fail(sealed.failure)
          packets[i] = sealed.success
        }
        return connection.send(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
      }),
    info: {
      transport: connection.info.transport,
      remoteAddress: connection.info.remoteAddress,
      localAddress: connection.info.localAddress,
      profile
    },
    close: connection.close
  }
}
