/**
 * Example handlers of `np demo` (and of `np serve --demo-handlers`):
 *
 * - `UPPER`: replies `Custom("UPPER", payload)` with the UTF-8 payload in
 *   upper case;
 * - `STATS`: replies `Custom("STATS", json)` with the daemon's metrics
 *   (connections, handshakes, messages, bytes) as JSON.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as Dispatcher from "../Dispatcher.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The payload of a `Custom` message, empty for any other message.
 *
 * @category handlers
 * @since 0.1.0
 */
export const payloadOf = (message: Message.Message): Uint8Array =>
  message._tag === "Custom" ? message.payload : new Uint8Array(0)

/**
 * `UPPER`: the payload text in upper case.
 *
 * @category handlers
 * @since 0.1.0
 */
export const upper: Dispatcher.Handler = (message) =>
  Effect.sync(() =>
    Message.Custom({ command: "UPPER", payload: encoder.encode(decoder.decode(payloadOf(message)).toUpperCase()) })
  )

/**
 * `STATS`: the daemon-side metrics as JSON.
 *
 * @category handlers
 * @since 0.1.0
 */
export const stats: Dispatcher.Handler = () =>
  Effect.map(Metrics.snapshotWhere({ role: "server" }), (s) =>
    Message.Custom({
      command: "STATS",
      payload: encoder.encode(JSON.stringify({
        connectionsActive: s.connectionsActive,
        connectionsTotal: s.connectionsTotal,
        handshakesSuccess: s.handshakesSuccess,
        handshakesFailed: s.handshakesFailed,
        messagesReceived: s.messagesReceived,
        messagesSent: s.messagesSent,
        bytesReceived: s.bytesReceived,
        bytesSent: s.bytesSent,
        uptimeMillis: s.uptimeMillis
      }))
    }))

/**
 * A dispatcher with `UPPER` and `STATS` (the daemon adds `PING` and `ECHO`).
 *
 * @category dispatchers
 * @since 0.1.0
 */
export const dispatcher: Dispatcher.Dispatcher = Dispatcher.empty.pipe(
  Dispatcher.register("UPPER", upper),
  Dispatcher.register("STATS", stats)
)
