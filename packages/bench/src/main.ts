/**
 * `npm run bench`: every network scenario against every available contender,
 * then `bench/report.md`, one SVG chart per scenario and `bench/results.json`.
 *
 * ```sh
 * npm run bench                      # full: 6 rounds × (0.2 s warm-up + 0.8 s) + scale, ≤ 10 minutes
 * npm run bench -- --quick           # 1 round × (0.1 s warm-up + 0.2 s) + quick scale, about 1 minute
 * npm run bench -- --only tcp,tls --scenarios pingpong-64,connect --out bench/out
 * ```
 *
 * Options: `--quick`, `--rounds n`, `--warmup-ms n`, `--measure-ms n`,
 * `--budget-s n` (total time budget), `--only id,…` (contenders),
 * `--scenarios id,…`, `--out dir` (default `bench/` at the repository root),
 * `--no-scale` (skip the scale stage).
 *
 * After the network scenarios, the scale stage (`scale.ts`: memory per idle
 * connection, 1,000 and 10,000 concurrent connections) writes `scale.md` and
 * `scale.json`; it is skipped when `--only` or `--scenarios` picks a subset.
 *
 * Many short paired rounds rather than a few long runs: on a small VM a
 * client/server pair switches between a fast and a slow scheduling mode
 * (rust-peer.md §7), so more pairs give steadier medians and ratios. For
 * side-by-side claims use `--rounds 9` or more. The full run is about 46
 * client runs per round (not every contender runs every scenario, see
 * `contenders.ts`), each warm-up + measurement + about 0.5 s of process
 * start; its budget (480 s) leaves room for other stages within 10 minutes.
 *
 * @since 0.1.0
 */
import * as Path from "node:path"
import * as Util from "node:util"
import * as Contenders from "./contenders.ts"
import * as Report from "./harness/Report.ts"
import * as Runner from "./harness/Runner.ts"
import * as Scale from "./scale.ts"
import * as Scenarios from "./scenarios.ts"

const { values } = Util.parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    "warmup-ms": { type: "string" },
    "measure-ms": { type: "string" },
    "budget-s": { type: "string" },
    only: { type: "string" },
    scenarios: { type: "string" },
    out: { type: "string" },
    "no-scale": { type: "boolean", default: false }
  }
})

const quick = values.quick === true
const num = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${text}`)
  return n
}
const list = (text: string | undefined) => (text === undefined ? undefined : new Set(text.split(",")))

const repoRoot = Path.resolve(Runner.srcDir, "..", "..", "..")
const outDir = Path.resolve(values.out ?? Path.join(repoRoot, "bench"))
const only = list(values.only)
const pick = list(values.scenarios)
const contenders = Contenders.all.filter((c) => only === undefined || only.has(c.id))
const scenarios = Scenarios.all.filter((s) => pick === undefined || pick.has(s.id))
if (contenders.length === 0 || scenarios.length === 0) throw new Error("nothing to run: check --only / --scenarios")

const options: Runner.Options = {
  mode: quick ? "quick" : "full",
  rounds: Math.round(num(values.rounds, quick ? 1 : 6)),
  warmupMs: num(values["warmup-ms"], quick ? 100 : 200),
  measureMs: num(values["measure-ms"], quick ? 200 : 800),
  budgetMs: num(values["budget-s"], quick ? 60 : 480) * 1000
}

const results = await Runner.run(scenarios, contenders, options)
const written = Report.write(results, outDir)
process.stdout.write(`\n${Report.overview(results)}\n\n`)
for (const skipped of results.contenders.filter((c) => c.skipped !== undefined)) {
  process.stdout.write(`not run: ${skipped.label} (${skipped.skipped})\n`)
}
const files = [...written]
if (values["no-scale"] !== true && only === undefined && pick === undefined) {
  const scale = await Scale.run({ quick })
  files.push(...Scale.write(outDir, scale))
}
process.stdout.write(`wrote ${files.map((f) => Path.relative(process.cwd(), f)).join(", ")}\n`)
