/**
 * A server process for the scale benchmarks: our secure daemon, or a raw
 * `node:net` / `node:tls` server with the same 9-byte framing, echoing every
 * frame. Started with `--expose-gc`; on SIGUSR2 it collects garbage twice and
 * prints `@@gc`, so the parent reads a settled RSS from /proc.
 *
 * ```sh
 * node --expose-gc packages/bench/src/scale/server.ts --kind secure|tcp|tls
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Util from "node:util"
import * as Crypto from "@network-protocol/core/Crypto"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as Certificate from "@network-protocol/transport/Certificate"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Processes from "../harness/Processes.ts"

const { values } = Util.parseArgs({ options: { kind: { type: "string", default: "secure" } } })
const kind = values.kind

const gc = (globalThis as { gc?: () => void }).gc
process.on("SIGUSR2", () => {
  gc?.()
  gc?.()
  process.stdout.write("@@gc\n")
})
Processes.exitWithParent()

/** Echoes every framed request back; a baseline's per-connection work. */
const echoFramed = (socket: Net.Socket) => {
  socket.setNoDelay(true)
  socket.on("data", (chunk) => socket.write(chunk))
  socket.on("error", () => socket.destroy())
}

if (kind === "secure") {
  const config = new NetworkConfig.ServerConfig({ ...NetworkConfig.defaults.server, max_connections: 20_000 })
  Effect.runFork(
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: { tcp: { host: "127.0.0.1", port: 0 } }, config, backlog: 4096 })
      Processes.announceReady({ host: "127.0.0.1", port: daemon.port })
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault))
  )
} else if (kind === "tcp") {
  const server = Net.createServer({ noDelay: true }, echoFramed)
  server.maxConnections = 20_000
  server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
    const address = server.address() as Net.AddressInfo
    Processes.announceReady({ host: "127.0.0.1", port: address.port })
  })
} else if (kind === "tls") {
  const cert = await Effect.runPromise(Certificate.generate({ commonName: "localhost", dnsNames: ["localhost"] }))
  const server = Tls.createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: "TLSv1.3" }, echoFramed)
  server.maxConnections = 20_000
  server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
    const address = server.address() as Net.AddressInfo
    Processes.announceReady({ host: "127.0.0.1", port: address.port })
  })
} else {
  throw new Error(`unknown --kind ${kind}: secure, tcp or tls`)
}
