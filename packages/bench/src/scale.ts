/**
 * Scale benchmarks (`npm run bench:scale`, `-- --quick` for smaller counts):
 *
 * 1. **Memory per idle connection.** A server process (`--expose-gc`) holds N
 *    idle connections from a client process; the server's RSS after two GCs,
 *    minus its RSS before, divided by N. Our secure daemon against raw
 *    `node:net` and `node:tls` 1.3 servers, in the same run.
 * 2. **Many concurrent connections.** 10,000 secure connections, each sending
 *    one 64-byte Echo per second for 10 s: messages lost and latency.
 *
 * Writes `bench/scale.md` and `bench/scale.json`. Linux only (reads RSS
 * from /proc).
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Util from "node:util"
import * as Processes from "./harness/Processes.ts"
import * as Stats from "./harness/Stats.ts"

const { values } = Util.parseArgs({ options: { quick: { type: "boolean", default: false } } })
const idleCount = values.quick ? 1000 : 5000
const loadCount = values.quick ? 2000 : 10_000
const loadSeconds = values.quick ? 5 : 10
const here = import.meta.dirname
const outDir = Path.resolve(here, "../../../bench")

const rssOf = (pid: number): number => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  if (match === null) throw new Error(`no VmRSS for ${pid}`)
  return Number(match[1]) * 1024
}

interface Server {
  readonly child: Processes.Child
  readonly port: number
  readonly settledRss: () => Promise<number>
}

const startServer = (kind: string) =>
  new Promise<Server>((resolve, reject) => {
    let onGc: (() => void) | undefined
    const child = Processes.spawn(
      { script: Path.join(here, "scale/server.ts"), args: ["--kind", kind], execArgv: ["--expose-gc"] },
      (line) => {
        if (line.startsWith("@@ready ")) {
          const { port } = JSON.parse(line.slice(8)) as { port: number }
          resolve({
            child,
            port,
            settledRss: () =>
              new Promise<number>((done) => {
                onGc = () => done(rssOf(child.pid))
                process.kill(child.pid, "SIGUSR2")
              })
          })
        } else if (line === "@@gc") {
          onGc?.()
          onGc = undefined
        }
      }
    )
    void child.exited.then((code) => reject(new Error(`server ${kind} exited (${code})`)))
  })

const openClients = (kind: string, port: number, count: number, mode: "idle" | "load") =>
  new Promise<Processes.Child>((resolve, reject) => {
    const child = Processes.spawn(
      {
        script: Path.join(here, "scale/client.ts"),
        args: ["--kind", kind, "--port", String(port), "--count", String(count), "--mode", mode]
      },
      (line) => {
        if (line === "@@opened") resolve(child)
      }
    )
    void child.exited.then((code) => reject(new Error(`client ${kind} exited (${code}) before opening`)))
  })

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const idleMemory = async (kind: string) => {
  const server = await startServer(kind)
  try {
    // warm the server's code paths and heap first
    const warm = await openClients(kind, server.port, 200, "idle")
    await warm.stop()
    await settle(500)
    const before = await server.settledRss()
    const clients = await openClients(kind, server.port, idleCount, "idle")
    await settle(1500)
    const after = await server.settledRss()
    await clients.stop()
    return { kind, connections: idleCount, rssBefore: before, rssAfter: after, perConnection: (after - before) / idleCount }
  } finally {
    await server.child.stop()
  }
}

interface LoadResult {
  readonly connections: number
  readonly sent: number
  readonly received: number
  readonly failed: number
  readonly latency: Stats.LatencySummary
}

const load = async () => {
  const server = await startServer("secure")
  try {
    return await Processes.runForResult<LoadResult>({
      script: Path.join(here, "scale/client.ts"),
      args: ["--kind", "secure", "--port", String(server.port), "--count", String(loadCount), "--mode", "load", "--seconds", String(loadSeconds)]
    }, 180_000)
  } finally {
    await server.child.stop()
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

Processes.installCleanup()
const memory = []
for (const kind of ["tcp", "tls", "secure"]) {
  process.stderr.write(`idle memory: ${kind}, ${idleCount} connections…\n`)
  memory.push(await idleMemory(kind))
}
process.stderr.write(`load: ${loadCount} secure connections × 1 request/s for ${loadSeconds} s…\n`)
const loaded = await load()

const lines = [
  "# Scale benchmarks",
  "",
  `Run on ${new Date().toISOString()}, Node ${process.version}, ${values.quick ? "quick" : "full"} mode.`,
  "",
  `## Memory per idle connection (${idleCount} connections, server RSS after GC)`,
  "",
  "| server | RSS before | RSS with connections | per connection |",
  "|---|---:|---:|---:|",
  ...memory.map((m) => `| ${m.kind} | ${mib(m.rssBefore)} | ${mib(m.rssAfter)} | ${kib(m.perConnection)} |`),
  "",
  "Target: ≤ 10 KiB per idle secure connection.",
  "",
  `## ${loaded.connections} concurrent secure connections, one 64 B Echo per second each, ${loadSeconds} s`,
  "",
  "| sent | answered | lost | p50 | p90 | p99 | max |",
  "|---:|---:|---:|---:|---:|---:|---:|",
  `| ${loaded.sent} | ${loaded.received} | ${loaded.failed} | ${loaded.latency.p50.toFixed(2)} ms | ${loaded.latency.p90.toFixed(2)} ms | ${loaded.latency.p99.toFixed(2)} ms | ${loaded.latency.max.toFixed(2)} ms |`,
  "",
  "Target: zero lost messages, p99 < 20 ms.",
  ""
]
Fs.mkdirSync(outDir, { recursive: true })
Fs.writeFileSync(Path.join(outDir, "scale.md"), lines.join("\n"))
Fs.writeFileSync(Path.join(outDir, "scale.json"), JSON.stringify({ memory, load: loaded }, null, 2))
process.stdout.write(lines.join("\n"))
