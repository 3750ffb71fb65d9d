/**
 * Turns {@link Results.Results} into the published report: `report.md` with
 * one table per scenario plus an overview, one SVG bar chart per scenario,
 * and `results.json` with every raw run. Rendering is pure (`markdown`,
 * `chart`); `write` puts the files in a directory.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as Results from "./Results.ts"
import * as Stats from "./Stats.ts"
import * as Svg from "./Svg.ts"

/**
 * A Markdown table. `align` is per column: `"l"` (default) or `"r"`. Pipes in
 * cells are escaped.
 *
 * @category rendering
 * @since 0.1.0
 */
export const table = (
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: ReadonlyArray<"l" | "r"> = []
): string => {
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ")
  const line = (cells: ReadonlyArray<string>) => `| ${headers.map((_, i) => cell(cells[i] ?? "")).join(" | ")} |`
  const rule = `|${headers.map((_, i) => (align[i] === "r" ? "---:" : "---")).join("|")}|`
  return [line(headers), rule, ...rows.map(line)].join("\n")
}

/**
 * A plain-text table with aligned columns, for terminal output. `align` is per
 * column: `"l"` (default) or `"r"`.
 *
 * @category rendering
 * @since 0.1.0
 */
export const textTable = (
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: ReadonlyArray<"l" | "r"> = []
): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    widths.map((w, i) => (align[i] === "r" ? (cells[i] ?? "").padStart(w) : (cells[i] ?? "").padEnd(w))).join("  ")
      .trimEnd()
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

/**
 * Formats a value of a scenario's metric.
 *
 * @category rendering
 * @since 0.1.0
 */
export const formatMetric = (metric: Results.Metric, value: number): string =>
  metric === "mbPerSec" ? Stats.sig3(value) : Stats.formatCount(value)

const labelOf = (results: Results.Results, id: string) => results.contenders.find((c) => c.id === id)?.label ?? id

const shortLabel = (results: Results.Results, id: string) => {
  const c = results.contenders.find((x) => x.id === id)
  return c === undefined ? id : c.transport.toUpperCase()
}

const references = (results: Results.Results, scenario: Results.ScenarioResult) =>
  results.contenders.filter((c) => c.reference && scenario.summary.some((s) => s.contender === c.id))

const spread = (metric: Results.Metric, s: Results.Summary) =>
  s.rounds > 1 ? ` [${formatMetric(metric, s.min)}–${formatMetric(metric, s.max)}]` : ""

/**
 * The chart of one scenario: the metric's median per contender, the spread
 * across rounds, and the ratio to the first reference contender.
 *
 * @category rendering
 * @since 0.1.0
 */
export const chart = (results: Results.Results, scenario: Results.ScenarioResult): Svg.Chart => {
  const refs = references(results, scenario)
  const order = (id: string) => results.contenders.findIndex((c) => c.id === id)
  const bars: Array<Svg.Bar> = scenario.summary.map((s) => {
    const contender = results.contenders.find((c) => c.id === s.contender)
    const notes: Array<string> = []
    // Ratios to the references listed before this contender: TLS vs TCP, the library vs TCP and TLS.
    for (const ref of refs) {
      if (order(ref.id) < order(s.contender)) {
        notes.push(`${Stats.formatRatio(s.ratios[ref.id])} vs ${shortLabel(results, ref.id)}`)
      }
    }
    if (s.latencyUs !== undefined) {
      notes.push(`p50 ${Stats.sig3(s.latencyUs.p50)} µs, p99 ${Stats.sig3(s.latencyUs.p99)} µs`)
    }
    return {
      label: labelOf(results, s.contender),
      value: s.value,
      valueLabel: formatMetric(scenario.metric, s.value),
      annotation: notes.join(" · "),
      min: s.min,
      max: s.max,
      kind: contender?.kind === "library" ? "library" : contender?.reference === true ? "reference" : "baseline"
    }
  })
  return {
    title: scenario.title,
    subtitle: `median of ${Math.max(0, ...scenario.summary.map((s) => s.rounds))} interleaved rounds; ` +
      `whiskers: min–max; ratios: median of per-round paired ratios`,
    axis: `${scenario.unit} (higher is better)`,
    bars
  }
}

/** File name of a scenario's chart. */
const svgName = (scenario: Results.ScenarioResult) => `${scenario.id}.svg`

const scenarioSection = (results: Results.Results, scenario: Results.ScenarioResult, charts: boolean): string => {
  const refs = references(results, scenario)
  const hasLatency = scenario.summary.some((s) => s.latencyUs !== undefined)
  // The figure next to the metric: msg/s for a MB/s scenario, MB/s for a windowed msg/s one.
  const extra = scenario.metric === "mbPerSec"
    ? { header: "msg/s", cell: (s: Results.Summary) => Stats.formatCount(s.opsPerSec) }
    : scenario.workload.kind === "window"
    ? { header: "MB/s", cell: (s: Results.Summary) => Stats.sig3(s.mbPerSec) }
    : undefined
  const headers = [
    "contender",
    `${scenario.unit} median [min–max]`,
    ...(extra === undefined ? [] : [extra.header]),
    ...(hasLatency ? [scenario.workload.kind === "connect" ? "cycle p50 / p90 / p99 (µs)" : "RTT p50 / p90 / p99 (µs)"] : []),
    ...refs.map((r) => `×${shortLabel(results, r.id)}`),
    "rounds"
  ]
  const align: Array<"l" | "r"> = ["l", ...headers.slice(1).map(() => "r" as const)]
  const rows = scenario.summary.map((s) => [
    labelOf(results, s.contender),
    `${formatMetric(scenario.metric, s.value)}${spread(scenario.metric, s)}`,
    ...(extra === undefined ? [] : [extra.cell(s)]),
    ...(hasLatency
      ? [
        s.latencyUs === undefined
          ? "–"
          : `${Stats.sig3(s.latencyUs.p50)} / ${Stats.sig3(s.latencyUs.p90)} / ${Stats.sig3(s.latencyUs.p99)}`
      ]
      : []),
    ...refs.map((r) => (r.id === s.contender ? "1" : Stats.formatRatio(s.ratios[r.id]).replace("×", ""))),
    String(s.rounds)
  ])
  const out = [`### ${scenario.title}`, "", scenario.description, ""]
  if (charts) out.push(`![${scenario.title}](${svgName(scenario)})`, "")
  out.push(table(headers, rows, align))
  const infos = scenario.summary.filter((s) => s.info !== undefined && Object.keys(s.info).length > 0)
  if (infos.length > 0) {
    out.push(
      "",
      infos.map((s) =>
        `${labelOf(results, s.contender)}: ${Object.entries(s.info!).map(([k, v]) => `${k} ${v}`).join(", ")}`
      ).join("; ") + "."
    )
  }
  const errors = Object.entries(scenario.errors).filter(([, list]) => list.length > 0)
  for (const [id, list] of errors) {
    out.push("", `**${labelOf(results, id)} failed ${list.length}×:** ${[...new Set(list)].join("; ")}`)
  }
  return out.join("\n")
}

/**
 * The scenarios grouped by their overview table (`group`), in report order.
 *
 * @category rendering
 * @since 0.1.0
 */
export const groups = (
  results: Results.Results
): Array<{ readonly group: string | undefined; readonly scenarios: Array<Results.ScenarioResult> }> => {
  const out: Array<{ readonly group: string | undefined; readonly scenarios: Array<Results.ScenarioResult> }> = []
  for (const scenario of results.scenarios) {
    const found = out.find((g) => g.group === scenario.group)
    if (found === undefined) out.push({ group: scenario.group, scenarios: [scenario] })
    else found.scenarios.push(scenario)
  }
  return out
}

const overviewTable = (results: Results.Results, scenarios: ReadonlyArray<Results.ScenarioResult>): string => {
  const ran = results.contenders.filter((c) => scenarios.some((s) => s.summary.some((x) => x.contender === c.id)))
  const first = ran.find((c) => c.reference)
  const rows = scenarios.map((scenario) => [
    `${scenario.title} (${scenario.unit})`,
    ...ran.map((c) => {
      const s = scenario.summary.find((x) => x.contender === c.id)
      if (s === undefined) return "–"
      const ratio = first !== undefined && first.id !== c.id ? ` (${Stats.formatRatio(s.ratios[first.id])})` : ""
      return `${formatMetric(scenario.metric, s.value)}${ratio}`
    })
  ])
  return table(["scenario", ...ran.map((c) => c.label)], rows, ["l", ...ran.map(() => "r" as const)])
}

/**
 * The overview: per group of scenarios (see {@link groups}) a table with one
 * row per scenario and one column per contender that ran in it, with the
 * metric's median and its ratio to the group's first reference.
 *
 * @category rendering
 * @since 0.1.0
 */
export const overview = (results: Results.Results): string =>
  groups(results).map(({ group, scenarios }) =>
    `${group === undefined ? "" : `**${group}**\n\n`}${overviewTable(results, scenarios)}`
  ).join("\n\n")

/**
 * One line per scenario: how many rounds and which contenders ran it.
 *
 * @category rendering
 * @since 0.1.0
 */
export const plan = (results: Results.Results): string =>
  results.scenarios.map((scenario) => {
    const rounds = Math.max(0, ...scenario.summary.map((s) => s.rounds))
    const labels = scenario.summary.map((s) => labelOf(results, s.contender))
    return `- ${scenario.title}: ${labels.length} contenders × ${rounds} rounds — ${labels.join(", ")}.`
  }).join("\n")

/**
 * The whole `report.md`.
 *
 * @category rendering
 * @since 0.1.0
 */
export const markdown = (results: Results.Results, options?: { readonly charts?: boolean }): string => {
  const charts = options?.charts ?? true
  const m = results.meta
  const first = results.contenders.find((c) => c.reference)
  const out: Array<string> = [
    "# Network benchmarks",
    "",
    `Generated by \`npm run bench${m.mode === "quick" ? " -- --quick" : ""}\` on ${m.date} ` +
    `(${m.mode} mode, ${Stats.sig3(m.elapsedSec)} s${m.truncated ? ", **cut short by the time budget**" : ""}).`,
    "",
    `Node ${m.node} (V8 ${m.v8}, OpenSSL ${m.openssl}), ${m.platform}, ${m.cpus} × ${m.cpu}, ` +
    `load average at start ${m.loadavg.map((l) => l.toFixed(2)).join(" / ")}. ` +
    `TLS certificate made by ${m.tlsCertificate}.`,
    "",
    "**Method.** Server and client run in separate Node processes over loopback (127.0.0.1 or a Unix socket), " +
    "with `setNoDelay(true)` on both ends. The framed servers parse the 9-byte header of every request and " +
    "write a newly built reply frame of the same size, corking each `data` event. " +
    `Every run warms up for ${m.warmupMs} ms and then measures for ${m.measureMs} ms; contenders take turns ` +
    `within each round (the order rotates per round), and each figure is the median over ${m.roundsDone} ` +
    `round(s)${m.roundsDone < m.roundsPlanned ? ` of ${m.roundsPlanned} planned` : ""}. ` +
    "Latency percentiles are the medians of each round's percentiles. **Ratios** are the median of per-round " +
    "paired ratios (both values measured next to each other), more trustworthy than dividing the medians. " +
    "Sizes are whole frames, header included, except in the scenarios that fix the application payload " +
    "(multiplexing, compression), where each contender frames the same payload its own way; MB/s is reply " +
    "bytes in one direction (10^6 bytes).",
    "",
    "Both ends share the machine's CPUs, so these figures are the combined cost of client, server and kernel; " +
    "on a machine with fewer free cores than processes they understate what one end can do. " +
    "A small VM also switches between a fast and a slow scheduling mode for a client/server pair (on the 2-vCPU " +
    "build VM about 15 µs " +
    "vs 85 µs per round trip; rust-peer.md §7): the [min–max] spreads show it, and the paired ratios stay " +
    "meaningful because both runs of a pair mostly see the same mode. Compare figures of the same report only.",
    ""
  ]
  const skipped = results.contenders.filter((c) => c.skipped !== undefined)
  if (skipped.length > 0) {
    out.push(`Not run: ${skipped.map((c) => `${c.label} (${c.skipped})`).join("; ")}.`, "")
  }
  out.push(
    "**What ran.** Not every contender runs every scenario (the crypto providers where they differ, the " +
    "multiplexed and compression contenders in their own scenario), to keep the full run under its budget:",
    "",
    plan(results),
    "",
    "## Overview",
    "",
    first === undefined
      ? ""
      : `Median of each scenario's metric; in parentheses the paired ratio to the table's first reference ` +
        `(${first.label}).`,
    "",
    overview(results),
    "",
    "## Scenarios",
    ""
  )
  for (const scenario of results.scenarios) out.push(scenarioSection(results, scenario, charts), "")
  const notes = results.contenders.filter((c) => c.note !== undefined && c.skipped === undefined)
  if (notes.length > 0) {
    out.push("## Contenders", "", ...notes.map((c) => `- **${c.label}**: ${c.note}`), "")
  }
  out.push(
    "Codec micro-benchmarks (packet framing, bincode messages) are in [core.md](core.md) " +
      "(`npm run bench:core`). Raw runs: [results.json](results.json).",
    ""
  )
  return out.join("\n")
}

/**
 * Writes `report.md`, one `<scenario>.svg` per scenario and `results.json`
 * into `dir` (created if needed). Returns the paths written.
 *
 * @category writing
 * @since 0.1.0
 */
export const write = (results: Results.Results, dir: string): Array<string> => {
  Fs.mkdirSync(dir, { recursive: true })
  const written: Array<string> = []
  const put = (name: string, text: string) => {
    const file = Path.join(dir, name)
    Fs.writeFileSync(file, text)
    written.push(file)
  }
  for (const scenario of results.scenarios) put(svgName(scenario), Svg.barChart(chart(results, scenario)))
  put("report.md", markdown(results))
  put("results.json", JSON.stringify(results, null, 2) + "\n")
  return written
}
