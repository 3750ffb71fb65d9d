/**
 * What a process of the scale benchmarks reports about itself over a window:
 * CPU time (`process.cpuUsage`), event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) and peak RSS. Both servers and
 * clients report it, so a report can tell which side was saturated.
 *
 * @since 0.1.0
 */
import * as PerfHooks from "node:perf_hooks"

/**
 * One window's figures.
 *
 * @category models
 * @since 0.1.0
 */
export interface Window {
  /** Start and end of the window on the monotonic clock of V8's CPU profiles (`process.hrtime`), µs. */
  readonly fromMicros: number
  readonly toMicros: number
  /** Wall time of the window, ms. */
  readonly wallMs: number
  /** CPU time (user + system) over the window, ms. */
  readonly cpuMs: number
  /** `cpuMs / wallMs`: 1 is one core fully busy. */
  readonly cpuShare: number
  /** Event-loop delay percentiles over the window, ms. */
  readonly loopDelayP50: number
  readonly loopDelayP99: number
  readonly loopDelayMax: number
  /** RSS at the end of the window, and the largest sampled during it, bytes. */
  readonly rss: number
  readonly rssPeak: number
}

/**
 * A running probe.
 *
 * @category models
 * @since 0.1.0
 */
export interface Probe {
  /** Ends the current window (returning its figures) and starts the next one. */
  readonly mark: () => Window
}

/** Event-loop delay sampling interval, ms. */
const RESOLUTION_MS = 2
const RSS_SAMPLE_MS = 250

const micros = (): number => Number(process.hrtime.bigint() / 1000n)

/**
 * Starts a probe; its first window starts now.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (): Probe => {
  const histogram = PerfHooks.monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  let since = performance.now()
  let sinceMicros = micros()
  let cpu = process.cpuUsage()
  let rssPeak = process.memoryUsage.rss()
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > rssPeak) rssPeak = rss
  }, RSS_SAMPLE_MS)
  sampler.unref()
  return {
    mark: () => {
      const now = performance.now()
      const used = process.cpuUsage(cpu)
      const rss = process.memoryUsage.rss()
      const wallMs = now - since
      const cpuMs = (used.user + used.system) / 1000
      const nowMicros = micros()
      const window: Window = {
        fromMicros: sinceMicros,
        toMicros: nowMicros,
        wallMs,
        cpuMs,
        cpuShare: wallMs > 0 ? cpuMs / wallMs : 0,
        loopDelayP50: histogram.count > 0 ? histogram.percentile(50) / 1e6 : 0,
        loopDelayP99: histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0,
        loopDelayMax: histogram.count > 0 ? histogram.max / 1e6 : 0,
        rss,
        rssPeak: Math.max(rssPeak, rss)
      }
      histogram.reset()
      since = now
      sinceMicros = nowMicros
      cpu = process.cpuUsage()
      rssPeak = rss
      return window
    }
  }
}
