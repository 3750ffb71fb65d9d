/**
 * Who is measured in `npm run bench`. A contender is one entry: a server
 * command (a script run in its own Node process that prints its address) and
 * a client driver module (see `harness/Driver.ts`). Every scenario of
 * `scenarios.ts` runs against every contender that supports it, and ratios
 * are computed against the contenders marked `reference`.
 *
 * ## Adding a contender
 *
 * 1. Write a server script that listens on 127.0.0.1 port 0 (or a Unix socket
 *    path given on its command line), answers every request of `size` bytes
 *    with a reply of the same size, calls `Processes.exitWithParent()` and
 *    then `Processes.announceReady(address)`.
 * 2. Write a driver module exporting `make(options): ClientDriver`:
 *    `connect(address, { size }, { onReplies, onError })` resolves once
 *    requests can be sent; `send(count)` writes `count` requests (batched);
 *    `onReplies(n)` is called as replies complete; `close()` closes.
 * 3. Add one entry to {@link all}, with `supports` naming the scenarios it
 *    runs (see {@link runs}): not every contender runs every scenario, which
 *    keeps the full run within its time budget.
 *
 * Which contender runs which scenario (ids of `scenarios.ts`):
 *
 * | contender | main scenarios | `multiplex-64` | `compression-json-16k` | `ciphers-64k` |
 * |---|---|---|---|---|
 * | `tcp`, `tls` | all | yes | yes | yes |
 * | `unix`, `np-secure-sodium`, `np-secure-unix-sodium`, `np-tls` | all | `np-secure-sodium` | – | `np-secure-sodium` |
 * | `np-secure-node`, `np-secure-noble` | `window-64`, `window-64k`, `connect` | – | – | – |
 * | `np-mux-raw`, `np-mux-secure` | – | yes | – | – |
 * | `np-ext-none`, `np-ext-lz4`, `np-ext-zstd` | – | – | yes | `np-ext-none` |
 * | `np-ext-aes` | – | – | – | yes |
 *
 * The crypto provider shows in per-message cost (`window-64`), bulk sealing
 * (`window-64k`) and the handshake (`connect`); ping-pong and 1 KiB add
 * little beyond those, so the node and noble providers skip them.
 *
 * @since 0.1.0
 */
import * as Module from "node:module"
import * as Path from "node:path"
import * as Runner from "./harness/Runner.ts"
import * as Scenarios from "./scenarios.ts"

/**
 * A `supports` predicate: the scenarios with these ids.
 *
 * @category availability
 * @since 0.1.0
 */
export const runs = (ids: ReadonlyArray<string>) => {
  const set = new Set(ids)
  return (scenario: Runner.Scenario): boolean => set.has(scenario.id)
}

const mainIds = Scenarios.main.map((s) => s.id)
const providerIds = [Scenarios.window64.id, Scenarios.window64k.id, Scenarios.connect.id]
const sessionServer = Path.join(Runner.srcDir, "secure", "server.ts")
const sessionDriver = Path.join(Runner.srcDir, "secure", "driver.ts")
const baselineServer = Path.join(Runner.srcDir, "baselines", "server.ts")
const baselineDriver = Path.join(Runner.srcDir, "baselines", "driver.ts")

/**
 * Raw `node:net` over TCP with the 9-byte framing: the ceiling, and the
 * reference of every ratio.
 *
 * @category baselines
 * @since 0.1.0
 */
export const tcp: Runner.Contender = {
  id: "tcp",
  label: "node:net TCP",
  kind: "baseline",
  transport: "tcp",
  reference: true,
  supports: runs([...mainIds, Scenarios.multiplex64.id, Scenarios.compressionJson.id, Scenarios.bulkCiphers.id]),
  server: () => ({ script: baselineServer, args: ["--transport", "tcp"] }),
  client: () => ({ driver: baselineDriver, options: { transport: "tcp" } })
}

/**
 * Raw `node:net` over a Unix domain socket with the 9-byte framing.
 *
 * @category baselines
 * @since 0.1.0
 */
export const unix: Runner.Contender = {
  id: "unix",
  label: "node:net Unix socket",
  kind: "baseline",
  transport: "unix",
  supports: runs(mainIds),
  server: (context) => ({ script: baselineServer, args: ["--transport", "unix", "--path", context.unixPath("unix")] }),
  client: () => ({ driver: baselineDriver, options: { transport: "unix" } })
}

/**
 * `node:tls` 1.3 over TCP with the 9-byte framing, a self-signed ECDSA P-256
 * certificate made at bench time, verified by the client.
 *
 * @category baselines
 * @since 0.1.0
 */
export const tls: Runner.Contender = {
  id: "tls",
  label: "node:tls 1.3",
  kind: "baseline",
  transport: "tls",
  reference: true,
  note: "TLS 1.3 over TCP, self-signed ECDSA P-256 certificate made at bench time and verified by the client; " +
    "every connection is a full handshake (no session resumption).",
  supports: runs([...mainIds, Scenarios.multiplex64.id, Scenarios.compressionJson.id, Scenarios.bulkCiphers.id]),
  server: (context) => ({
    script: baselineServer,
    args: ["--transport", "tls", "--cert", context.tls.certPath, "--key", context.tls.keyPath]
  }),
  client: (context) => ({ driver: baselineDriver, options: { transport: "tls", ca: context.tls.certPath } })
}

/**
 * The reason a package cannot be resolved from this package, if it cannot.
 *
 * @category availability
 * @since 0.1.0
 */
export const packageMissing = (name: string): string | undefined => {
  try {
    Module.createRequire(import.meta.url).resolve(name)
    return undefined
  } catch {
    return `${name} is not installed`
  }
}

const sodiumMissing = async () => packageMissing("sodium-native")

/**
 * The library's secure stack (X25519 handshake + XChaCha20-Poly1305) over TCP
 * or a Unix socket, with the given crypto implementation: `Daemon` in the
 * server process, `Session.secureClient` in the client (`secure/`).
 *
 * @category library
 * @since 0.1.0
 */
export const secure = (
  crypto: "sodium" | "node" | "noble",
  transport: "tcp" | "unix",
  scenarios: ReadonlyArray<string>
): Runner.Contender => {
  const overUnix = transport === "unix"
  return {
    id: overUnix ? `np-secure-unix-${crypto}` : `np-secure-${crypto}`,
    label: overUnix ? `network-protocol secure Unix socket (${crypto})` : `network-protocol secure (${crypto})`,
    kind: "library",
    transport,
    supports: runs(scenarios),
    server: (context) => ({
      script: sessionServer,
      args: overUnix ? ["--crypto", crypto, "--unix", context.unixPath(`np-secure-${crypto}`)] : ["--crypto", crypto]
    }),
    client: () => ({ driver: sessionDriver, options: { crypto } }),
    ...(crypto === "sodium" ? { unavailable: sodiumMissing } : {})
  }
}

/**
 * The library over TLS: `Daemon` listening with `listen: { tls }` (TLS 1.3,
 * the bench's certificate) and the client on `Tls.connect` +
 * `Session.plain` — the crate's plain TLS profile (bincode messages in
 * packets, TLS doing the encryption). The counterpart of `node:tls 1.3`.
 *
 * @category library
 * @since 0.1.0
 */
export const overTls: Runner.Contender = {
  id: "np-tls",
  label: "network-protocol over TLS",
  kind: "library",
  transport: "tls",
  note: "the daemon and client over TLS 1.3 (same certificate and verification as node:tls 1.3) with the crate's " +
    "plain profile; a request of `size` bytes is an `Echo` whose frame (9-byte header + bincode) is `size` bytes.",
  supports: runs(mainIds),
  // TLS does the encryption: the crypto provider (node, always available) only backs the daemon's setup.
  server: (context) => ({
    script: sessionServer,
    args: ["--crypto", "node", "--cert", context.tls.certPath, "--key", context.tls.keyPath]
  }),
  client: (context) => ({ driver: sessionDriver, options: { profile: "plain", crypto: "node", ca: context.tls.certPath } })
}

/**
 * The library's `Multiplexer` on one TCP connection, raw frames or `MUX`
 * messages in the secure session (sodium), against a server replying out
 * of order (`mux/`).
 *
 * @category library
 * @since 0.1.0
 */
export const multiplexed = (frame: "raw" | "secure"): Runner.Contender => {
  const server = Path.join(Runner.srcDir, "mux", "server.ts")
  const driver = Path.join(Runner.srcDir, "mux", "driver.ts")
  return {
    id: `np-mux-${frame}`,
    label: frame === "raw" ? "network-protocol Multiplexer raw" : "network-protocol Multiplexer secure (sodium)",
    kind: "library",
    transport: "tcp",
    supports: runs([Scenarios.multiplex64.id]),
    server: () => ({ script: server, args: ["--frame", frame, "--crypto", "sodium"] }),
    client: () => ({ driver, options: { frame, crypto: "sodium" } }),
    unavailable: sodiumMissing
  }
}

/**
 * The library's extended profile (sodium) over TCP with the given
 * compression negotiated: the daemon accepts Zstd and LZ4, the client offers
 * only this one (none: no compression).
 *
 * @category library
 * @since 0.1.0
 */
export const extended = (compression: "none" | "lz4" | "zstd"): Runner.Contender => ({
  id: `np-ext-${compression}`,
  label: compression === "none"
    ? "network-protocol extended, no compression"
    : `network-protocol extended + ${compression === "lz4" ? "LZ4" : "Zstd"}`,
  kind: "library",
  transport: "tcp",
  supports: runs(compression === "none" ? [Scenarios.compressionJson.id, Scenarios.bulkCiphers.id] : [Scenarios.compressionJson.id]),
  server: () => ({ script: sessionServer, args: ["--crypto", "sodium", "--extended", "zstd,lz4"] }),
  client: () => ({ driver: sessionDriver, options: { profile: "extended", crypto: "sodium", compression } }),
  unavailable: sodiumMissing
})

/**
 * The library's extended profile (sodium) over TCP with AES-256-GCM
 * negotiated for the data frames (no compression).
 *
 * @category library
 * @since 0.1.0
 */
export const extendedAes: Runner.Contender = {
  id: "np-ext-aes",
  label: "network-protocol extended + AES-256-GCM",
  kind: "library",
  transport: "tcp",
  supports: runs([Scenarios.bulkCiphers.id]),
  server: () => ({
    script: sessionServer,
    args: ["--crypto", "sodium", "--extended", "none", "--ciphers", "aes-256-gcm,xchacha20-poly1305"]
  }),
  client: () => ({
    driver: sessionDriver,
    options: { profile: "extended", crypto: "sodium", compression: "none", cipher: "aes-256-gcm" }
  }),
  unavailable: sodiumMissing
}

/**
 * The baselines.
 *
 * @category contenders
 * @since 0.1.0
 */
export const baselines: ReadonlyArray<Runner.Contender> = [tcp, unix, tls]

/**
 * The library's contenders.
 *
 * @category contenders
 * @since 0.1.0
 */
export const library: ReadonlyArray<Runner.Contender> = [
  secure("sodium", "tcp", [...mainIds, Scenarios.multiplex64.id, Scenarios.bulkCiphers.id]),
  secure("sodium", "unix", mainIds),
  overTls,
  secure("node", "tcp", providerIds),
  secure("noble", "tcp", providerIds),
  multiplexed("raw"),
  multiplexed("secure"),
  extended("none"),
  extended("lz4"),
  extended("zstd"),
  extendedAes
]

/**
 * Every contender, in report order.
 *
 * @category contenders
 * @since 0.1.0
 */
export const all: ReadonlyArray<Runner.Contender> = [...baselines, ...library]
