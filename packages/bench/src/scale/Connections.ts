/**
 * Lean load-generating client connections for the scale benchmarks: plain
 * callbacks on a socket and no fiber per connection, so that one client
 * process drives thousands of connections without becoming the bottleneck.
 *
 * - `net` / `tls`: raw `node:net` (TCP or Unix socket) or `node:tls` 1.3 with
 *   the baselines' 9-byte framing; a request is one pre-built 64 B frame,
 *   replies are counted with `Framing.FrameCounter`.
 * - `secure`: the crate's secure profile built from the library's pure core
 *   pieces — `Handshake` (X25519, SPEC §3), `SecureChannel`
 *   (XChaCha20-Poly1305, a fresh nonce per message, SPEC §4),
 *   `PacketCodec`/`MessageCodec` — on a raw socket. The server sees exactly
 *   the bytes the library's `Session.secureClient` sends; a request is an
 *   `Echo` whose frame is 64 B. Server heartbeats (`Ping`) are answered with
 *   `Pong` and not counted.
 *
 * A connection reports each read that completed replies with
 * `onReplies(count, now)`, `now` being `performance.now()` when the bytes were
 * read.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as Net from "node:net"
import * as Tls from "node:tls"
import type * as Crypto from "@network-protocol/core/Crypto"
import * as Handshake from "@network-protocol/core/Handshake"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"
import * as SecureChannel from "@network-protocol/core/SecureChannel"
import * as Framing from "../baselines/Framing.ts"
import type * as Driver from "../harness/Driver.ts"
import * as Requests from "../secure/Requests.ts"

/**
 * The size of every request frame (and of its reply), header included.
 *
 * @category constants
 * @since 0.1.0
 */
export const REQUEST_SIZE = 64

/**
 * The kinds of connection.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind = "secure" | "net" | "tls"

/**
 * Narrows a command-line option to a {@link Kind}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isKind = (u: unknown): u is Kind => u === "secure" || u === "net" || u === "tls"

/**
 * Callbacks of one connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handlers {
  /** `count ≥ 1` replies were read at `now` (`performance.now()`). */
  readonly onReplies: (count: number, now: number) => void
  /** The connection closed or failed after it was open. */
  readonly onClosed: () => void
}

/**
 * An open connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoadConnection {
  /** Writes one request. */
  readonly send: () => void
  /** Ends the connection (FIN); `onClosed` follows once the socket is closed. */
  readonly close: () => void
}

/**
 * How to open connections of one kind (`crypto` only for `secure`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Target {
  readonly kind: Kind
  readonly address: Driver.Address
  readonly crypto?: Crypto.Crypto["Service"] | undefined
}

const connectSocket = (target: Target): Net.Socket => {
  const address = target.address
  if (target.kind === "tls") {
    if (address.kind !== "tcp") throw new Error("the TLS baseline runs over TCP")
    return Tls.connect({
      host: address.host,
      port: address.port,
      servername: "localhost",
      rejectUnauthorized: false,
      minVersion: "TLSv1.3"
    })
  }
  return address.kind === "unix"
    ? Net.connect({ path: address.path })
    : Net.connect({ host: address.host, port: address.port })
}

const requestFrame = Framing.makeFrame(REQUEST_SIZE)

const openFramed = (target: Target, handlers: Handlers): Promise<LoadConnection> =>
  new Promise((resolve, reject) => {
    const socket = connectSocket(target)
    socket.setNoDelay(true)
    const counter = new Framing.FrameCounter()
    let open = false
    socket.once(target.kind === "tls" ? "secureConnect" : "connect", () => {
      open = true
      resolve({ send: () => void socket.write(requestFrame), close: () => void socket.end() })
    })
    socket.on("data", (chunk: Buffer) => {
      const now = performance.now()
      const completed = counter.feed(chunk)
      if (completed < 0) socket.destroy()
      else if (completed > 0) handlers.onReplies(completed, now)
    })
    socket.on("error", (error) => {
      if (!open) reject(error)
    })
    socket.on("close", () => {
      if (open) handlers.onClosed()
      else reject(new Error("closed before it was open"))
    })
  })

const echoRequest = Requests.request("echo", REQUEST_SIZE)
const pong = Message.Pong()

const openSecure = (target: Target, crypto: Crypto.Crypto["Service"], handlers: Handlers): Promise<LoadConnection> =>
  new Promise((resolve, reject) => {
    const socket = connectSocket(target)
    socket.setNoDelay(true)
    const decoder = PacketCodec.makeDecoder()
    const packets: Array<Packet.Packet> = []
    const handshake = Handshake.makeClientUnsafe(crypto)
    let channel: SecureChannel.SecureChannel | undefined = undefined
    let failed = false
    const fail = (error: Error) => {
      if (failed) return
      failed = true
      handshake.destroy()
      if (channel === undefined) reject(error)
      socket.destroy()
    }
    const writeSealed = (message: Message.Message) => {
      if (channel === undefined) return
      const sealed = channel.seal(message)
      if (Result.isFailure(sealed)) fail(new Error(String(sealed.failure)))
      else socket.write(Packet.encode(sealed.success))
    }
    const onHandshake = (packet: Packet.Packet) => {
      const response = MessageCodec.decode(packet.payload)
      if (Result.isFailure(response)) return fail(new Error(String(response.failure)))
      const confirmed = handshake.confirm(response.success)
      if (Result.isFailure(confirmed)) return fail(new Error(String(confirmed.failure)))
      const confirm = MessageCodec.encode(confirmed.success.confirm)
      if (Result.isFailure(confirm)) return fail(new Error(String(confirm.failure)))
      socket.write(Packet.encode(Packet.make(confirm.success)))
      channel = SecureChannel.makeUnsafe(crypto, confirmed.success.sessionKey)
      confirmed.success.sessionKey.fill(0)
      handshake.destroy()
      resolve({ send: () => writeSealed(echoRequest), close: () => void socket.end() })
    }
    socket.once("connect", () => {
      const init = handshake.init(Date.now())
      if (Result.isFailure(init)) return fail(new Error(String(init.failure)))
      const encoded = MessageCodec.encode(init.success)
      if (Result.isFailure(encoded)) fail(new Error(String(encoded.failure)))
      else socket.write(Packet.encode(Packet.make(encoded.success)))
    })
    socket.on("data", (chunk: Buffer) => {
      const now = performance.now()
      packets.length = 0
      const error = decoder.feed(chunk, packets)
      let replies = 0
      for (let i = 0; i < packets.length && !failed; i++) {
        if (channel === undefined) {
          onHandshake(packets[i])
          continue
        }
        const opened = channel.open(packets[i])
        if (Result.isFailure(opened)) fail(new Error(String(opened.failure)))
        else if (opened.success._tag === "Ping") writeSealed(pong)
        else replies++
      }
      if (replies > 0) handlers.onReplies(replies, now)
      if (error !== undefined) fail(new Error(String(error)))
    })
    socket.on("error", (error) => fail(error))
    socket.on("close", () => {
      if (channel !== undefined) {
        channel.destroy()
        handlers.onClosed()
      } else {
        fail(new Error("closed during the handshake"))
      }
    })
  })

/**
 * Opens one connection; resolves once requests can be sent (after the TLS
 * or secure handshake).
 *
 * @category constructors
 * @since 0.1.0
 */
export const open = (target: Target, handlers: Handlers): Promise<LoadConnection> => {
  if (target.kind !== "secure") return openFramed(target, handlers)
  if (target.crypto === undefined) throw new Error("a secure connection needs a crypto provider")
  return openSecure(target, target.crypto, handlers)
}
