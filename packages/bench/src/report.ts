/**
 * Re-renders the report from a results file, without measuring again — e.g.
 * after changing the report layout:
 *
 * ```sh
 * node packages/bench/src/report.ts                 # bench/results.json → bench/report.md + SVGs
 * node packages/bench/src/report.ts --in r.json --out bench/out
 * ```
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Util from "node:util"
import * as Report from "./harness/Report.ts"
import type * as Results from "./harness/Results.ts"

const { values } = Util.parseArgs({ options: { in: { type: "string" }, out: { type: "string" } } })
const benchDir = Path.resolve(import.meta.dirname, "..", "..", "..", "bench")
const input = Path.resolve(values.in ?? Path.join(benchDir, "results.json"))
const outDir = Path.resolve(values.out ?? Path.dirname(input))
// JSON has no NaN: missing figures come back as null, which the renderers treat as unknown.
const results = JSON.parse(Fs.readFileSync(input, "utf8")) as Results.Results
const written = Report.write(results, outDir)
process.stdout.write(`wrote ${written.map((f) => Path.relative(process.cwd(), f)).join(", ")}\n`)
