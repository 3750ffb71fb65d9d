/**
 * Scale benchmarks (`npm run bench:scale`, `-- --quick` for a short pass):
 *
 * 1. **Memory per idle connection.** A fresh server process (`--expose-gc`),
 *    warmed with 200 connections, holds N idle connections from a client
 *    process; its RSS after two GCs, minus its RSS before, divided by N. Our secure daemon against raw `node:net` and
 *    `node:tls` 1.3 framed servers.
 * 2. **Load.** 1,000 and 10,000 concurrent connections, each sending one
 *    64 B request per second for a fixed time, spread evenly over the second;
 *    lost messages, latency (write → reply read), server RSS per connection
 *    under load, and CPU and event-loop delay of the server and of every
 *    client process (to tell which side is saturated). Our secure daemon over
 *    TCP and a Unix socket, against the same `node:net` (TCP, Unix socket) and
 *    `node:tls` 1.3 framed servers.
 *
 * Servers and clients are separate processes (`scale/server.ts`,
 * `scale/client.ts`); the clients are lean (callbacks on raw sockets, the
 * secure one built from the library's core pieces, see
 * `scale/Connections.ts`) so they do not limit the servers. Linux only.
 *
 * Programmatic use (e.g. as a stage of `npm run bench`):
 *
 * ```ts
 * import * as Scale from "./scale.ts"
 * const { markdown, json } = await Scale.run({ quick: false }) // ≈ 90 s; quick ≈ 20 s
 * ```
 *
 * Command line: `node packages/bench/src/scale.ts [--quick] [--seconds N]
 * [--clients N] [--out DIR] [--profile DIR]`. It writes `scale.md` and
 * `scale.json` to `DIR` (default `bench/` at the repository root).
 * `--profile DIR` instead runs only one load row (secure TCP unless `--only
 * ID`, 10,000 connections unless `--loads N`) with `--cpu-prof` on the
 * server, writes the profile to `DIR` and prints where the server's time went
 * during the load.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import type * as Driver from "./harness/Driver.ts"
import * as Processes from "./harness/Processes.ts"
import * as Stats from "./harness/Stats.ts"
import type * as Connections from "./scale/Connections.ts"
import * as Ipc from "./scale/Ipc.ts"
import * as Probe from "./scale/Probe.ts"
import * as Profile from "./scale/Profile.ts"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Options of {@link run}; every field has a default for the mode.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Short pass (≈ 20 s): 1,000 idle and loaded connections, 2 s rows, TCP
   * servers only. Default `false` (≈ 90 s).
   */
  readonly quick?: boolean | undefined
  /** Connection counts of the load rows. Full: 1,000 and 10,000; quick: 1,000. */
  readonly loads?: ReadonlyArray<number> | undefined
  /** Seconds each connection sends for, per load row. Full: 5; quick: 2. */
  readonly seconds?: number | undefined
  /** Client processes per load row. Default 1 (see `scale/notes.md`). */
  readonly clients?: number | undefined
  /** Connections held idle for the memory rows. Full: 5,000; quick: 1,000. */
  readonly idleConnections?: number | undefined
  /** Server ids to run (see {@link servers}). Full: all but `net-unix`; quick: the TCP ones. */
  readonly only?: ReadonlyArray<string> | undefined
  /** Progress lines (default: to stderr). */
  readonly log?: ((line: string) => void) | undefined
}

/**
 * A server under test.
 *
 * @category models
 * @since 0.1.0
 */
export interface Server {
  readonly id: string
  readonly label: string
  readonly kind: Connections.Kind
  readonly transport: "tcp" | "unix"
  /** Whether the idle-memory row is measured for it. */
  readonly idle: boolean
  /** Run only when asked for by id (`only`), to keep the full pass within its time budget. */
  readonly extra?: boolean | undefined
  /** Whether the load rows are measured for it. Default: yes. */
  readonly load?: boolean | undefined
  /** Node options of the server process. */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * Memory of one server holding idle connections.
 *
 * @category models
 * @since 0.1.0
 */
export interface IdleRow {
  readonly server: string
  readonly label: string
  readonly connections: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly perConnection: number
  /** Of which: V8 heap and memory outside it (`external`: buffers, native objects), per connection. */
  readonly heapPerConnection: number
  readonly externalPerConnection: number
  /**
   * RSS per connection of the second half of the connections alone (opened
   * after the first half): the cost of one more connection, without what
   * the first connections paid once.
   */
  readonly marginalPerConnection: number
  /**
   * How much V8's young generation grew while the connections opened: a
   * one-off cost (it stops at V8's maximum, `--max-semi-space-size`), which
   * the RSS per connection includes.
   */
  readonly youngGenerationGrowth: number
}

/**
 * One load row.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoadRow {
  readonly server: string
  readonly label: string
  readonly connections: number
  readonly clientProcesses: number
  readonly seconds: number
  /** Time to open (and handshake) every connection, ms. */
  readonly openMs: number
  readonly sent: number
  readonly answered: number
  /** `sent − answered` after the drain period. */
  readonly lost: number
  /** Connections that closed during the load. */
  readonly closed: number
  /** Write → reply read, ms. */
  readonly latency: Stats.LatencySummary
  /** Latency p99 of the requests sent in each second of the load, ms. */
  readonly p99BySecond: ReadonlyArray<number>
  /** How late the clients wrote requests against the even schedule: p99 and max over all clients, ms. */
  readonly sendLagP99: number
  readonly sendLagMax: number
  /** Server RSS after GC before the connections opened, and its peak during the load, bytes. */
  readonly serverRssBefore: number
  readonly serverRssPeak: number
  readonly rssPerConnection: number
  readonly serverWindow: Probe.Window
  readonly clientWindows: ReadonlyArray<Probe.Window>
  /**
   * CPU used by the whole machine during the load, in cores (from
   * `/proc/stat`), and the part of it not used by this row's server and
   * clients: other processes competing for the machine.
   */
  readonly machineCores: number
  readonly otherCores: number
}

/**
 * Everything a run measured.
 *
 * @category models
 * @since 0.1.0
 */
export interface Results {
  readonly date: string
  readonly node: string
  readonly mode: "full" | "quick"
  readonly elapsedSeconds: number
  readonly requestBytes: number
  readonly memory: ReadonlyArray<IdleRow>
  readonly load: ReadonlyArray<LoadRow>
}

/**
 * The servers, in the order they run.
 *
 * @category servers
 * @since 0.1.0
 */
export const servers: ReadonlyArray<Server> = [
  { id: "secure-tcp", label: "secure daemon, TCP", kind: "secure", transport: "tcp", idle: true },
  {
    id: "secure-tcp-young",
    label: "secure daemon, TCP, `--max-semi-space-size=1`",
    kind: "secure",
    transport: "tcp",
    idle: true,
    load: false,
    execArgv: ["--max-semi-space-size=1"]
  },
  { id: "secure-unix", label: "secure daemon, Unix socket", kind: "secure", transport: "unix", idle: false },
  { id: "net-tcp", label: "node:net, TCP", kind: "net", transport: "tcp", idle: true },
  { id: "net-unix", label: "node:net, Unix socket", kind: "net", transport: "unix", idle: false, extra: true },
  { id: "tls-tcp", label: "node:tls 1.3, TCP", kind: "tls", transport: "tcp", idle: true }
]

// -----------------------------------------------------------------------------
// processes
// -----------------------------------------------------------------------------

const here = import.meta.dirname
const WARM_CONNECTIONS = 200
const DRAIN_MS = 3000
const OPEN_TIMEOUT_MS = 180_000

interface Running {
  readonly child: Ipc.Child
  readonly address: Driver.Address
}

/** Busy and total jiffies of the whole machine so far (`/proc/stat`). */
const machineTicks = (): { readonly busy: number; readonly total: number } => {
  const fields = Fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, total }
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const startServer = async (server: Server, socketDir: string, execArgv: ReadonlyArray<string>): Promise<Running> => {
  const args = ["--kind", server.kind]
  if (server.transport === "unix") args.push("--unix", Path.join(socketDir, `${server.id}.sock`))
  const child = Ipc.fork(Path.join(here, "scale/server.ts"), args, ["--expose-gc", ...execArgv])
  const ready = await child.next<Ipc.Message & { readonly address: Driver.Address }>("ready", 30_000)
  return { child, address: ready.address }
}

interface Memory {
  readonly rss: number
  readonly heapUsed: number
  readonly youngGeneration: number
  readonly external: number
}

const collect = async (server: Running): Promise<Memory> => {
  server.child.send({ type: "gc" })
  return await server.child.next<Ipc.Message & Memory>("gc", 30_000)
}

const markServer = async (server: Running): Promise<Probe.Window> => {
  server.child.send({ type: "mark" })
  return (await server.child.next<Ipc.Message & { readonly window: Probe.Window }>("mark", 30_000)).window
}

const addressArgs = (address: Driver.Address): Array<string> =>
  address.kind === "unix" ? ["--unix", address.path] : ["--port", String(address.port)]

/** Starts `processes` clients holding `count` connections in all; resolves once all are open. */
const openClients = async (
  kind: Connections.Kind,
  address: Driver.Address,
  count: number,
  processes: number
): Promise<{ readonly children: ReadonlyArray<Ipc.Child>; readonly openMs: number }> => {
  const perProcess = Math.ceil(count / processes)
  const children = Array.from({ length: processes }, (_, index) =>
    Ipc.fork(Path.join(here, "scale/client.ts"), [
      "--kind",
      kind,
      ...addressArgs(address),
      "--count",
      String(perProcess),
      "--index",
      String(index),
      "--clients",
      String(processes)
    ]))
  try {
    const opened = await Promise.all(
      children.map((child) => child.next<Ipc.Message & { readonly openMs: number }>("opened", OPEN_TIMEOUT_MS))
    )
    return { children, openMs: Math.max(...opened.map((o) => o.openMs)) }
  } catch (error) {
    await Promise.all(children.map((child) => child.stop()))
    throw error
  }
}

const stopAll = (children: ReadonlyArray<Ipc.Child>) => Promise.all(children.map((child) => child.stop()))

// -----------------------------------------------------------------------------
// measurements
// -----------------------------------------------------------------------------

/** Opens and closes a few connections, so that code loading and JIT do not count as per-connection memory. */
const warm = async (server: Server, running: Running): Promise<void> => {
  const warmers = await openClients(server.kind, running.address, WARM_CONNECTIONS, 1)
  await stopAll(warmers.children)
  await settle(500)
}

const idleMemory = async (
  server: Server,
  running: Running,
  connections: number,
  settleMs: number
): Promise<IdleRow> => {
  await warm(server, running)
  const before = await collect(running)
  const half = Math.floor(connections / 2)
  const first = await openClients(server.kind, running.address, half, 1)
  await settle(settleMs / 2)
  const middle = await collect(running)
  const second = await openClients(server.kind, running.address, connections - half, 1)
  await settle(settleMs)
  const after = await collect(running)
  await stopAll([...first.children, ...second.children])
  return {
    server: server.id,
    label: server.label,
    connections,
    rssBefore: before.rss,
    rssAfter: after.rss,
    perConnection: (after.rss - before.rss) / connections,
    heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
    externalPerConnection: (after.external - before.external) / connections,
    marginalPerConnection: (after.rss - middle.rss) / (connections - half),
    youngGenerationGrowth: after.youngGeneration - before.youngGeneration
  }
}

interface ClientResult extends Ipc.Message {
  readonly sent: number
  readonly answered: number
  readonly closed: number
  readonly latencies: Float64Array
  readonly sentAt: Float64Array
  readonly sendLag: Stats.LatencySummary
  readonly window: Probe.Window
}

const concat = (arrays: ReadonlyArray<Float64Array>): Float64Array => {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0))
  let offset = 0
  for (const a of arrays) {
    out.set(a, offset)
    offset += a.length
  }
  return out
}

const p99BySecond = (latencies: Float64Array, sentAt: Float64Array, seconds: number): Array<number> => {
  const buckets = Array.from({ length: seconds }, (): Array<number> => [])
  for (let i = 0; i < latencies.length; i++) {
    buckets[Math.min(seconds - 1, Math.max(0, Math.floor(sentAt[i] / 1000)))].push(latencies[i])
  }
  return buckets.map((bucket) => Stats.latency(bucket).p99)
}

const loadRow = async (
  server: Server,
  running: Running,
  connections: number,
  seconds: number,
  processes: number
): Promise<LoadRow> => {
  await settle(300)
  const serverRssBefore = (await collect(running)).rss
  const { children, openMs } = await openClients(server.kind, running.address, connections, processes)
  try {
    await markServer(running)
    const ticksBefore = machineTicks()
    for (const child of children) child.send({ type: "load", seconds, drainMs: DRAIN_MS })
    const results = await Promise.all(
      children.map((child) => child.next<ClientResult>("result", seconds * 1000 + DRAIN_MS + 60_000))
    )
    const ticksAfter = machineTicks()
    const serverWindow = await markServer(running)
    const cores = Os.cpus().length
    const machineCores = ((ticksAfter.busy - ticksBefore.busy) / (ticksAfter.total - ticksBefore.total)) * cores
    const ownCores = serverWindow.cpuShare + results.reduce((n, r) => n + r.window.cpuShare, 0)
    const sent = results.reduce((n, r) => n + r.sent, 0)
    const answered = results.reduce((n, r) => n + r.answered, 0)
    const opened = Math.ceil(connections / processes) * processes
    const latencies = concat(results.map((r) => r.latencies))
    return {
      server: server.id,
      label: server.label,
      connections: opened,
      clientProcesses: processes,
      seconds,
      openMs,
      sent,
      answered,
      lost: sent - answered,
      closed: results.reduce((n, r) => n + r.closed, 0),
      latency: Stats.latency(latencies),
      p99BySecond: p99BySecond(latencies, concat(results.map((r) => r.sentAt)), seconds),
      sendLagP99: Math.max(...results.map((r) => r.sendLag.p99)),
      sendLagMax: Math.max(...results.map((r) => r.sendLag.max)),
      serverRssBefore,
      serverRssPeak: serverWindow.rssPeak,
      rssPerConnection: (serverWindow.rssPeak - serverRssBefore) / opened,
      serverWindow,
      clientWindows: results.map((r) => r.window),
      machineCores,
      otherCores: Math.max(0, machineCores - ownCores)
    }
  } finally {
    await stopAll(children)
  }
}

// -----------------------------------------------------------------------------
// report
// -----------------------------------------------------------------------------

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`
const percent = (share: number) => `${(share * 100).toFixed(0)} %`
const count = (n: number) => n.toLocaleString("en-US")

const notesPath = Path.join(here, "scale/notes.md")

const targets = (results: Results): Array<string> => {
  const lines: Array<string> = []
  const idleSecure = results.memory.find((m) => m.server === "secure-tcp")
  if (idleSecure !== undefined) {
    const met = idleSecure.perConnection <= 10 * 1024
    lines.push(
      `- RSS per idle secure connection ≤ 10 KiB at 5,000 connections: ${kib(idleSecure.perConnection)} at ${
        count(idleSecure.connections)
      } — ${met ? "met" : "**not met**"} (of which V8 heap ${kib(idleSecure.heapPerConnection)}; the young generation grew by ${
        mib(idleSecure.youngGenerationGrowth)
      } meanwhile).`
    )
  }
  const capped = results.memory.find((m) => m.server === "secure-tcp-young")
  if (capped !== undefined) {
    const met = capped.perConnection <= 10 * 1024
    lines.push(
      `- The same with V8's young generation capped (\`node --max-semi-space-size=1\`): ${kib(capped.perConnection)} at ${
        count(capped.connections)
      } (second half alone ${kib(capped.marginalPerConnection)}) — ${met ? "met" : "**not met**"}.`
    )
  }
  for (const row of results.load.filter((r) => r.server.startsWith("secure-") && r.connections >= 10_000)) {
    const met = row.lost === 0 && row.latency.p99 < 20
    lines.push(
      `- ${count(row.connections)} connections with zero lost messages and p99 < 20 ms (${row.label}): ${
        count(row.lost)
      } lost, p99 ${ms(row.latency.p99)} — ${met ? "met" : "**not met**"}.`
    )
  }
  return lines
}

/**
 * The Markdown report of a run (static notes from `scale/notes.md` at the end).
 *
 * @category report
 * @since 0.1.0
 */
export const markdown = (results: Results): string => {
  const loadSeconds = results.load[0]?.seconds ?? 0
  const notes = Fs.existsSync(notesPath) ? Fs.readFileSync(notesPath, "utf8").trim() : ""
  return [
    "# Scale benchmarks",
    "",
    `Run on ${results.date}, Node ${results.node}, ${results.mode} mode (\`npm run bench:scale${
      results.mode === "quick" ? " -- --quick" : ""
    }\`), ${results.elapsedSeconds.toFixed(0)} s, on ${Os.cpus().length} vCPUs. Servers and clients are separate processes on loopback.`,
    "",
    `## Memory per idle connection (server RSS after GC)`,
    "",
    "RSS per connection: the server's RSS growth divided by the connections. Of which V8 heap / external: the",
    "live heap and off-heap memory per connection. Second half: RSS growth per connection while the second half of",
    "the connections opened. Young generation growth: how much V8's young generation (new space) grew meanwhile,",
    "a one-off cost included in the RSS (V8 grows it when many allocations survive, up to `--max-semi-space-size`).",
    "",
    "| server | connections | RSS before | RSS with connections | per connection | of which V8 heap | of which external | second half, per connection | young generation growth |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.memory.map((m) =>
      `| ${m.label} | ${count(m.connections)} | ${mib(m.rssBefore)} | ${mib(m.rssAfter)} | ${kib(m.perConnection)} | ${
        kib(m.heapPerConnection)
      } | ${kib(m.externalPerConnection)} | ${kib(m.marginalPerConnection)} | ${mib(m.youngGenerationGrowth)} |`
    ),
    "",
    `## Load: every connection sends one ${results.requestBytes} B request per second for ${loadSeconds} s`,
    "",
    "Requests are spread evenly over each second. Latency runs from just before a request is written to the read",
    `that completed its reply; lost = sent − answered after a ${DRAIN_MS / 1000} s drain. RSS per connection: the`,
    "server's peak RSS during the load minus its RSS (after GC) before the connections opened (one server process",
    "per server for its load rows, warmed with 200 connections, so the 10,000 row comes after the 1,000 row).",
    "CPU: share of one core over the load (server, then each client process); loop p99: event-loop delay p99.",
    "",
    "| server | connections | sent | answered | lost | p50 | p90 | p99 | max | RSS / conn. | server CPU | server loop p99 | client CPU | client loop p99 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.load.map((r) =>
      `| ${r.label} | ${count(r.connections)} | ${count(r.sent)} | ${count(r.answered)} | ${count(r.lost)} | ${
        ms(r.latency.p50)
      } | ${ms(r.latency.p90)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ${kib(r.rssPerConnection)} | ${
        percent(r.serverWindow.cpuShare)
      } | ${ms(r.serverWindow.loopDelayP99)} | ${r.clientWindows.map((w) => percent(w.cpuShare)).join(" + ")} | ${
        ms(Math.max(...r.clientWindows.map((w) => w.loopDelayP99)))
      } |`
    ),
    "",
    "Opening the connections (handshakes included), how late the clients wrote against the even schedule,",
    "the latency p99 of the requests sent in each second of the load, and the CPU other processes used meanwhile",
    `(machine busy minus this row's server and clients, in cores of ${Os.cpus().length}):`,
    "",
    "| server | connections | open time | send lag p99 | send lag max | p99 by second (ms) | other processes |",
    "|---|---:|---:|---:|---:|---|---:|",
    ...results.load.map((r) =>
      `| ${r.label} | ${count(r.connections)} | ${(r.openMs / 1000).toFixed(2)} s | ${ms(r.sendLagP99)} | ${
        ms(r.sendLagMax)
      } | ${r.p99BySecond.map(Stats.sig3).join(" · ")} | ${r.otherCores.toFixed(2)} |`
    ),
    "",
    "## Targets",
    "",
    ...targets(results),
    "",
    ...(notes === "" ? [] : [notes, ""])
  ].join("\n")
}

// -----------------------------------------------------------------------------
// run
// -----------------------------------------------------------------------------

/**
 * Runs the scale benchmarks and returns the report and the figures; writes
 * nothing (the command line writes `scale.md` and `scale.json`).
 *
 * @category running
 * @since 0.1.0
 */
export const run = async (options: Options = {}): Promise<{ readonly markdown: string; readonly json: Results }> => {
  const quick = options.quick === true
  const loads = options.loads ?? (quick ? [1000] : [1000, 10_000])
  const seconds = options.seconds ?? (quick ? 2 : 5)
  const processes = options.clients ?? 1
  const idleConnections = options.idleConnections ?? (quick ? 1000 : 5000)
  const started = performance.now()
  const print = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const log = (line: string) => print(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`)
  const picked = servers.filter((s) =>
    options.only !== undefined ? options.only.includes(s.id) : s.extra !== true && (!quick || s.transport === "tcp")
  )
  const socketDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-scale-"))
  const removeDir = () => Fs.rmSync(socketDir, { recursive: true, force: true })
  const unregister = Processes.onCleanup(removeDir)
  const memory: Array<IdleRow> = []
  const load: Array<LoadRow> = []
  try {
    for (const server of picked) {
      if (server.idle) {
        log(`scale: ${server.label}, ${count(idleConnections)} idle connections…`)
        const fresh = await startServer(server, socketDir, server.execArgv ?? [])
        try {
          memory.push(await idleMemory(server, fresh, idleConnections, quick ? 500 : 1500))
        } finally {
          await fresh.child.stop()
        }
      }
      if (server.load === false) continue
      const running = await startServer(server, socketDir, server.execArgv ?? [])
      try {
        await warm(server, running)
        for (const connections of loads) {
          log(`scale: ${server.label}, ${count(connections)} connections × 1 request/s for ${seconds} s…`)
          const row = await loadRow(server, running, connections, seconds, processes)
          log(`  lost ${row.lost}, p99 ${ms(row.latency.p99)}, server CPU ${percent(row.serverWindow.cpuShare)}`)
          load.push(row)
        }
      } finally {
        await running.child.stop()
      }
    }
  } finally {
    unregister()
    removeDir()
  }
  const json: Results = {
    date: new Date().toISOString(),
    node: process.version,
    mode: quick ? "quick" : "full",
    elapsedSeconds: (performance.now() - started) / 1000,
    requestBytes: 64,
    memory,
    load
  }
  return { markdown: markdown(json), json }
}

/**
 * Runs one load row of one server (by id, e.g. `"secure-tcp"`) with
 * `--cpu-prof` on the server and summarizes the part of the profile written
 * to `profileDir` that covers the load.
 *
 * @category running
 * @since 0.1.0
 */
export const profile = async (
  profileDir: string,
  options: {
    readonly server: string
    readonly connections: number
    readonly seconds: number
    readonly clients: number
  }
): Promise<{ readonly row: LoadRow; readonly summary: Profile.Summary; readonly file: string }> => {
  const server = servers.find((s) => s.id === options.server)
  if (server === undefined) throw new Error(`unknown server ${options.server}`)
  Fs.mkdirSync(profileDir, { recursive: true })
  const before = new Set(Fs.readdirSync(profileDir))
  const running = await startServer(server, profileDir, ["--cpu-prof", "--cpu-prof-dir", profileDir])
  let row: LoadRow
  try {
    await warm(server, running)
    row = await loadRow(server, running, options.connections, options.seconds, options.clients)
  } finally {
    await running.child.stop()
  }
  const written = Fs.readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f))
  if (written.length === 0) throw new Error(`no profile written to ${profileDir}`)
  const file = Path.join(profileDir, written[0])
  return { row, summary: Profile.summarizeFile(file, 25, row.serverWindow), file }
}

/**
 * Writes `scale.md` and `scale.json` into `outDir`; returns their paths.
 *
 * @category report
 * @since 0.1.0
 */
export const write = (
  outDir: string,
  result: { readonly markdown: string; readonly json: Results }
): ReadonlyArray<string> => {
  Fs.mkdirSync(outDir, { recursive: true })
  const files = [Path.join(outDir, "scale.md"), Path.join(outDir, "scale.json")]
  Fs.writeFileSync(files[0], result.markdown)
  Fs.writeFileSync(files[1], `${JSON.stringify(result.json, null, 2)}\n`)
  return files
}

// -----------------------------------------------------------------------------
// command line
// -----------------------------------------------------------------------------

if (import.meta.main) {
  const { values } = Util.parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      seconds: { type: "string" },
      clients: { type: "string" },
      loads: { type: "string" },
      only: { type: "string" },
      out: { type: "string" },
      profile: { type: "string" }
    }
  })
  Processes.installCleanup()
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds)
  const clients = values.clients === undefined ? undefined : Number(values.clients)
  const loads = values.loads?.split(",").map(Number)
  if (values.profile !== undefined) {
    const result = await profile(Path.resolve(values.profile), {
      server: values.only ?? "secure-tcp",
      connections: loads?.[0] ?? 10_000,
      seconds: seconds ?? 5,
      clients: clients ?? 1
    })
    const r = result.row
    process.stdout.write(
      `${r.label}, ${count(r.connections)} connections: lost ${r.lost}, p50 ${ms(r.latency.p50)}, p99 ${
        ms(r.latency.p99)
      }, server CPU ${percent(r.serverWindow.cpuShare)}\nprofile: ${result.file}\n\n${Profile.markdown(result.summary)}`
    )
  } else {
    const { markdown: text, json } = await run({
      quick: values.quick,
      seconds,
      clients,
      loads,
      only: values.only?.split(",")
    })
    write(Path.resolve(values.out ?? Path.join(here, "../../../bench")), { markdown: text, json })
    process.stdout.write(text)
  }
}
