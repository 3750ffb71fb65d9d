/**
 * Loopback servers and relays for the extended-profile tests: an echo server
 * that reports how each session ended, and a packet-level relay forwarding
 * (or rewriting, dropping, reflecting) each packet, for tests of what a man
 * in the middle can and cannot do.
 */
import { assert } from "@effect/vitest"
import type * as Crypto from "@network-protocol/core/Crypto"
import type * as Message from "@network-protocol/core/Message"
import type * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as ReplayCache from "@network-protocol/core/ReplayCache"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type * as ExtendedSession from "../src/ExtendedSession.ts"
import type * as Session from "../src/Session.ts"

const host = "127.0.0.1"

/** Which way a packet goes. */
export type Direction = "c2s" | "s2c"

/** A packet to deliver, and to whom. */
export interface Routed {
  readonly to: "server" | "client"
  readonly packet: Packet.Packet
}

/** Decides what a relay forwards for the `index`-th packet going `direction`. */
export type Rewrite = (direction: Direction, index: number, packet: Packet.Packet) => ReadonlyArray<Routed>

/** Forwards the packet unchanged. */
export const forward = (direction: Direction, packet: Packet.Packet): ReadonlyArray<Routed> => [
  { to: direction === "c2s" ? "server" : "client", packet }
]

/** A packet-level relay between clients and the server at `target`; returns its port. */
export const packetRelay = (target: number, rewrite: Rewrite) =>
  Effect.gen(function*() {
    const relay = yield* Tcp.listen({ host, port: 0 })
    yield* Effect.forkScoped(relay.run((client) =>
      Effect.gen(function*() {
        const server = yield* Tcp.connect({ host, port: target })
        const counters = { c2s: 0, s2c: 0 }
        const pump = (from: Connection.Connection, direction: Direction) =>
          Effect.forever(Effect.flatMap(from.receive, (packets) =>
            Effect.forEach(packets, (packet) =>
              Effect.forEach(rewrite(direction, counters[direction]++, packet), ({ packet, to }) =>
                (to === "server" ? server : client).send([packet]), { discard: true }), { discard: true })))
        yield* Effect.raceFirst(pump(client, "c2s"), pump(server, "s2c")).pipe(Effect.ignore)
      })
    ))
    return relay.port
  })

/** The error of a failed exit, or a test failure. */
export const errorOf = <A>(exit: Exit.Exit<A, ProtocolError.ProtocolError>): ProtocolError.ProtocolError => {
  const error = Option.getOrUndefined(Exit.findErrorOption(exit))
  if (error === undefined) return assert.fail(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : "a defect"}`)
  return error
}

/** The detail of a `HandshakeError` (else the reason's tag). */
export const handshakeDetail = <A>(exit: Exit.Exit<A, ProtocolError.ProtocolError>): string => {
  const error = errorOf(exit)
  return error.reason._tag === "HandshakeError" ? error.reason.detail : error.reason._tag
}

/** An Echo's text (else the message's tag). */
export const text = (message: Message.Message | undefined) =>
  message?._tag === "Echo" ? message.text : String(message?._tag)

/** How a server side opens its session. */
export type Open = (
  connection: Connection.Connection
) => Effect.Effect<Session.Session, ProtocolError.ProtocolError, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope>

const securityOf = (session: Session.Session): ExtendedSession.Security | undefined =>
  "security" in session ? (session as ExtendedSession.ExtendedSession).security : undefined

/**
 * A server that answers every message with itself, on the extended profile
 * (or the compatible one); reports the security of each session (extended
 * ones), the texts it received, and how each session ended.
 */
export const echoServer = (open: Open) =>
  Effect.gen(function*() {
    const securities = yield* Queue.unbounded<ExtendedSession.Security | undefined>()
    const ended = yield* Queue.unbounded<Exit.Exit<never, ProtocolError.ProtocolError>>()
    const received = yield* Ref.make<Array<string>>([])
    const server = yield* Tcp.listen({ host, port: 0 })
    const cache = ReplayCache.makeUnsafe()
    yield* Effect.forkScoped(server.run((connection) =>
      Effect.gen(function*() {
        const session = yield* open(connection)
        yield* Queue.offer(securities, securityOf(session))
        while (true) {
          const messages = yield* session.receive
          yield* Ref.update(received, (all) => [...all, ...messages.map(text)])
          yield* session.send(messages)
        }
      }).pipe(
        Effect.exit,
        Effect.flatMap((exit) => Queue.offer(ended, exit)),
        Effect.provideService(ReplayCache.ReplayCache, cache)
      )
    ))
    return { port: server.port, securities, ended, received }
  })
