/**
 * Test helpers: payloads, raw node:net peers as scoped resources, temp
 * directories, and a check that a test leaves no socket behind.
 */
import { assert } from "@effect/vitest"
import * as Packet from "@network-protocol/core/Packet"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Connection from "../src/Connection.ts"

/** A payload of `size` bytes with a recognisable pattern. */
export const payload = (size: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

/** Compares two byte arrays without building huge diff messages. */
export const assertBytes = (actual: Uint8Array, expected: Uint8Array, label = "payload") => {
  assert.strictEqual(actual.length, expected.length, `${label} length`)
  assert.isTrue(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected), `${label} bytes`)
}

/** The ProtocolError of a failed exit. */
export const failureError = (exit: Exit.Exit<unknown, unknown>): ProtocolError.ProtocolError | undefined => {
  const error = Option.getOrUndefined(Exit.findErrorOption(exit))
  return ProtocolError.isProtocolError(error) ? error : undefined
}

/** The reason of a failed exit's ProtocolError. */
export const failureReason = (exit: Exit.Exit<unknown, unknown>): ProtocolError.Reason | undefined =>
  failureError(exit)?.reason

/** Receives until `count` packets have arrived (bounded by `count` batches). */
export const receiveN = (connection: Connection.Connection, count: number) =>
  Effect.gen(function*() {
    const out: Array<Packet.Packet> = []
    for (let batches = 0; out.length < count && batches < count; batches++) {
      const batch = yield* connection.receive
      for (const packet of batch) out.push(packet)
    }
    return out
  })

/** A server handler echoing every batch back until the peer goes away. */
export const echo = (connection: Connection.Connection) =>
  Effect.gen(function*() {
    while (true) {
      const batch: Arr.NonEmptyReadonlyArray<Packet.Packet> = yield* connection.receive
      yield* connection.send(batch)
    }
  }).pipe(Effect.catchReason("ProtocolError", "ConnectionClosed", () => Effect.void))

/**
 * Connection handles. Listener handles (`TCPServerWrap`, `PipeServerWrap`) are
 * left out: Node reports a closed listener until the loop's close phase, after
 * its `close` event; `assertPortFree` and the socket-file checks cover them.
 */
const socketResources = new Set(["TCPSocketWrap", "PipeWrap", "TLSWrap"])

/** How many connection handles keep the process alive. */
export const openSockets = (): number =>
  process.getActiveResourcesInfo().filter((name) => socketResources.has(name)).length

/**
 * Runs a test body in its own scope and asserts that, once that scope has
 * closed, no socket handle is left open.
 */
export const noLeaks = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
  Effect.gen(function*() {
    const before = openSockets()
    const result = yield* Effect.scoped(body)
    // A handle Node closes by itself (the listener of a failed bind) is
    // released in the close phase of the loop; a leaked socket never is.
    for (let turn = 0; turn < 3 && openSockets() !== before; turn++) yield* loopTurn
    assert.strictEqual(openSockets(), before, "socket handles left open")
    return result
  })

/** Asserts that nothing listens on a TCP port any more, by binding it (and releasing it). */
export const assertPortFree = (port: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const probe = Net.createServer()
    probe.once("error", (error) => resume(Effect.die(new Error(`port ${port} is still taken: ${error.message}`))))
    probe.listen({ host: "127.0.0.1", port }, () => probe.close(() => resume(Effect.void)))
  })

/** A fresh temporary directory, removed with the scope. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-transport-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** A raw node:net client socket, destroyed (and awaited) with the scope. */
export const rawConnect = (options: Net.NetConnectOpts): Effect.Effect<Net.Socket, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Net.Socket, Error>((resume) => {
      const socket = Net.createConnection(options)
      socket.on("error", () => {})
      socket.once("close", () => released.add(socket))
      socket.once("connect", () => resume(Effect.succeed(socket)))
      socket.once("error", (error) => resume(Effect.fail(error)))
    }),
    (socket) => awaitClose(socket, true)
  )

/** Sockets of `rawConnect` whose handle is released (`socket.closed` turns true before that). */
const released = new WeakSet<Net.Socket>()

/** Waits for a `rawConnect` socket's `close` event; destroys it first if asked. */
export const awaitClose = (socket: Net.Socket, destroy = false): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (released.has(socket)) return resume(Effect.void)
    socket.once("close", () => resume(Effect.void))
    if (destroy) socket.destroy()
  })

/** Writes with backpressure. */
export const rawWrite = (socket: Net.Socket, bytes: Uint8Array): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (socket.write(bytes)) return resume(Effect.void)
    socket.once("drain", () => resume(Effect.void))
  })

/**
 * Lets the event loop run once (all due I/O callbacks included). Used only to
 * give a broken implementation the chance to misbehave, never to wait for a
 * result.
 */
export const loopTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

/** Encodes one packet. */
export const frame = (bytes: Uint8Array): Uint8Array => Packet.encode(Packet.make(bytes))
