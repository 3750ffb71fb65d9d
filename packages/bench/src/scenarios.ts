/**
 * The network scenarios of `npm run bench`, after perf-anchors §1: one
 * connection between two processes over loopback, messages that are whole
 * frames of the stated size (header included).
 *
 * @since 0.1.0
 */
import type * as Runner from "./harness/Runner.ts"

/**
 * Sequential 64 B request/reply: wake-up latency, RTT percentiles.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const pingPong64: Runner.Scenario = {
  id: "pingpong-64",
  title: "Ping-pong 64 B, one in flight",
  description: "One connection, one 64 B request in flight: round trips per second and round-trip time percentiles.",
  workload: { kind: "pingpong", size: 64 },
  metric: "opsPerSec",
  unit: "round trips/s",
  maxOps: 2_000_000
}

/**
 * 64 requests of 64 B in flight: small-message throughput.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const window64: Runner.Scenario = {
  id: "window-64",
  title: "Pipelined 64 B, 64 in flight",
  description: "One connection, 64 requests of 64 B in flight, topped up on every read with one corked write.",
  workload: { kind: "window", size: 64, window: 64 },
  metric: "opsPerSec",
  unit: "msg/s",
  maxOps: 100_000_000
}

/**
 * 64 requests of 1 KiB in flight.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const window1k: Runner.Scenario = {
  id: "window-1k",
  title: "Windowed 1 KiB, 64 in flight",
  description: "One connection, 64 requests of 1 KiB in flight: reply bytes per second, one direction.",
  workload: { kind: "window", size: 1024, window: 64 },
  metric: "mbPerSec",
  unit: "MB/s",
  maxOps: 50_000_000
}

/**
 * 64 requests of 64 KiB in flight.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const window64k: Runner.Scenario = {
  id: "window-64k",
  title: "Windowed 64 KiB, 64 in flight",
  description: "One connection, 64 requests of 64 KiB in flight: reply bytes per second, one direction.",
  workload: { kind: "window", size: 65536, window: 64 },
  metric: "mbPerSec",
  unit: "MB/s",
  maxOps: 5_000_000
}

/**
 * New connection + one 64 B round trip + graceful close, sequentially.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const connect: Runner.Scenario = {
  id: "connect",
  title: "New connection + one 64 B round trip + close",
  description: "Sequentially: connect (including any handshake), one 64 B round trip, graceful close and wait " +
    "for the close; connections per second and the time of one whole cycle.",
  workload: { kind: "connect", size: 64 },
  metric: "opsPerSec",
  unit: "connections/s",
  maxOps: 20_000
}

/**
 * Every scenario, in report order.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const all: ReadonlyArray<Runner.Scenario> = [pingPong64, window64, window1k, window64k, connect]
