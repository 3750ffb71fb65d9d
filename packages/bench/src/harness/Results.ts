/**
 * The results of a network benchmark run, as written to `bench/results.json`,
 * and the pure summary step: per contender the median over rounds of every
 * figure, the [min–max] spread, and the median per-round paired ratio to each
 * reference contender.
 *
 * @since 0.1.0
 */
import * as Stats from "./Stats.ts"
import type * as Workload from "./Workload.ts"

/**
 * The figure a scenario ranks contenders by (higher is better for both).
 *
 * @category models
 * @since 0.1.0
 */
export type Metric = "opsPerSec" | "mbPerSec"

/**
 * Facts about the machine and the run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Meta {
  readonly date: string
  readonly mode: "quick" | "full"
  readonly node: string
  readonly v8: string
  readonly openssl: string
  readonly platform: string
  readonly cpu: string
  readonly cpus: number
  readonly loadavg: ReadonlyArray<number>
  readonly roundsPlanned: number
  readonly roundsDone: number
  readonly warmupMs: number
  readonly measureMs: number
  readonly elapsedSec: number
  /** Set when the time budget cut the run short. */
  readonly truncated: boolean
  /** What made the TLS certificate. */
  readonly tlsCertificate: string
}

/**
 * A contender as recorded in the results.
 *
 * @category models
 * @since 0.1.0
 */
export interface ContenderInfo {
  readonly id: string
  readonly label: string
  readonly kind: "baseline" | "library"
  readonly transport: string
  readonly reference: boolean
  readonly note?: string | undefined
  /** Why the contender was not run, if it was not. */
  readonly skipped?: string | undefined
}

/**
 * A contender's figures in one scenario, over all rounds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly contender: string
  /** Rounds with a result. */
  readonly rounds: number
  /** Median of the scenario's metric. */
  readonly value: number
  readonly min: number
  readonly max: number
  readonly opsPerSec: number
  readonly mbPerSec: number
  /** Medians over rounds of each round's percentiles, µs (latency workloads only). */
  readonly latencyUs?: { readonly p50: number; readonly p90: number; readonly p99: number } | undefined
  /** Median per-round paired ratio of the metric to each reference contender, by id. */
  readonly ratios: Readonly<Record<string, number>>
  /** Facts the driver reported, e.g. the TLS cipher. */
  readonly info?: Readonly<Record<string, string>> | undefined
}

/**
 * One scenario's raw runs and summary.
 *
 * @category models
 * @since 0.1.0
 */
export interface ScenarioResult {
  readonly id: string
  readonly title: string
  /** Its overview table (none: the first). */
  readonly group?: string | undefined
  readonly description: string
  readonly workload: Workload.Workload
  readonly metric: Metric
  /** Unit of the metric, e.g. `"msg/s"`. */
  readonly unit: string
  /** Per contender id, one entry per round (`null`: not run or failed that round). */
  readonly runs: Readonly<Record<string, ReadonlyArray<Workload.RunResult | null>>>
  readonly errors: Readonly<Record<string, ReadonlyArray<string>>>
  readonly summary: ReadonlyArray<Summary>
}

/**
 * Everything `bench/results.json` holds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Results {
  readonly meta: Meta
  readonly contenders: ReadonlyArray<ContenderInfo>
  readonly scenarios: ReadonlyArray<ScenarioResult>
}

const pick = (runs: ReadonlyArray<Workload.RunResult | null>, f: (r: Workload.RunResult) => number) =>
  runs.map((r) => (r === null ? Number.NaN : f(r)))

/**
 * Summarizes the runs of one scenario, in the order of `contenders`
 * (contenders without any run are left out). Pure.
 *
 * @category summarizing
 * @since 0.1.0
 */
export const summarize = (
  runs: Readonly<Record<string, ReadonlyArray<Workload.RunResult | null>>>,
  metric: Metric,
  contenders: ReadonlyArray<Pick<ContenderInfo, "id" | "reference">>
): Array<Summary> => {
  const references = contenders.filter((c) => c.reference && runs[c.id] !== undefined)
  const out: Array<Summary> = []
  for (const contender of contenders) {
    const own = runs[contender.id]
    if (own === undefined) continue
    const values = pick(own, (r) => r[metric])
    const [min, max] = Stats.range(values)
    const ratios: Record<string, number> = {}
    for (const reference of references) {
      ratios[reference.id] = Stats.pairedRatio(values, pick(runs[reference.id], (r) => r[metric]))
    }
    const withLatency = own.filter((r): r is Workload.RunResult => r !== null && r.latencyUs !== undefined)
    const info = own.find((r) => r?.info !== undefined && Object.keys(r.info).length > 0)?.info
    out.push({
      contender: contender.id,
      rounds: values.filter(Number.isFinite).length,
      value: Stats.median(values),
      min,
      max,
      opsPerSec: Stats.median(pick(own, (r) => r.opsPerSec)),
      mbPerSec: Stats.median(pick(own, (r) => r.mbPerSec)),
      ...(withLatency.length === 0 ? {} : {
        latencyUs: {
          p50: Stats.median(withLatency.map((r) => r.latencyUs!.p50)),
          p90: Stats.median(withLatency.map((r) => r.latencyUs!.p90)),
          p99: Stats.median(withLatency.map((r) => r.latencyUs!.p99))
        }
      }),
      ratios,
      ...(info === undefined ? {} : { info })
    })
  }
  return out
}
