/**
 * Runs network scenarios against contenders and collects {@link Results.Results}.
 *
 * A **scenario** is a workload (ping-pong, window, connect) with its sizes; a
 * **contender** is a server command plus a client driver module. The runner
 * starts every contender's server once (in its own process), then for each
 * round, each scenario and each contender — in an order rotated every round —
 * runs one client process that warms up and measures. So the contenders of a
 * scenario are measured next to each other in every round, which is what the
 * per-round paired ratios rely on. Everything is bounded: each client run by
 * a timeout, the whole run by a time budget (remaining rounds are dropped and
 * the report says so), and every child process is stopped at the end, on
 * error and on SIGINT.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Client from "../client.ts"
import type * as Driver from "./Driver.ts"
import * as Processes from "./Processes.ts"
import * as Progress from "./Progress.ts"
import * as Results from "./Results.ts"
import * as SelfSigned from "./SelfSigned.ts"
import type * as Workload from "./Workload.ts"

/**
 * A measured situation.
 *
 * @category models
 * @since 0.1.0
 */
export interface Scenario {
  /** File-name safe, e.g. `"pingpong-64"`. */
  readonly id: string
  readonly title: string
  readonly description: string
  readonly workload: Workload.Workload
  readonly metric: Results.Metric
  readonly unit: string
  /** Upper bound of measured operations per run. */
  readonly maxOps: number
  /** The overview table it is listed in, with the scenarios of the same group (default: the first table). */
  readonly group?: string | undefined
}

/**
 * What a contender's setup functions can use.
 *
 * @category models
 * @since 0.1.0
 */
export interface SetupContext {
  /** A private temporary directory, removed at the end. */
  readonly tmpDir: string
  /** PEM files of a self-signed ECDSA P-256 certificate for `localhost` and 127.0.0.1, made for this run. */
  readonly tls: { readonly certPath: string; readonly keyPath: string }
  /** A fresh Unix socket path inside `tmpDir`. */
  readonly unixPath: (name: string) => string
  /** This package's `src` directory, to locate scripts. */
  readonly srcDir: string
}

/**
 * The client side of a contender: a driver module and its options.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientCommand {
  /** Absolute path of a module exporting `make(options): ClientDriver`. */
  readonly driver: string
  readonly options: Driver.DriverOptions
}

/**
 * Something to measure: a server process and the client driver that talks to it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Contender {
  /** Stable, file-name safe, e.g. `"tcp"` or `"np-secure-sodium"`. */
  readonly id: string
  readonly label: string
  readonly kind: "baseline" | "library"
  /** `"tcp"`, `"unix"` or `"tls"` — shown in ratio column headers (`×TCP`). */
  readonly transport: string
  /** Ratios of every contender to this one are computed (e.g. raw TCP, TLS). */
  readonly reference?: boolean | undefined
  /** A sentence for the report, e.g. what `size` means for this contender. */
  readonly note?: string | undefined
  readonly server: (context: SetupContext) => Processes.Command
  readonly client: (context: SetupContext) => ClientCommand
  /** Which scenarios apply (default: all). */
  readonly supports?: ((scenario: Scenario) => boolean) | undefined
  /** Resolves to a reason when the contender cannot run here (e.g. a native module is missing). */
  readonly unavailable?: (() => Promise<string | undefined>) | undefined
}

/**
 * Settings of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly mode: "quick" | "full"
  readonly rounds: number
  readonly warmupMs: number
  readonly measureMs: number
  /** Total time budget; no run starts that would likely end after it. */
  readonly budgetMs: number
  /** Upper bound of client run time beyond warm-up + measurement. */
  readonly slackMs?: number | undefined
  readonly progress?: Progress.Sink | undefined
}

/**
 * This package's `src` directory.
 *
 * @category constants
 * @since 0.1.0
 */
export const srcDir: string = Path.resolve(import.meta.dirname, "..")

/**
 * A fresh self-signed ECDSA P-256 certificate for `localhost` and 127.0.0.1:
 * made by the library's own `@network-protocol/transport/Certificate` when it
 * loads, else by the bench's `SelfSigned` (same shape of certificate).
 *
 * @category tls
 * @since 0.1.0
 */
export const certificate = async (): Promise<{ readonly material: SelfSigned.Material; readonly source: string }> => {
  try {
    const Certificate = await import("@network-protocol/transport/Certificate")
    const made = Effect.runSync(Certificate.generate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }))
    return {
      material: { certPem: made.certPem, keyPem: made.keyPem },
      source: "@network-protocol/transport/Certificate"
    }
  } catch {
    return { material: SelfSigned.make(), source: "bench harness/SelfSigned" }
  }
}

const makeContext = (tmpDir: string, material: SelfSigned.Material): SetupContext => {
  const certPath = Path.join(tmpDir, "cert.pem")
  const keyPath = Path.join(tmpDir, "key.pem")
  Fs.writeFileSync(certPath, material.certPem)
  Fs.writeFileSync(keyPath, material.keyPem, { mode: 0o600 })
  let sockets = 0
  return {
    tmpDir,
    srcDir,
    tls: { certPath, keyPath },
    unixPath: (name) => Path.join(tmpDir, `${name}-${++sockets}.sock`)
  }
}

const meta = (
  options: Options,
  roundsDone: number,
  elapsedMs: number,
  truncated: boolean,
  tlsCertificate: string
): Results.Meta => {
  const cpus = Os.cpus()
  return {
    date: new Date().toISOString(),
    mode: options.mode,
    node: process.versions.node,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cpus: cpus.length,
    loadavg: Os.loadavg(),
    roundsPlanned: options.rounds,
    roundsDone,
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
    elapsedSec: elapsedMs / 1000,
    truncated,
    tlsCertificate
  }
}

interface Live {
  readonly contender: Contender
  readonly context: SetupContext
  server: { readonly child: Processes.Child; readonly address: Driver.Address } | undefined
}

const ensureServer = async (live: Live): Promise<Driver.Address> => {
  if (live.server !== undefined) {
    if (live.server.child.isRunning()) return live.server.address
    live.server = undefined
  }
  live.server = await Processes.startServer<Driver.Address>(live.contender.server(live.context))
  return live.server.address
}

/**
 * Runs every scenario against every applicable contender.
 *
 * @category running
 * @since 0.1.0
 */
export const run = async (
  scenarios: ReadonlyArray<Scenario>,
  contenders: ReadonlyArray<Contender>,
  options: Options
): Promise<Results.Results> => {
  const started = performance.now()
  const deadline = started + options.budgetMs
  const slackMs = options.slackMs ?? 15_000
  const tmpDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-bench-"))
  const removeTmp = () => Fs.rmSync(tmpDir, { recursive: true, force: true })
  const unregister = Processes.onCleanup(removeTmp)
  const tls = await certificate()
  const context = makeContext(tmpDir, tls.material)

  const infos: Array<Results.ContenderInfo> = []
  const lives: Array<Live> = []
  for (const contender of contenders) {
    const skipped = await (contender.unavailable?.() ?? Promise.resolve(undefined))
    infos.push({
      id: contender.id,
      label: contender.label,
      kind: contender.kind,
      transport: contender.transport,
      reference: contender.reference === true,
      ...(contender.note === undefined ? {} : { note: contender.note }),
      ...(skipped === undefined ? {} : { skipped })
    })
    if (skipped === undefined) lives.push({ contender, context, server: undefined })
  }

  const runs = new Map<string, Map<string, Array<Workload.RunResult | null>>>()
  const errors = new Map<string, Map<string, Array<string>>>()
  for (const scenario of scenarios) {
    runs.set(scenario.id, new Map())
    errors.set(scenario.id, new Map())
  }
  const plan = scenarios.map((s) => lives.filter((l) => l.contender.supports?.(s) ?? true))
  const perRound = plan.reduce((n, p) => n + p.length, 0)
  const progress = Progress.make({ title: "bench", total: perRound * options.rounds, sink: options.progress })
  // A run costs warm-up + measurement + process start-up: the longest run so far is the estimate.
  let runCostMs = options.warmupMs + options.measureMs + 300
  let roundsDone = 0
  let truncated = false

  try {
    rounds: for (let round = 0; round < options.rounds; round++) {
      for (let si = 0; si < scenarios.length; si++) {
        const scenario = scenarios[si]
        const entrants = plan[si]
        for (let k = 0; k < entrants.length; k++) {
          const live = entrants[(k + round) % entrants.length]
          const id = live.contender.id
          if (performance.now() + runCostMs > deadline) {
            truncated = true
            progress.log(`time budget reached: stopping after ${roundsDone} complete round(s)`)
            break rounds
          }
          progress.step(`round ${round + 1}/${options.rounds} · ${scenario.id} · ${id}`)
          const slots = runs.get(scenario.id)!
          const list = slots.get(id) ?? Array.from({ length: options.rounds }, () => null)
          slots.set(id, list)
          const t = performance.now()
          try {
            const address = await ensureServer(live)
            const client = live.contender.client(context)
            const spec: Client.ClientSpec = {
              driver: client.driver,
              options: client.options,
              address,
              workload: scenario.workload,
              limits: { warmupMs: options.warmupMs, measureMs: options.measureMs, maxOps: scenario.maxOps }
            }
            const outcome = await Processes.runForResult<Client.ClientOutcome>(
              { script: Path.join(srcDir, "client.ts"), args: [JSON.stringify(spec)] },
              options.warmupMs + options.measureMs + slackMs
            )
            if (outcome.ok) list[round] = outcome.result
            else throw new Error(outcome.error)
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            const scenarioErrors = errors.get(scenario.id)!
            scenarioErrors.set(id, [...(scenarioErrors.get(id) ?? []), message])
            progress.log(`${scenario.id} · ${id}: ${message}`)
          }
          runCostMs = Math.max(runCostMs, performance.now() - t)
        }
      }
      roundsDone++
    }
  } finally {
    progress.done()
    await Promise.all(lives.map((l) => l.server?.child.stop()))
    removeTmp()
    unregister()
  }

  const scenarioResults: Array<Results.ScenarioResult> = scenarios.map((scenario) => {
    const scenarioRuns = Object.fromEntries(runs.get(scenario.id)!)
    return {
      id: scenario.id,
      title: scenario.title,
      ...(scenario.group === undefined ? {} : { group: scenario.group }),
      description: scenario.description,
      workload: scenario.workload,
      metric: scenario.metric,
      unit: scenario.unit,
      runs: scenarioRuns,
      errors: Object.fromEntries(errors.get(scenario.id)!),
      summary: Results.summarize(scenarioRuns, scenario.metric, infos)
    }
  })
  return {
    meta: meta(options, roundsDone, performance.now() - started, truncated, tls.source),
    contenders: infos,
    scenarios: scenarioResults
  }
}
