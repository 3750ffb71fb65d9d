/**
 * A packet-level relay on loopback between clients and a server, forwarding
 * (or rewriting, dropping, reflecting) each packet: for tests of what a man
 * in the middle can and cannot do.
 */
import type * as Packet from "@network-protocol/core/Packet"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Effect from "effect/Effect"

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
