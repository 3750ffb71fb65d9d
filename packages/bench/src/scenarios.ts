/**
 * The network scenarios of `npm run bench`, after perf-anchors §1: one
 * connection between two processes over loopback. In the {@link main}
 * scenarios messages are whole frames of the stated size (header included);
 * {@link multiplex64} and {@link compressionJson} fix the application payload
 * instead, which each contender frames its own way.
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
 * 64 concurrent requests of a 64 B payload on one connection, through the
 * `Multiplexer` and against the ordered pipelines.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const multiplex64: Runner.Scenario = {
  id: "multiplex-64",
  title: "Multiplexed requests, 64 B payload, 64 in flight",
  description: "One connection, 64 requests in flight, each carrying a 64 B application payload that the reply " +
    "carries back; requests completed per second. `node:net TCP` and `node:tls 1.3` pipeline them in the " +
    "9-byte-header frame (73 B, replies in order, no ids) and `network-protocol secure (sodium)` as " +
    "`Custom \"ECHO\"` messages to the daemon (137 B sealed frames, replies in order): the ordered pipelines " +
    "of the other scenarios. The `Multiplexer` contenders make every request a concurrent " +
    "`mux.request(payload)` fiber and the server answers each in its own fiber, replies matched by id: the " +
    "crate's raw frame (12-byte id + length header, 76 B, `Multiplexer.connect` ↔ `Multiplexer.listen`) and " +
    "the same frame sealed in a `MUX` message of the secure session (149 B, `Multiplexer.connectSecure` ↔ " +
    "`Multiplexer.serveSession`). Ratios to TCP and TLS are what ids, per-request fibers and out-of-order " +
    "replies cost against a plain ordered pipeline.",
  workload: { kind: "window", size: 64, window: 64, payload: "filler" },
  metric: "opsPerSec",
  unit: "requests/s",
  maxOps: 100_000_000,
  group: "Multiplexing"
}

/**
 * 16 KiB of JSON-like text per message, 64 in flight: compression off, LZ4,
 * Zstd.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const compressionJson: Runner.Scenario = {
  id: "compression-json-16k",
  title: "Compressible 16 KiB JSON messages, 64 in flight",
  description: "One connection, 64 requests in flight, each carrying the same 16 KiB of JSON-like text " +
    "(deterministic: records with ids, timestamps, tags and words, `harness/Data.ts`; LZ4 shrinks it 2.1×, Zstd " +
    "3.2×) that the reply carries back; MB/s of payload in one direction. The baselines send it in the " +
    "9-byte-header frame; the library contenders use the extended profile (Ed25519-signed handshake, " +
    "per-direction keys, sequenced envelope; sodium) as `Custom \"ECHO\"` messages, with no compression, LZ4 " +
    "or Zstd negotiated, each message compressed on its own inside the encryption. Over loopback " +
    "bandwidth is nearly free, so this shows the CPU cost of compressing; on a slow link the smaller frames " +
    "would count instead.",
  workload: { kind: "window", size: 16_384, window: 64, payload: "json" },
  metric: "mbPerSec",
  unit: "MB/s of payload",
  maxOps: 5_000_000,
  group: "Compression"
}

/**
 * 64 KiB payloads, 64 in flight: the AEAD's share of bulk throughput
 * (XChaCha20-Poly1305, which the crate's wire format fixes, against the
 * extended profile's opt-in AES-256-GCM and TLS's own AES-256-GCM).
 *
 * @category scenarios
 * @since 0.1.0
 */
export const bulkCiphers: Runner.Scenario = {
  id: "ciphers-64k",
  title: "64 KiB payloads by cipher, 64 in flight",
  description: "One connection, 64 requests in flight, each carrying the same 64 KiB payload that the reply " +
    "carries back; MB/s of payload in one direction. The baselines send it in the 9-byte-header frame (TLS 1.3: " +
    "AES-256-GCM); the library sends `Custom \"ECHO\"` messages sealed with XChaCha20-Poly1305 (the crate's " +
    "profile, and the extended profile) or with AES-256-GCM negotiated in the extended profile (sodium " +
    "provider; AES-GCM through node:crypto, one cipher context per message).",
  workload: { kind: "window", size: 65_536, window: 64, payload: "filler" },
  metric: "mbPerSec",
  unit: "MB/s of payload",
  maxOps: 5_000_000,
  group: "Ciphers"
}

/**
 * The scenarios every main contender runs: ping-pong, windows, connect.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const main: ReadonlyArray<Runner.Scenario> = [pingPong64, window64, window1k, window64k, connect]

/**
 * Every scenario, in report order.
 *
 * @category scenarios
 * @since 0.1.0
 */
export const all: ReadonlyArray<Runner.Scenario> = [...main, multiplex64, compressionJson, bulkCiphers]
