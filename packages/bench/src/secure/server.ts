/**
 * The library's secure server as a standalone benchmark process: our
 * `Daemon` (X25519 handshake, XChaCha20-Poly1305 per message) over TCP or a
 * Unix socket, with the chosen crypto provider and the default dispatcher,
 * whose `ECHO` handler replies with the request itself (`Echo` → `Echo`,
 * `Custom { command: "ECHO" }` → the same), so every reply frame has the
 * request's size. Everything else is the daemon's default configuration
 * (`backpressure_limit` 32, heartbeats every 15 s), except `max_connections`,
 * raised to 10,000 as for the baseline servers.
 *
 * With `--cert`/`--key` it listens over TLS 1.3 instead and serves the
 * crate's plain TLS profile (no ALPN offered, like the `node:tls` baseline).
 * With `--extended` it also accepts the extended profile, with a fresh
 * Ed25519 identity and the listed compression algorithms (`none`, or
 * `lz4,zstd` in preference order).
 *
 * ```sh
 * node packages/bench/src/secure/server.ts --crypto sodium
 * node packages/bench/src/secure/server.ts --crypto node --unix /tmp/np.sock
 * node packages/bench/src/secure/server.ts --cert cert.pem --key key.pem
 * node packages/bench/src/secure/server.ts --extended zstd,lz4
 * ```
 *
 * Listens on 127.0.0.1 port 0 (or the given path), prints `@@ready {address}`
 * and runs until SIGTERM or until its stdin closes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Util from "node:util"
import type * as Compression from "@network-protocol/core/Compression"
import * as Identity from "@network-protocol/core/Identity"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import type * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import * as Daemon from "@network-protocol/service/Daemon"
import * as Tls from "@network-protocol/transport/Tls"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as Requests from "./Requests.ts"

const { values } = Util.parseArgs({
  options: {
    crypto: { type: "string", default: "sodium" },
    unix: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    extended: { type: "string" },
    ciphers: { type: "string" }
  }
})

const provider = values.crypto
if (!Requests.isProvider(provider)) throw new Error(`unknown --crypto ${provider}: sodium, node or noble`)
const unixPath = values.unix
const tls = values.cert !== undefined && values.key !== undefined
  ? { cert: Tls.file(values.cert), key: Tls.file(values.key), minVersion: "TLSv1.3" as const, alpnProtocols: [] }
  : undefined

const isKind = (name: string): name is Compression.Kind => name === "lz4" || name === "zstd"
const isCipher = (name: string): name is SecureEnvelope.Cipher => name === "xchacha20-poly1305" || name === "aes-256-gcm"
const security = (list: string): Daemon.Security => {
  const names = list === "none" ? [] : list.split(",")
  const compression = names.filter(isKind)
  if (compression.length !== names.length) throw new Error(`unknown --extended ${list}: none, or lz4 and/or zstd`)
  const ciphers = (values.ciphers ?? "xchacha20-poly1305").split(",").filter(isCipher)
  return { identity: Identity.generate(), compression, ciphers }
}

const config = new NetworkConfig.ServerConfig({ ...NetworkConfig.defaults.server, max_connections: 10_000 })

const program = Effect.gen(function*() {
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
  const daemon = yield* Daemon.make({
    listen: unixPath !== undefined
      ? { unix: { path: unixPath } }
      : tls !== undefined
      ? { tls: { host: "127.0.0.1", port: 0, tls } }
      : { tcp: { host: "127.0.0.1", port: 0 } },
    config,
    backlog: 1024,
    ...(values.extended === undefined ? {} : { security: security(values.extended) })
  })
  const address: Driver.Address = unixPath !== undefined
    ? { kind: "unix", path: unixPath }
    : { kind: "tcp", host: "127.0.0.1", port: daemon.port ?? 0 }
  Processes.announceReady(address)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(Requests.layer(provider)))

Processes.exitWithParent(() => {
  if (unixPath !== undefined) Fs.rmSync(unixPath, { force: true })
})

Effect.runFork(program).addObserver((exit) => {
  process.stderr.write(`secure server (${provider}) stopped: ${String(exit)}\n`)
  process.exit(1)
})
