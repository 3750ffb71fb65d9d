/**
 * The pure parts of the benchmark harness: statistics, paired ratios,
 * summaries, report tables, SVG output, framing helpers and the self-signed
 * certificate. Nothing here measures time.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Crypto from "node:crypto"
import * as Framing from "../src/baselines/Framing.ts"
import * as Data from "../src/harness/Data.ts"
import * as Measure from "../src/harness/Measure.ts"
import * as Progress from "../src/harness/Progress.ts"
import * as Report from "../src/harness/Report.ts"
import * as Results from "../src/harness/Results.ts"
import * as SelfSigned from "../src/harness/SelfSigned.ts"
import * as Stats from "../src/harness/Stats.ts"
import * as Svg from "../src/harness/Svg.ts"
import type * as Workload from "../src/harness/Workload.ts"

/** Checks that a document's tags nest properly (a minimal XML well-formedness check). */
const assertWellFormed = (xml: string): void => {
  const stack: Array<string> = []
  const withoutDecl = xml.replace(/^<\?xml[^>]*\?>/, "")
  // Text must not contain raw `<` or `&` outside entities.
  const text = withoutDecl.replace(/<[^>]*>/g, "")
  assert.isFalse(/<|>/.test(text), "raw angle bracket in text")
  assert.isFalse(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(withoutDecl), "unescaped ampersand")
  const tags = withoutDecl.match(/<[^>]+>/g) ?? []
  for (const tag of tags) {
    assert.isTrue(/^<\/?[A-Za-z][\w:-]*(\s+[\w:-]+="[^"<]*")*\s*\/?>$/.test(tag), `malformed tag ${tag}`)
    const name = /^<\/?([\w:-]+)/.exec(tag)![1]
    if (tag.startsWith("</")) assert.strictEqual(stack.pop(), name, `unbalanced </${name}>`)
    else if (!tag.endsWith("/>")) stack.push(name)
  }
  assert.deepStrictEqual(stack, [], "unclosed tags")
  assert.strictEqual(tags[0]?.startsWith("<svg"), true)
}

const run = (opsPerSec: number, extra?: Partial<Workload.RunResult>): Workload.RunResult => ({
  ops: opsPerSec,
  elapsedMs: 1000,
  opsPerSec,
  mbPerSec: (opsPerSec * 64) / 1e6,
  warmupOps: 0,
  ...extra
})

const fixture = (): Results.Results => {
  const contenders: Array<Results.ContenderInfo> = [
    { id: "tcp", label: "node:net TCP", kind: "baseline", transport: "tcp", reference: true },
    { id: "tls", label: "node:tls <1.3> & co", kind: "baseline", transport: "tls", reference: true },
    { id: "lib", label: "network-protocol secure (sodium)", kind: "library", transport: "tcp", reference: false },
    { id: "off", label: "off", kind: "library", transport: "tcp", reference: false, skipped: "not installed" }
  ]
  const latencyUs = { count: 10, mean: 30, min: 20, p50: 25, p90: 40, p99: 90, max: 100 }
  const runs = {
    tcp: [run(100, { latencyUs }), run(200, { latencyUs }), run(150, { latencyUs })],
    tls: [run(50), run(120), run(75)],
    lib: [run(40), null, run(60)]
  }
  const workload: Workload.Workload = { kind: "pingpong", size: 64 }
  return {
    meta: {
      date: "2026-01-01T00:00:00.000Z",
      mode: "quick",
      node: "24.21.0",
      v8: "13.6",
      openssl: "3.5.8",
      platform: "Linux",
      cpu: "cpu",
      cpus: 2,
      loadavg: [0.1, 0.2, 0.3],
      roundsPlanned: 3,
      roundsDone: 3,
      warmupMs: 100,
      measureMs: 200,
      elapsedSec: 12,
      truncated: false,
      tlsCertificate: "test"
    },
    contenders,
    scenarios: [{
      id: "pingpong-64",
      title: "Ping-pong 64 B",
      description: "desc",
      workload,
      metric: "opsPerSec",
      unit: "round trips/s",
      runs,
      errors: { lib: ["stalled"] },
      summary: Results.summarize(runs, "opsPerSec", contenders)
    }]
  }
}

describe("Stats", () => {
  it("median of odd, even, empty and non-finite inputs", () => {
    assert.strictEqual(Stats.median([3, 1, 2]), 2)
    assert.strictEqual(Stats.median([4, 1, 3, 2]), 2.5)
    assert.isNaN(Stats.median([]))
    assert.strictEqual(Stats.median([Number.NaN, 5, Number.POSITIVE_INFINITY, 1]), 3)
  })

  it("median does not reorder its input", () => {
    const input = [3, 1, 2]
    Stats.median(input)
    assert.deepStrictEqual(input, [3, 1, 2])
  })

  it("range", () => {
    assert.deepStrictEqual(Stats.range([3, Number.NaN, -1, 7]), [-1, 7])
    assert.isTrue(Stats.range([]).every(Number.isNaN))
  })

  it("percentiles interpolate between closest ranks", () => {
    const sorted = Array.from({ length: 101 }, (_, i) => i)
    assert.strictEqual(Stats.percentileSorted(sorted, 50), 50)
    assert.strictEqual(Stats.percentileSorted(sorted, 90), 90)
    assert.strictEqual(Stats.percentileSorted(sorted, 99), 99)
    assert.strictEqual(Stats.percentileSorted([10, 20], 50), 15)
    assert.strictEqual(Stats.percentileSorted([7], 99), 7)
    assert.strictEqual(Stats.percentileSorted([1, 2, 3], -5), 1)
    assert.strictEqual(Stats.percentileSorted([1, 2, 3], 500), 3)
    assert.isNaN(Stats.percentileSorted([], 50))
  })

  it("latency summary of the filled part of a preallocated buffer", () => {
    const samples = new Float64Array(1000)
    for (let i = 0; i < 100; i++) samples[i] = 100 - i // 100 … 1, unsorted
    const summary = Stats.latency(samples, 100)
    assert.strictEqual(summary.count, 100)
    assert.strictEqual(summary.min, 1)
    assert.strictEqual(summary.max, 100)
    assert.strictEqual(summary.mean, 50.5)
    assert.closeTo(summary.p50, 50.5, 1e-9)
    assert.closeTo(summary.p90, 90.1, 1e-9)
    assert.closeTo(summary.p99, 99.01, 1e-9)
    assert.strictEqual(samples[0], 100, "input untouched")
    assert.isNaN(Stats.latency([], 0).p50)
  })

  it("paired ratios pair rounds by index and skip missing ones", () => {
    assert.deepStrictEqual(Stats.pairedRatios([2, 6, Number.NaN, 9], [1, 3, 5, 0]), [2, 2])
    // The median of per-round ratios, not the ratio of medians.
    const a = [10, 30, 40]
    const b = [10, 10, 50]
    assert.strictEqual(Stats.pairedRatio(a, b), 1)
    assert.strictEqual(Stats.median(a) / Stats.median(b), 3)
    assert.isNaN(Stats.pairedRatio([], []))
  })

  it("formats", () => {
    assert.strictEqual(Stats.formatCount(1234), "1.23k")
    assert.strictEqual(Stats.formatCount(1_900_000), "1.90M")
    assert.strictEqual(Stats.formatCount(37.5), "37.5")
    assert.strictEqual(Stats.formatCount(Number.NaN), "–")
    assert.strictEqual(Stats.sig3(0.012345), "0.0123")
    assert.strictEqual(Stats.sig3(1234.5), "1235")
    assert.strictEqual(Stats.formatNanos(37), "37.0 ns")
    assert.strictEqual(Stats.formatNanos(2045), "2.04 µs")
    assert.strictEqual(Stats.formatNanos(2.5e6), "2.50 ms")
    assert.strictEqual(Stats.formatRatio(0.754), "×0.75")
    assert.strictEqual(Stats.formatSize(64), "64 B")
    assert.strictEqual(Stats.formatSize(65536), "64 KiB")
    assert.strictEqual(Stats.formatSize(1048576), "1 MiB")
  })
})

describe("Measure", () => {
  it("summarize takes the median rate over rounds", () => {
    const result = Measure.summarize({ name: "x", group: "g", bytes: 1000 }, [
      { ops: 10, elapsedMs: 10, opsPerSec: 1000 },
      { ops: 30, elapsedMs: 10, opsPerSec: 3000 },
      { ops: 20, elapsedMs: 10, opsPerSec: 2000 }
    ])
    assert.strictEqual(result.opsPerSec, 2000)
    assert.strictEqual(result.nsPerOp, 500_000)
    assert.strictEqual(result.mbPerSec, 2)
    assert.strictEqual(result.min, 1000)
    assert.strictEqual(result.max, 3000)
  })

  it("timed stops at the operation bound", () => {
    let calls = 0
    const round = Measure.timed(() => calls++, 60_000, 100, 10)
    assert.strictEqual(round.ops, 100)
    assert.strictEqual(calls, 100)
  })
})

describe("Results.summarize", () => {
  it("medians, spread, latency medians and paired ratios to every reference", () => {
    const [tcp, tls, lib] = fixture().scenarios[0].summary
    assert.strictEqual(tcp.contender, "tcp")
    assert.strictEqual(tcp.value, 150)
    assert.deepStrictEqual([tcp.min, tcp.max], [100, 200])
    assert.deepStrictEqual(tcp.latencyUs, { p50: 25, p90: 40, p99: 90 })
    assert.strictEqual(tcp.ratios["tcp"], 1)
    // tls/tcp per round: 0.5, 0.6, 0.5 → 0.5
    assert.strictEqual(tls.ratios["tcp"], 0.5)
    // lib/tcp per round: 0.4, –, 0.4 → 0.4; lib/tls: 0.8, –, 0.8
    assert.strictEqual(lib.rounds, 2)
    assert.closeTo(lib.ratios["tcp"], 0.4, 1e-12)
    assert.closeTo(lib.ratios["tls"], 0.8, 1e-12)
    assert.isUndefined(lib.latencyUs)
  })

  it("leaves out contenders without runs", () => {
    const ids = fixture().scenarios[0].summary.map((s) => s.contender)
    assert.deepStrictEqual(ids, ["tcp", "tls", "lib"])
  })
})

describe("Report", () => {
  it("markdown table with alignment and escaped pipes", () => {
    const text = Report.table(["a", "b"], [["x|y", "1"], ["z"]], ["l", "r"])
    assert.strictEqual(text, "| a | b |\n|---|---:|\n| x\\|y | 1 |\n| z |  |")
  })

  it("text table pads columns", () => {
    const text = Report.textTable(["name", "n"], [["a", "10"], ["bbb", "2"]], ["l", "r"])
    assert.strictEqual(text, "name   n\n----  --\na     10\nbbb    2")
  })

  it("report has the overview, one section per scenario, ratio columns, errors and skipped contenders", () => {
    const md = Report.markdown(fixture())
    assert.include(md, "# Network benchmarks")
    assert.include(md, "## Overview")
    assert.include(md, "| scenario | node:net TCP | node:tls <1.3> & co | network-protocol secure (sodium) |")
    assert.include(md, "| Ping-pong 64 B (round trips/s) | 150 | 75.0 (×0.50) | 50.0 (×0.40) |")
    assert.include(md, "### Ping-pong 64 B")
    assert.include(md, "![Ping-pong 64 B](pingpong-64.svg)")
    assert.include(md, "| ×TCP | ×TLS | rounds |")
    assert.include(md, "| node:net TCP | 150 [100–200] | 25.0 / 40.0 / 90.0 | 1 | 2.00 | 3 |")
    assert.include(md, "| network-protocol secure (sodium) | 50.0 [40.0–60.0] | – | 0.40 | 0.80 | 2 |")
    assert.include(md, "failed 1×:** stalled")
    assert.include(md, "Not run: off (not installed)")
  })

  it("overview has one table per scenario group, each with only the contenders that ran in it", () => {
    const base = fixture()
    const runs = { tcp: [run(300), run(100), run(200)], lib: [run(30), run(20), run(10)] }
    const grouped: Results.Results = {
      ...base,
      scenarios: [...base.scenarios, {
        ...base.scenarios[0],
        id: "mux",
        title: "Multiplexed",
        group: "Multiplexing",
        runs,
        errors: {},
        summary: Results.summarize(runs, "opsPerSec", base.contenders)
      }]
    }
    assert.deepStrictEqual(Report.groups(grouped).map((g) => [g.group, g.scenarios.map((s) => s.id)]), [
      [undefined, ["pingpong-64"]],
      ["Multiplexing", ["mux"]]
    ])
    const text = Report.overview(grouped)
    assert.include(text, "**Multiplexing**\n\n| scenario | node:net TCP | network-protocol secure (sodium) |\n")
    assert.include(text, "| Multiplexed (round trips/s) | 200 | 20.0 (×0.10) |")
    const plan = Report.plan(grouped)
    assert.include(plan, "- Ping-pong 64 B: 3 contenders × 3 rounds — node:net TCP, node:tls <1.3> & co, ")
    assert.include(plan, "- Multiplexed: 2 contenders × 3 rounds — node:net TCP, network-protocol secure (sodium).")
  })

  it("chart annotates ratios to the references listed before a contender", () => {
    const results = fixture()
    const chart = Report.chart(results, results.scenarios[0])
    assert.deepStrictEqual(chart.bars.map((b) => b.label), [
      "node:net TCP",
      "node:tls <1.3> & co",
      "network-protocol secure (sodium)"
    ])
    assert.strictEqual(chart.bars[0].annotation, "p50 25.0 µs, p99 90.0 µs")
    assert.strictEqual(chart.bars[1].annotation, "×0.50 vs TCP")
    assert.strictEqual(chart.bars[2].annotation, "×0.40 vs TCP · ×0.80 vs TLS")
    assert.strictEqual(chart.bars[2].kind, "library")
  })
})

describe("Svg", () => {
  it("ticks are round and cover the maximum", () => {
    assert.deepStrictEqual(Svg.ticks(9.3), [0, 2, 4, 6, 8, 10])
    assert.deepStrictEqual(Svg.ticks(1_140_000), [0, 200_000, 400_000, 600_000, 800_000, 1_000_000, 1_200_000])
    assert.deepStrictEqual(Svg.ticks(0), [0, 1])
    assert.deepStrictEqual(Svg.ticks(Number.NaN), [0, 1])
  })

  it("escapes markup characters", () => {
    assert.strictEqual(Svg.escape(`<a & "b" 'c'>`), "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;")
  })

  it("bar chart is a well-formed SVG with every label, value and annotation", () => {
    const results = fixture()
    const svg = Svg.barChart(Report.chart(results, results.scenarios[0]))
    assertWellFormed(svg)
    assert.include(svg, "node:tls &lt;1.3&gt; &amp; co")
    assert.include(svg, ">150<")
    assert.include(svg, "×0.40 vs TCP · ×0.80 vs TLS")
    assert.strictEqual((svg.match(/<rect /g) ?? []).length, 1 + 3, "background + one bar per contender")
  })

  it("bars never extend beyond the plot, and degenerate input still renders", () => {
    const svg = Svg.barChart({
      title: "t",
      axis: "x",
      bars: [
        { label: "a", value: 5, valueLabel: "5", min: 1, max: 9 },
        { label: "b", value: Number.NaN, valueLabel: "–" }
      ]
    })
    assertWellFormed(svg)
    const widths = [...svg.matchAll(/<rect x="240" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]))
    assert.strictEqual(widths.length, 2)
    for (const w of widths) assert.isTrue(w >= 0 && w <= 980 - 240 - 370)
    assertWellFormed(Svg.barChart({ title: "empty", axis: "x", bars: [] }))
  })
})

describe("Progress", () => {
  it("renders a bar and writes plain lines when not a TTY", () => {
    assert.strictEqual(Progress.renderBar(1, 4, 8), "[██░░░░░░]  25%")
    assert.strictEqual(Progress.formatClock(75), "1:15")
    const lines: Array<string> = []
    const progress = Progress.make({ title: "t", total: 2, tty: false, sink: { write: (s) => lines.push(s) } })
    progress.step("one")
    progress.step("two")
    progress.done()
    assert.deepStrictEqual(lines.slice(0, 2), ["t [1/2] one\n", "t [2/2] two\n"])
    assert.match(lines[2], /^t done in \d+:\d\d\n$/)
  })

  it("redraws in place on a TTY", () => {
    const out: Array<string> = []
    const progress = Progress.make({ title: "t", total: 1, tty: true, sink: { write: (s) => out.push(s), columns: 80 } })
    progress.step("x")
    progress.log("hello")
    progress.done()
    assert.isTrue(out.every((s) => s.startsWith("\r\x1b[2K") || s === "hello\n" || s === "\n"))
    assert.include(out.join(""), "hello\n")
  })
})

describe("Framing", () => {
  const frames = (sizes: ReadonlyArray<number>) => Buffer.concat(sizes.map(Framing.makeFrame))

  it("counts frames across any chunking", () => {
    const bytes = frames([9, 64, 1024, 9, 70_000, 64])
    for (const cut of [1, 2, 5, 9, 10, 63, 1000, 4096, bytes.length]) {
      const counter = new Framing.FrameCounter()
      let total = 0
      for (let i = 0; i < bytes.length; i += cut) total += counter.feed(bytes.subarray(i, i + cut))
      assert.strictEqual(total, 6, `chunks of ${cut}`)
    }
  })

  it("frameOf puts a payload behind a header the counter accepts", () => {
    const payload = Data.payload("json", 300)
    const frame = Framing.frameOf(payload)
    assert.strictEqual(frame.length, Framing.HEADER_SIZE + 300)
    assert.strictEqual(Framing.readHeader(frame, 0), 300)
    assert.isTrue(frame.subarray(Framing.HEADER_SIZE).equals(payload))
    assert.strictEqual(new Framing.FrameCounter().feed(Buffer.concat([frame, frame])), 2)
  })

  it("rejects a bad header", () => {
    assert.strictEqual(new Framing.FrameCounter().feed(Buffer.from("HTTP/1.1 200 OK\r\n")), -1)
  })

  it("replier answers every request with a fresh frame of the same size", () => {
    const sizes = [64, 9, 1024, 65536]
    const bytes = frames(sizes)
    for (const cut of [1, 7, 9, 100, bytes.length]) {
      const replies: Array<Buffer> = []
      const replier = new Framing.Replier((frame) => replies.push(frame))
      for (let i = 0; i < bytes.length; i += cut) assert.isTrue(replier.feed(bytes.subarray(i, i + cut)))
      assert.deepStrictEqual(replies.map((r) => r.length), sizes, `chunks of ${cut}`)
      let offset = 0
      for (const reply of replies) {
        assert.isTrue(reply.equals(bytes.subarray(offset, offset + reply.length)))
        assert.notStrictEqual(reply.buffer, bytes.buffer)
        offset += reply.length
      }
    }
    assert.isFalse(new Framing.Replier(() => {}).feed(Buffer.from("NPRO\x02\0\0\0\0", "latin1")))
  })
})

describe("Data", () => {
  it("JSON-like text is deterministic, of the exact size, and compressible text", () => {
    for (const size of [1, 64, 1000, 16_384]) {
      const a = Data.jsonLike(size)
      assert.strictEqual(a.length, size)
      assert.deepStrictEqual(a, Data.jsonLike(size), `size ${size}`)
    }
    const text = new TextDecoder().decode(Data.jsonLike(16_384))
    assert.isTrue(text.startsWith("[{\"id\":"))
    assert.isTrue(/^[\x20-\x7e]*$/.test(text), "printable ASCII only")
    assert.notDeepEqual(Data.jsonLike(512, 1), Data.jsonLike(512, 2))
    assert.deepStrictEqual(Data.jsonLike(100), Data.jsonLike(16_384).subarray(0, 100))
  })

  it("payloads of each kind have the stated size", () => {
    assert.deepStrictEqual(Data.payload("filler", 4), new Uint8Array([0x61, 0x61, 0x61, 0x61]))
    assert.deepStrictEqual(Data.payload("json", 2048), Data.jsonLike(2048))
    assert.strictEqual(Data.payload("json", 0).length, 0)
    assert.deepStrictEqual(Data.randomBytes(32), Data.randomBytes(32))
  })
})

describe("SelfSigned", () => {
  it("makes a P-256 certificate for localhost and 127.0.0.1 that verifies with its own key", () => {
    const material = SelfSigned.make()
    const cert = new Crypto.X509Certificate(material.certPem)
    assert.isTrue(cert.verify(cert.publicKey))
    assert.isTrue(cert.ca)
    assert.strictEqual(cert.checkHost("localhost"), "localhost")
    assert.strictEqual(cert.checkIP("127.0.0.1"), "127.0.0.1")
    assert.strictEqual(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1")
    assert.isTrue(cert.checkPrivateKey(Crypto.createPrivateKey(material.keyPem)))
    assert.isTrue(Date.parse(cert.validFrom) < Date.now() && Date.now() < Date.parse(cert.validTo))
  })

  it("encodes OIDs and long lengths in DER", () => {
    assert.strictEqual(SelfSigned.oid("1.2.840.10045.4.3.2").toString("hex"), "06082a8648ce3d040302")
    const long = SelfSigned.tlv(0x04, new Uint8Array(300))
    assert.strictEqual(long.subarray(0, 4).toString("hex"), "0482012c")
  })
})
