/**
 * The baseline client driver: raw `node:net` (TCP or Unix socket) or
 * `node:tls` 1.3, with the same 9-byte framing as the baseline server.
 * Requests are one pre-built frame of `size` bytes written `count` times
 * inside one `cork`/`uncork`; replies are counted without copying. With a
 * `payload` (see `Driver.ConnectionOptions`) the frame is the 9-byte header
 * followed by `size` payload bytes.
 *
 * Driver options: `transport` (`"tcp" | "unix" | "tls"`), and for TLS `ca`,
 * the path of the PEM certificate the server uses (it is its own trust
 * anchor; the server name checked is `localhost`).
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Data from "../harness/Data.ts"
import type * as Driver from "../harness/Driver.ts"
import * as Framing from "./Framing.ts"

const CLOSE_TIMEOUT_MS = 2000

const open = (address: Driver.Address, tls: { readonly ca: Buffer } | undefined): Promise<Net.Socket> =>
  new Promise((resolve, reject) => {
    let socket: Net.Socket
    if (tls !== undefined) {
      if (address.kind !== "tcp") throw new Error("the TLS baseline runs over TCP")
      socket = Tls.connect({
        host: address.host,
        port: address.port,
        ca: tls.ca,
        servername: "localhost",
        minVersion: "TLSv1.3"
      })
    } else {
      socket = address.kind === "unix" ? Net.connect({ path: address.path }) : Net.connect({
        host: address.host,
        port: address.port
      })
    }
    const onError = (error: Error) => reject(error)
    socket.once("error", onError)
    socket.once(tls !== undefined ? "secureConnect" : "connect", () => {
      socket.off("error", onError)
      resolve(socket)
    })
  })

/**
 * Makes the baseline driver.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Driver.DriverOptions): Driver.ClientDriver => {
  const transport = options["transport"]
  const caPath = options["ca"]
  const tls = transport === "tls"
    ? { ca: Fs.readFileSync(typeof caPath === "string" ? caPath : "") }
    : undefined
  const frames = new Map<string, Buffer>()
  const frameOf = (options: Driver.ConnectionOptions) => {
    const key = `${options.size}:${options.payload ?? "frame"}`
    let frame = frames.get(key)
    if (frame === undefined) {
      frame = options.payload === undefined
        ? Framing.makeFrame(options.size)
        : Framing.frameOf(Data.payload(options.payload, options.size))
      frames.set(key, frame)
    }
    return frame
  }
  return {
    connect: async (address, connectionOptions, handlers) => {
      const socket = await open(address, tls)
      socket.setNoDelay(true)
      const frame = frameOf(connectionOptions)
      const counter = new Framing.FrameCounter()
      let closing = false
      socket.on("data", (chunk: Buffer) => {
        const completed = counter.feed(chunk)
        if (completed > 0) handlers.onReplies(completed)
        else if (completed < 0) handlers.onError(new Error("bad reply frame"))
      })
      socket.on("error", (error) => {
        if (!closing) handlers.onError(error)
      })
      socket.on("close", () => {
        if (!closing) handlers.onError(new Error("connection closed by the server"))
      })
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
      const info: Record<string, string> = {}
      if (socket instanceof Tls.TLSSocket) {
        info["protocol"] = socket.getProtocol() ?? "?"
        info["cipher"] = socket.getCipher().name
      }
      return {
        send: (count) => {
          if (count === 1) {
            socket.write(frame)
            return
          }
          socket.cork()
          for (let i = 0; i < count; i++) socket.write(frame)
          socket.uncork()
        },
        close: async () => {
          closing = true
          socket.end()
          const timer = setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS)
          await closed
          clearTimeout(timer)
        },
        info
      }
    }
  }
}
