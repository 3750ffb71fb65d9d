/**
 * A client process of the scale benchmarks, started by `scale.ts` with an IPC
 * channel (`Ipc.fork`). It opens `--count` connections (`Connections.open`,
 * 200 handshakes at a time so the listen backlog never overflows) and sends
 * `{ type: "opened", openMs }`. Then it holds them idle, or on
 * `{ type: "load", seconds, drainMs }` runs the load:
 *
 * - every connection sends one 64 B request per second for `seconds`;
 * - the sends are spread evenly over each second, across all the client
 *   processes of the run (this process is number `--index` of `--clients`,
 *   see `Schedule.ts`); a 1 ms timer sends whatever is due, so a late loop
 *   catches up;
 * - a request's latency runs from just before its write to the read that
 *   completed its reply (replies come in request order on a connection);
 * - after the last send it waits up to `drainMs` for the outstanding replies;
 *   what has not come back by then is lost.
 *
 * It answers with `{ type: "result", … }`: counts, every latency sample (a
 * `Float64Array`, ms) and when its request was sent, how late the sends were against their schedule, and
 * its own `Probe.Window` (CPU, event-loop delay) over the load.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Util from "node:util"
import * as Crypto from "@network-protocol/core/Crypto"
import type * as Driver from "../harness/Driver.ts"
import * as Processes from "../harness/Processes.ts"
import * as Stats from "../harness/Stats.ts"
import * as Connections from "./Connections.ts"
import * as Ipc from "./Ipc.ts"
import * as Probe from "./Probe.ts"
import * as Schedule from "./Schedule.ts"

const BATCH = 200
const TICK_MS = 1
const DRAIN_POLL_MS = 10
const OPEN_ATTEMPTS = 40

const { values } = Util.parseArgs({
  options: {
    kind: { type: "string", default: "secure" },
    port: { type: "string" },
    unix: { type: "string" },
    count: { type: "string", default: "1000" },
    index: { type: "string", default: "0" },
    clients: { type: "string", default: "1" }
  }
})
const kind = values.kind
if (!Connections.isKind(kind)) throw new Error(`unknown --kind ${kind}: secure, net or tls`)
const count = Number(values.count)
const index = Number(values.index)
const clients = Number(values.clients)
const address: Driver.Address = values.unix !== undefined
  ? { kind: "unix", path: values.unix }
  : { kind: "tcp", host: "127.0.0.1", port: Number(values.port) }

Processes.exitWithParent()

// -----------------------------------------------------------------------------
// opening
// -----------------------------------------------------------------------------

/** Send times of the requests in flight, per connection, oldest first. */
const inFlight: Array<Array<number>> = Array.from({ length: count }, () => [])
let samples = new Float64Array(0)
/** When each sampled request was sent, ms after the start of the load. */
let sentAt = new Float64Array(0)
let loadStart = 0
let answered = 0
let recording = false
let closed = 0

const connectionHandlers = (j: number): Connections.Handlers => ({
  onReplies: (replies, now) => {
    const queue = inFlight[j]
    for (let r = 0; r < replies; r++) {
      const started = queue.shift()
      if (started !== undefined && recording && answered < samples.length) {
        samples[answered] = now - started
        sentAt[answered++] = started - loadStart
      }
    }
  },
  onClosed: () => {
    closed++
  }
})

/**
 * Opens one connection, retrying while a Unix socket's listen queue is full
 * (`EAGAIN`: unlike TCP, the kernel does not queue the attempt).
 */
const openRetrying = async (target: Connections.Target, handlers: Connections.Handlers) => {
  for (let attempt = 1;; attempt++) {
    try {
      return await Connections.open(target, handlers)
    } catch (error) {
      const code = error instanceof Error && "code" in error ? error.code : undefined
      if (code !== "EAGAIN" || attempt >= OPEN_ATTEMPTS) throw error
      await new Promise((resolve) => setTimeout(resolve, attempt * 5))
    }
  }
}

const crypto = kind === "secure" ? await Effect.runPromise(Crypto.makeDefault) : undefined
const target: Connections.Target = { kind, address, crypto }
const connections: Array<Connections.LoadConnection> = []
const opening = performance.now()
try {
  for (let first = 0; first < count; first += BATCH) {
    const batch = Array.from(
      { length: Math.min(BATCH, count - first) },
      (_, b) => openRetrying(target, connectionHandlers(first + b))
    )
    connections.push(...await Promise.all(batch))
  }
} catch (error) {
  process.stderr.write(`scale client: opening failed after ${connections.length} connections: ${String(error)}\n`)
  process.exit(1)
}
Ipc.reply({ type: "opened", openMs: performance.now() - opening })

// -----------------------------------------------------------------------------
// load
// -----------------------------------------------------------------------------

const load = (seconds: number, drainMs: number) => {
  const schedule: Schedule.Schedule = { count, index, clients, seconds }
  const planned = Schedule.planned(schedule)
  samples = new Float64Array(planned)
  sentAt = new Float64Array(planned)
  const lag = new Float64Array(planned)
  answered = 0
  recording = true
  const closedBefore = closed
  const probe = Probe.start()
  const start = performance.now()
  loadStart = start
  let sent = 0
  const tick = setInterval(() => {
    const due = Schedule.dueAt(schedule, performance.now() - start)
    while (sent < due) {
      const j = sent % count
      const now = performance.now()
      lag[sent] = now - start - Schedule.scheduledAt(schedule, sent)
      inFlight[j].push(now)
      connections[j].send()
      sent++
    }
    if (sent >= planned) {
      clearInterval(tick)
      drain()
    }
  }, TICK_MS)
  const drain = () => {
    const deadline = performance.now() + drainMs
    const poll = setInterval(() => {
      if (answered < sent && performance.now() < deadline) return
      clearInterval(poll)
      recording = false
      const window = probe.mark()
      Ipc.reply({
        type: "result",
        sent,
        answered,
        closed: closed - closedBefore,
        latencies: samples.slice(0, answered),
        sentAt: sentAt.slice(0, answered),
        sendLag: Stats.latency(lag, sent),
        window
      })
    }, DRAIN_POLL_MS)
  }
}

Ipc.onMessage((message) => {
  if (message.type === "load" && typeof message.seconds === "number" && typeof message.drainMs === "number") {
    load(message.seconds, message.drainMs)
  }
})
