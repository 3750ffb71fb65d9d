/**
 * A progress bar for long benchmark runs, written to stderr so stdout stays
 * clean for results. On a TTY it redraws one line in place; otherwise (CI, a
 * pipe, a log file) it prints one plain line per step.
 *
 * @since 0.1.0
 */

/**
 * Where the progress is written: anything with `write`, optionally a TTY.
 *
 * @category models
 * @since 0.1.0
 */
export interface Sink {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * A running progress display.
 *
 * @category models
 * @since 0.1.0
 */
export interface Progress {
  /** Marks the start of step `done + 1` of `total`, described by `label`. */
  readonly step: (label: string) => void
  /** Prints a line above the bar (the bar is redrawn below it). */
  readonly log: (line: string) => void
  /** Completes the display. */
  readonly done: () => void
}

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly title: string
  readonly total: number
  /** Default: `process.stderr`. */
  readonly sink?: Sink | undefined
  /** Force TTY or plain mode. Default: `sink.isTTY`. */
  readonly tty?: boolean | undefined
  /** Default: `performance.now`. */
  readonly now?: (() => number) | undefined
}

const BAR_WIDTH = 24

/**
 * Formats seconds as `m:ss`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatClock = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "–:––"
  const s = Math.round(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`
}

/**
 * Renders the bar text for `done` of `total` steps (pure; used by the TTY mode).
 *
 * @category formatting
 * @since 0.1.0
 */
export const renderBar = (done: number, total: number, width: number = BAR_WIDTH): string => {
  const fraction = total <= 0 ? 1 : Math.max(0, Math.min(1, done / total))
  const filled = Math.round(fraction * width)
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`
}

/**
 * Starts a progress display.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Progress => {
  const sink: Sink = options.sink ?? process.stderr
  const tty = options.tty ?? sink.isTTY === true
  const now = options.now ?? (() => performance.now())
  const started = now()
  let completed = -1
  let current = ""
  let drawn = false

  const line = (): string => {
    const done = Math.max(0, completed)
    const elapsed = (now() - started) / 1000
    const eta = done > 0 ? (elapsed / done) * (options.total - done) : Number.NaN
    const text = `${options.title} ${renderBar(done, options.total)} ${done}/${options.total} ${
      formatClock(elapsed)
    } eta ${formatClock(eta)}  ${current}`
    const columns = sink.columns !== undefined && sink.columns >= 40 ? sink.columns : 120
    return text.length > columns - 1 ? text.slice(0, Math.max(10, columns - 2)) + "…" : text
  }
  const clear = () => {
    if (tty && drawn) sink.write("\r\x1b[2K")
  }
  const draw = () => {
    if (!tty) return
    sink.write(`\r\x1b[2K${line()}`)
    drawn = true
  }

  // On a TTY the clock keeps ticking between steps.
  const timer = tty ? setInterval(() => drawn && draw(), 500) : undefined
  timer?.unref()

  return {
    step: (label) => {
      completed++
      current = label
      if (tty) draw()
      else sink.write(`${options.title} [${completed + 1}/${options.total}] ${label}\n`)
    },
    log: (text) => {
      clear()
      sink.write(`${text}\n`)
      drawn = false
      draw()
    },
    done: () => {
      clearInterval(timer)
      completed = options.total
      current = "done"
      if (tty) {
        draw()
        sink.write("\n")
        drawn = false
      } else {
        sink.write(`${options.title} done in ${formatClock((now() - started) / 1000)}\n`)
      }
    }
  }
}
