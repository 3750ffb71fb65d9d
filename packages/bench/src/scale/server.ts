/**
 * A server process of the scale benchmarks, started by `scale.ts` with an IPC
 * channel (`Ipc.fork`):
 *
 * - `--kind secure`: our `Daemon` (X25519 handshake, XChaCha20-Poly1305, the
 *   default dispatcher whose `Echo` handler replies with the request);
 * - `--kind net` / `--kind tls`: the baselines' framed server (raw `node:net`,
 *   or `node:tls` 1.3 with a self-signed ECDSA certificate), replying to every
 *   9-byte-framed request with a new frame of the same size, as
 *   `baselines/server.ts` does (same `Framing.Replier`, `cork`/`uncork`).
 *
 * Over TCP on 127.0.0.1 (port 0), or a Unix socket with `--unix PATH`
 * (`secure`, `net`). Room for 20,000 connections and a backlog of 4096.
 *
 * IPC: sends `{ type: "ready", address }` once listening; answers
 * `{ type: "mark" }` with `{ type: "mark", window }` (a `Probe.Window`: CPU,
 * event-loop delay and peak RSS since the previous mark) and `{ type: "gc" }`
 * (needs `--expose-gc`) with `{ type: "gc", rss, heapUsed, external, youngGeneration }` (the size of
 * V8's young generation, which grows under allocation pressure)
 * (bytes) after two collections.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Util from "node:util"
import * as V8 from "node:v8"
import * as Crypto from "@network-protocol/core/Crypto"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Framing from "../baselines/Framing.ts"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as SelfSigned from "../harness/SelfSigned.ts"
import * as Ipc from "./Ipc.ts"
import * as Probe from "./Probe.ts"

const MAX_CONNECTIONS = 20_000
const BACKLOG = 4096

const { values } = Util.parseArgs({
  options: { kind: { type: "string", default: "secure" }, unix: { type: "string" } }
})
const kind = values.kind
const unixPath = values.unix
if (kind === "tls" && unixPath !== undefined) throw new Error("the TLS server runs over TCP")

const gc = (globalThis as { gc?: () => void }).gc
const probe = Probe.start()
Ipc.onMessage((message) => {
  if (message.type === "mark") {
    Ipc.reply({ type: "mark", window: probe.mark() })
  } else if (message.type === "gc") {
    gc?.()
    gc?.()
    const memory = process.memoryUsage()
    const young = V8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")
    Ipc.reply({
      type: "gc",
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
      youngGeneration: young?.space_size ?? 0
    })
  }
})
Processes.exitWithParent(() => {
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
})

const announce = (port: number) => {
  const address: Driver.Address = unixPath !== undefined
    ? { kind: "unix", path: unixPath }
    : { kind: "tcp", host: "127.0.0.1", port }
  Ipc.reply({ type: "ready", address })
}

/** The baselines' framed echo (`baselines/server.ts`). */
const serveFramed = (socket: Net.Socket): void => {
  socket.setNoDelay(true)
  const replier = new Framing.Replier((frame) => {
    socket.write(frame)
  })
  socket.on("data", (chunk: Buffer) => {
    socket.cork()
    const ok = replier.feed(chunk)
    socket.uncork()
    if (!ok) socket.destroy()
  })
  socket.on("error", () => socket.destroy())
}

if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })

if (kind === "secure") {
  const config = new NetworkConfig.ServerConfig({ ...NetworkConfig.defaults.server, max_connections: MAX_CONNECTIONS })
  Effect.runFork(
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({
        listen: unixPath !== undefined ? { unix: { path: unixPath } } : { tcp: { host: "127.0.0.1", port: 0 } },
        config,
        backlog: BACKLOG
      })
      announce(daemon.port ?? 0)
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault))
  ).addObserver((exit) => {
    process.stderr.write(`scale server stopped: ${String(exit)}\n`)
    process.exit(1)
  })
} else if (kind === "net" || kind === "tls") {
  let server: Net.Server
  if (kind === "tls") {
    const material = SelfSigned.make()
    server = Tls.createServer({ cert: material.certPem, key: material.keyPem, minVersion: "TLSv1.3" }, serveFramed)
    server.on("tlsClientError", () => {})
  } else {
    server = Net.createServer(serveFramed)
  }
  server.maxConnections = MAX_CONNECTIONS
  const onListening = () => {
    const bound = server.address()
    announce(typeof bound === "object" && bound !== null ? bound.port : 0)
  }
  if (unixPath !== undefined) server.listen({ path: unixPath, backlog: BACKLOG }, onListening)
  else server.listen({ host: "127.0.0.1", port: 0, backlog: BACKLOG }, onListening)
} else {
  throw new Error(`unknown --kind ${kind}: secure, net or tls`)
}
