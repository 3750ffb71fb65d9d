/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): self time per function and
 * per area of code (our packages, `effect`, Node internals, native code), so
 * a scale run can say where the server's time goes.
 *
 * ```sh
 * node packages/bench/src/scale/Profile.ts PROFILE.cpuprofile [top]
 * ```
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}

interface CpuProfile {
  readonly startTime: number
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/**
 * Self time of one function or area.
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry {
  readonly name: string
  readonly ms: number
  /** Share of all sampled time, 0–1. */
  readonly share: number
}

/**
 * A profile's summary.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly totalMs: number
  /** Sampled time outside `(idle)`, ms. */
  readonly busyMs: number
  readonly functions: ReadonlyArray<Entry>
  readonly areas: ReadonlyArray<Entry>
}

const isProfile = (u: unknown): u is CpuProfile =>
  typeof u === "object" && u !== null && "startTime" in u && typeof u.startTime === "number" && "nodes" in u &&
  Array.isArray(u.nodes) && "samples" in u &&
  Array.isArray(u.samples) && "timeDeltas" in u && Array.isArray(u.timeDeltas)

/**
 * The area of code a frame belongs to.
 *
 * @category summarizing
 * @since 0.1.0
 */
export const areaOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "native / builtins"
  if (url.startsWith("node:")) return "node internals"
  const ours = /packages\/(core|transport|service|bench)\/src\//.exec(url)
  if (ours !== null) return `@network-protocol/${ours[1]}`
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  return dependency !== null ? dependency[1] : url
}

const shortUrl = (url: string): string => {
  const cut = url.search(/packages\/|node_modules\//)
  return cut >= 0 ? url.slice(cut).replace(/^node_modules\//, "") : url
}

const top = (totals: Map<string, number>, all: number, limit: number): Array<Entry> =>
  Array.from(totals, ([name, ms]) => ({ name, ms, share: all > 0 ? ms / all : 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)

/**
 * A time range on the profile's clock (`process.hrtime`, µs).
 *
 * @category models
 * @since 0.1.0
 */
export interface Range {
  readonly fromMicros: number
  readonly toMicros: number
}

/**
 * Summarizes a parsed profile: the `limit` functions with the most self time,
 * counting only the samples taken within `range` if given.
 *
 * @category summarizing
 * @since 0.1.0
 */
export const summarize = (profile: unknown, limit = 20, range?: Range): Summary => {
  if (!isProfile(profile)) throw new Error("not a V8 CPU profile")
  const frames = new Map<number, CallFrame>()
  for (const node of profile.nodes) frames.set(node.id, node.callFrame)
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  let totalMs = 0
  let busyMs = 0
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (range !== undefined && (at < range.fromMicros || at > range.toMicros)) continue
    const frame = frames.get(profile.samples[i])
    const ms = delta / 1000
    totalMs += ms
    if (frame === undefined || frame.functionName === "(idle)") continue
    busyMs += ms
    const name = frame.url === ""
      ? frame.functionName
      : `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
    const area = areaOf(frame)
    byArea.set(area, (byArea.get(area) ?? 0) + ms)
  }
  return { totalMs, busyMs, functions: top(byFunction, busyMs, limit), areas: top(byArea, busyMs, 12) }
}

/**
 * Reads and summarizes a `.cpuprofile` file.
 *
 * @category summarizing
 * @since 0.1.0
 */
export const summarizeFile = (path: string, limit = 20, range?: Range): Summary =>
  summarize(JSON.parse(Fs.readFileSync(path, "utf8")), limit, range)

/**
 * A summary as Markdown tables.
 *
 * @category formatting
 * @since 0.1.0
 */
export const markdown = (summary: Summary): string => {
  const row = (entry: Entry) => `| ${entry.name} | ${entry.ms.toFixed(0)} ms | ${(entry.share * 100).toFixed(1)} % |`
  return [
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s, busy (not \`(idle)\`) ${
      (summary.busyMs / 1000).toFixed(1)
    } s.`,
    "",
    "| area | self time | share of busy |",
    "|---|---:|---:|",
    ...summary.areas.map(row),
    "",
    "| function | self time | share of busy |",
    "|---|---:|---:|",
    ...summary.functions.map(row),
    ""
  ].join("\n")
}

if (import.meta.main) {
  const [file, limit] = process.argv.slice(2)
  if (file === undefined) throw new Error("usage: Profile.ts PROFILE.cpuprofile [top]")
  process.stdout.write(markdown(summarizeFile(file, limit === undefined ? 20 : Number(limit))))
}
