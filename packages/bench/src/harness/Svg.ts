/**
 * Hand-written SVG bar charts for the benchmark report: horizontal bars with
 * a label, the value, an optional [min–max] whisker and an annotation (the
 * paired ratio to the reference), over a light grid with round ticks. No
 * dependencies; the output is a standalone, well-formed SVG document.
 *
 * @since 0.1.0
 */

/**
 * One bar.
 *
 * @category models
 * @since 0.1.0
 */
export interface Bar {
  readonly label: string
  readonly value: number
  /** The text printed after the bar, e.g. `"36.1k/s"`. */
  readonly valueLabel: string
  /** Printed after the value, e.g. `"×0.75 vs TCP"`. */
  readonly annotation?: string | undefined
  /** Spread across rounds, drawn as a whisker. */
  readonly min?: number | undefined
  readonly max?: number | undefined
  /** Colour group: baselines and the library's contenders differ. */
  readonly kind?: "baseline" | "library" | "reference" | undefined
}

/**
 * A chart.
 *
 * @category models
 * @since 0.1.0
 */
export interface Chart {
  readonly title: string
  readonly subtitle?: string | undefined
  /** Axis caption, e.g. `"round trips/s (higher is better)"`. */
  readonly axis: string
  readonly bars: ReadonlyArray<Bar>
}

/**
 * Escapes text for use in SVG/XML content and attribute values.
 *
 * @category utils
 * @since 0.1.0
 */
export const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(
    /'/g,
    "&apos;"
  )

/**
 * Round tick values from 0 to at least `max`: steps of 1, 2 or 5 × 10^k,
 * about `target` of them.
 *
 * @category utils
 * @since 0.1.0
 */
export const ticks = (max: number, target: number = 5): Array<number> => {
  if (!Number.isFinite(max) || max <= 0) return [0, 1]
  const raw = max / Math.max(1, target)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const residual = raw / magnitude
  const step = (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10) * magnitude
  const out: Array<number> = []
  for (let v = 0, i = 0; i <= 1000; v = step * ++i) {
    out.push(Number(v.toPrecision(12)))
    if (v >= max) break
  }
  return out
}

const shortNumber = (v: number): string => {
  const abs = Math.abs(v)
  const fmt = (x: number, suffix: string) => `${Number(x.toPrecision(3))}${suffix}`
  if (abs >= 1e9) return fmt(v / 1e9, "G")
  if (abs >= 1e6) return fmt(v / 1e6, "M")
  if (abs >= 1e3) return fmt(v / 1e3, "k")
  return fmt(v, "")
}

const COLORS = {
  baseline: "#7b8794",
  reference: "#3e5c76",
  library: "#e07a1f"
} as const

const WIDTH = 980
const LABEL_WIDTH = 240
const TEXT_ROOM = 370
const BAR_HEIGHT = 22
const BAR_GAP = 12
const TOP = 64
const BOTTOM = 44

const fixed = (n: number) => (Number.isFinite(n) ? Number(n.toFixed(1)) : 0)

/**
 * Renders a horizontal bar chart as an SVG document.
 *
 * @category rendering
 * @since 0.1.0
 */
export const barChart = (chart: Chart): string => {
  const finite = chart.bars.flatMap((b) => [b.value, b.max ?? 0]).filter((v) => Number.isFinite(v))
  const grid = ticks(Math.max(0, ...finite))
  const top = grid[grid.length - 1] || 1
  const plotLeft = LABEL_WIDTH
  const plotWidth = WIDTH - LABEL_WIDTH - TEXT_ROOM
  const x = (v: number) => fixed(plotLeft + (Math.max(0, Math.min(v, top)) / top) * plotWidth)
  const height = TOP + Math.max(1, chart.bars.length) * (BAR_HEIGHT + BAR_GAP) + BOTTOM
  const plotBottom = height - BOTTOM + 4
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escape(chart.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#1f2933">${escape(chart.title)}</text>`
  )
  if (chart.subtitle !== undefined) {
    parts.push(`<text x="12" y="41" fill="#52606d">${escape(chart.subtitle)}</text>`)
  }
  for (const t of grid) {
    const gx = x(t)
    parts.push(
      `<line x1="${gx}" y1="${TOP - 8}" x2="${gx}" y2="${plotBottom}" stroke="#e4e7eb" stroke-width="1"/>`,
      `<text x="${gx}" y="${plotBottom + 14}" text-anchor="middle" fill="#7b8794" font-size="10">${
        escape(shortNumber(t))
      }</text>`
    )
  }
  parts.push(
    `<text x="${fixed(plotLeft + plotWidth / 2)}" y="${height - 8}" text-anchor="middle" fill="#52606d">${
      escape(chart.axis)
    }</text>`
  )
  chart.bars.forEach((bar, i) => {
    const y = TOP + i * (BAR_HEIGHT + BAR_GAP)
    const mid = fixed(y + BAR_HEIGHT / 2 + 4)
    const color = COLORS[bar.kind ?? "baseline"]
    const end = Number.isFinite(bar.value) ? x(bar.value) : plotLeft
    parts.push(
      `<text x="${LABEL_WIDTH - 10}" y="${mid}" text-anchor="end" fill="#1f2933">${escape(bar.label)}</text>`,
      `<rect x="${plotLeft}" y="${y}" width="${fixed(end - plotLeft)}" height="${BAR_HEIGHT}" rx="2" fill="${color}"/>`
    )
    let textX = end
    if (
      bar.min !== undefined && bar.max !== undefined && Number.isFinite(bar.min) && Number.isFinite(bar.max) &&
      bar.max > bar.min
    ) {
      const x0 = x(bar.min)
      const x1 = x(bar.max)
      const wy = fixed(y + BAR_HEIGHT / 2)
      parts.push(
        `<line x1="${x0}" y1="${wy}" x2="${x1}" y2="${wy}" stroke="#1f2933" stroke-width="1.2"/>`,
        `<line x1="${x0}" y1="${fixed(wy - 5)}" x2="${x0}" y2="${fixed(wy + 5)}" stroke="#1f2933" stroke-width="1.2"/>`,
        `<line x1="${x1}" y1="${fixed(wy - 5)}" x2="${x1}" y2="${fixed(wy + 5)}" stroke="#1f2933" stroke-width="1.2"/>`
      )
      textX = Math.max(textX, x1)
    }
    const annotation = bar.annotation === undefined || bar.annotation === ""
      ? ""
      : `<tspan fill="#52606d" font-weight="400">  ${escape(bar.annotation)}</tspan>`
    parts.push(
      `<text x="${fixed(textX + 6)}" y="${mid}" fill="#1f2933" font-weight="600">${
        escape(bar.valueLabel)
      }${annotation}</text>`
    )
  })
  parts.push(`</svg>`)
  return parts.join("\n") + "\n"
}
