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
 * 3. Add one entry to {@link all}. For the library's secure stack that is
 *    already prepared: `secure("sodium" | "node" | "noble")` points at
 *    `src/secure/server.ts --crypto <name>` and `src/secure/driver.ts`
 *    (option `crypto`), and is skipped with a note until those files exist.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import * as Runner from "./harness/Runner.ts"

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
  server: (context) => ({
    script: baselineServer,
    args: ["--transport", "tls", "--cert", context.tls.certPath, "--key", context.tls.keyPath]
  }),
  client: (context) => ({ driver: baselineDriver, options: { transport: "tls", ca: context.tls.certPath } })
}

/**
 * The reason a file is missing, if it is.
 *
 * @category availability
 * @since 0.1.0
 */
export const fileMissing = (file: string): string | undefined =>
  Fs.existsSync(file) ? undefined : `${Path.relative(Runner.srcDir, file)} not written yet`

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

/**
 * The library's secure stack (X25519 handshake + XChaCha20-Poly1305) over TCP
 * or a Unix socket, with the given crypto implementation.
 *
 * @category library
 * @since 0.1.0
 */
export const secure = (crypto: "sodium" | "node" | "noble", transport: "tcp" | "unix" = "tcp"): Runner.Contender => {
  const server = Path.join(Runner.srcDir, "secure", "server.ts")
  const driver = Path.join(Runner.srcDir, "secure", "driver.ts")
  const overUnix = transport === "unix"
  return {
    id: overUnix ? `np-secure-unix-${crypto}` : `np-secure-${crypto}`,
    label: overUnix ? `network-protocol secure Unix socket (${crypto})` : `network-protocol secure (${crypto})`,
    kind: "library",
    transport,
    server: (context) => ({
      script: server,
      args: overUnix ? ["--crypto", crypto, "--unix", context.unixPath(`np-secure-${crypto}`)] : ["--crypto", crypto]
    }),
    client: () => ({ driver, options: { crypto } }),
    unavailable: async () =>
      fileMissing(server) ?? fileMissing(driver) ?? (crypto === "sodium" ? packageMissing("sodium-native") : undefined)
  }
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
  secure("sodium"),
  secure("sodium", "unix"),
  secure("node"),
  secure("noble")
]

/**
 * Every contender, in report order.
 *
 * @category contenders
 * @since 0.1.0
 */
export const all: ReadonlyArray<Runner.Contender> = [...baselines, ...library]
