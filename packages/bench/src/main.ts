/**
 * `npm run bench`: every network scenario against every available contender,
 * then `bench/report.md`, one SVG chart per scenario and `bench/results.json`.
 *
 * ```sh
 * npm run bench                      # full: 7 rounds × (0.3 s warm-up + 1.5 s), ≤ 10 minutes
 * npm run bench -- --quick           # 4 rounds × (0.2 s warm-up + 0.3 s), ≤ 2 minutes
 * npm run bench -- --only tcp,tls --scenarios pingpong-64,connect --out bench/out
 * ```
 *
 * Options: `--quick`, `--rounds n`, `--warmup-ms n`, `--measure-ms n`,
 * `--budget-s n` (total time budget), `--only id,…` (contenders),
 * `--scenarios id,…`, `--out dir` (default `bench/` at the repository root).
 *
 * Many short paired rounds rather than a few long runs: on a small VM a
 * client/server pair switches between a fast and a slow scheduling mode
 * (rust-peer.md §7), so more pairs give steadier medians and ratios. For
 * side-by-side claims use `--rounds 9` or more.
 *
 * @since 0.1.0
 */
import * as Path from "node:path"
import * as Util from "node:util"
import * as Contenders from "./contenders.ts"
import * as Report from "./harness/Report.ts"
import * as Runner from "./harness/Runner.ts"
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
    out: { type: "string" }
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
  rounds: Math.round(num(values.rounds, quick ? 4 : 7)),
  warmupMs: num(values["warmup-ms"], quick ? 200 : 300),
  measureMs: num(values["measure-ms"], quick ? 300 : 1500),
  budgetMs: num(values["budget-s"], quick ? 110 : 570) * 1000
}

const results = await Runner.run(scenarios, contenders, options)
const written = Report.write(results, outDir)
process.stdout.write(`\n${Report.overview(results)}\n\n`)
for (const skipped of results.contenders.filter((c) => c.skipped !== undefined)) {
  process.stdout.write(`not run: ${skipped.label} (${skipped.skipped})\n`)
}
process.stdout.write(`wrote ${written.map((f) => Path.relative(process.cwd(), f)).join(", ")}\n`)
