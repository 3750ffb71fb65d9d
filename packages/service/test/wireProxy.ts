/**
 * A loopback TCP proxy that records every byte it forwards, for checking what
 * really travels on the wire. Optionally it rewrites the client→server stream
 * frame by frame (to replay a frame, for instance).
 */
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"

/** What a proxy saw. */
export interface WireProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number
  /** Every byte sent by clients, in order, all connections concatenated. */
  readonly toServer: () => Buffer
  /** Every byte sent back by the server, in order, all connections concatenated. */
  readonly toClient: () => Buffer
  /** Waits until clients have sent at least `size` bytes in all. */
  readonly awaitToServer: (size: number) => Effect.Effect<void>
  /** What each connection carried, in the order they were accepted. */
  readonly connections: () => ReadonlyArray<Recorded>
}

/** The bytes of one proxied connection. */
export interface Recorded {
  readonly toServer: Buffer
  readonly toClient: Buffer
}

/** Rewrites the client→server frames of one connection: index of the frame, frame → frames to forward. */
export type FrameRewrite = (index: number, packet: Packet.Packet) => ReadonlyArray<Packet.Packet>

/**
 * Listens on 127.0.0.1 and forwards each connection to `target()` (awaited
 * per connection, so the upstream port may be learnt later). Closing the
 * scope destroys every socket and closes the listener.
 */
export const make = (
  target: () => Promise<number>,
  rewrite?: FrameRewrite
): Effect.Effect<WireProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly proxy: WireProxy; readonly close: () => Promise<void> }>((resume) => {
      const sockets = new Set<Net.Socket>()
      const up: Array<Buffer> = []
      let upBytes = 0
      let waiters: Array<{ readonly size: number; readonly wake: () => void }> = []
      const down: Array<Buffer> = []
      const recorded: Array<{ readonly up: Array<Buffer>; readonly down: Array<Buffer> }> = []
      const track = (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("error", () => socket.destroy())
        socket.once("close", () => sockets.delete(socket))
      }
      const server = Net.createServer((client) => {
        const record = { up: new Array<Buffer>(), down: new Array<Buffer>() }
        recorded.push(record)
        track(client)
        client.pause()
        const decoder = PacketCodec.makeDecoder()
        let index = 0
        target().then((port) => {
          if (client.destroyed) return
          const upstream = Net.connect({ host: "127.0.0.1", port })
          track(upstream)
          upstream.on("data", (chunk: Buffer) => {
            down.push(chunk)
            record.down.push(chunk)
            client.write(chunk)
          })
          client.on("data", (chunk: Buffer) => {
            up.push(chunk)
            record.up.push(chunk)
            upBytes += chunk.length
            const ready = waiters.filter((waiter) => waiter.size <= upBytes)
            waiters = waiters.filter((waiter) => waiter.size > upBytes)
            for (const waiter of ready) waiter.wake()
            if (rewrite === undefined) {
              upstream.write(chunk)
              return
            }
            const packets: Array<Packet.Packet> = []
            if (decoder.feed(chunk, packets) !== undefined) {
              upstream.write(chunk)
              return
            }
            for (const packet of packets) {
              for (const out of rewrite(index, packet)) upstream.write(Packet.encode(out))
              index++
            }
          })
          client.once("end", () => upstream.end())
          upstream.once("end", () => client.end())
          client.once("close", () => upstream.destroy())
          upstream.once("close", () => client.destroy())
          client.resume()
        }, () => client.destroy())
      })
      server.listen({ host: "127.0.0.1", port: 0 }, () => {
        const address = server.address() as Net.AddressInfo
        resume(Effect.succeed({
          proxy: {
            port: address.port,
            toServer: () => Buffer.concat(up),
            toClient: () => Buffer.concat(down),
            awaitToServer: (size) =>
              Effect.callback<void>((wake) => {
                if (upBytes >= size) return wake(Effect.void)
                const waiter = { size, wake: () => wake(Effect.void) }
                waiters.push(waiter)
                return Effect.sync(() => {
                  waiters = waiters.filter((other) => other !== waiter)
                })
              }),
            connections: () =>
              recorded.map((record) => ({ toServer: Buffer.concat(record.up), toClient: Buffer.concat(record.down) }))
          },
          close: () =>
            new Promise<void>((done) => {
              for (const socket of sockets) socket.destroy()
              server.close(() => done())
            })
        }))
      })
    }),
    (made) => Effect.promise(made.close)
  ).pipe(Effect.map((made) => made.proxy))

/**
 * Splits the recorded bytes of one connection into frames (a frame cut short
 * at the end is left out); throws on bytes that are not frames.
 */
export const frames = (bytes: Uint8Array): ReadonlyArray<Packet.Packet> => {
  const out: Array<Packet.Packet> = []
  const error = PacketCodec.makeDecoder().feed(bytes, out)
  if (error !== undefined) throw error
  return out
}
