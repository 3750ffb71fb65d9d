/**
 * The baseline "framed server" (perf-anchors §1) as a standalone process:
 * raw `node:net` over TCP or a Unix socket, or `node:tls` 1.3 over TCP. For
 * every request frame it builds a new reply frame of the same size (allocate
 * + copy) and writes it, with `cork`/`uncork` around each `data` event and
 * `setNoDelay(true)`.
 *
 * ```sh
 * node packages/bench/src/baselines/server.ts --transport tcp
 * node packages/bench/src/baselines/server.ts --transport unix --path /tmp/x.sock
 * node packages/bench/src/baselines/server.ts --transport tls --cert cert.pem --key key.pem
 * ```
 *
 * Listens on 127.0.0.1 port 0 (or the given path), prints
 * `@@ready {address}` and runs until SIGTERM or until its stdin closes.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Util from "node:util"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as Framing from "./Framing.ts"

const { values } = Util.parseArgs({
  options: {
    transport: { type: "string", default: "tcp" },
    path: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" }
  }
})

const serve = (socket: Net.Socket): void => {
  socket.setNoDelay(true)
  const write = (frame: Buffer) => {
    socket.write(frame)
  }
  const replier = new Framing.Replier(write)
  socket.on("data", (chunk: Buffer) => {
    socket.cork()
    const ok = replier.feed(chunk)
    socket.uncork()
    if (!ok) socket.destroy()
  })
  socket.on("error", () => socket.destroy())
}

const transport = values.transport
let server: Net.Server
if (transport === "tls") {
  if (values.cert === undefined || values.key === undefined) throw new Error("--transport tls needs --cert and --key")
  server = Tls.createServer(
    { cert: Fs.readFileSync(values.cert), key: Fs.readFileSync(values.key), minVersion: "TLSv1.3" },
    serve
  )
  server.on("tlsClientError", () => {})
} else if (transport === "tcp" || transport === "unix") {
  server = Net.createServer(serve)
} else {
  throw new Error(`unknown --transport ${transport}`)
}

const unixPath = transport === "unix" ? values.path : undefined
if (transport === "unix" && unixPath === undefined) throw new Error("--transport unix needs --path")

Processes.exitWithParent(() => {
  server.close()
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
})

const onListening = () => {
  const bound = server.address()
  const address: Driver.Address = unixPath !== undefined
    ? { kind: "unix", path: unixPath }
    : { kind: "tcp", host: "127.0.0.1", port: typeof bound === "object" && bound !== null ? bound.port : 0 }
  Processes.announceReady(address)
}

server.maxConnections = 10_000
if (unixPath !== undefined) {
  Fs.rmSync(unixPath, { force: true })
  server.listen({ path: unixPath, backlog: 1024 }, onListening)
} else {
  server.listen({ host: "127.0.0.1", port: 0, backlog: 1024 }, onListening)
}
