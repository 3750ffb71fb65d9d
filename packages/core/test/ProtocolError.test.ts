import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ProtocolError from "../src/ProtocolError.ts"

/** Every reason with the crate's Display text (SPEC §11). */
const displays: ReadonlyArray<readonly [ProtocolError.Reason, string]> = [
  [new ProtocolError.Io({ detail: "broken pipe" }), "I/O error: broken pipe"],
  [new ProtocolError.Serialization({ detail: "eof" }), "Serialization error: eof"],
  [new ProtocolError.SerializeError({ detail: "x" }), "Serialize error: x"],
  [new ProtocolError.DeserializeError({ detail: "x" }), "Deserialize error: x"],
  [new ProtocolError.SerializationError({ detail: "x" }), "Serialization error: x"],
  [new ProtocolError.TransportError({ detail: "x" }), "Transport error: x"],
  [new ProtocolError.ConnectionClosed(), "Connection closed"],
  [new ProtocolError.SecurityError({ detail: "x" }), "Security error: x"],
  [new ProtocolError.InvalidHeader(), "Invalid protocol header"],
  [new ProtocolError.UnsupportedVersion({ version: 99 }), "Unsupported protocol version: 99"],
  [new ProtocolError.OversizedPacket({ size: 20_000_000 }), "Packet too large: 20000000 bytes"],
  [new ProtocolError.DecryptionFailure(), "Decryption failed"],
  [new ProtocolError.EncryptionFailure(), "Encryption failed"],
  [new ProtocolError.CompressionFailure(), "Compression failed"],
  [new ProtocolError.DecompressionFailure(), "Decompression failed"],
  [new ProtocolError.HandshakeError({ detail: "Invalid or stale timestamp" }), "Handshake failed: Invalid or stale timestamp"],
  [new ProtocolError.UnexpectedMessage(), "Unexpected message type"],
  [new ProtocolError.Timeout(), "Timeout occurred"],
  [new ProtocolError.ConnectionTimeout(), "Connection timed out (no activity)"],
  [new ProtocolError.ConfigError({ detail: "x" }), "Configuration error: x"],
  [new ProtocolError.CircuitBreakerOpen(), "Circuit breaker open - too many consecutive failures"],
  [new ProtocolError.PoolExhausted(), "Connection pool exhausted - backpressure limit reached"],
  [new ProtocolError.Custom({ detail: "x" }), "Custom error: x"],
  [new ProtocolError.TlsError({ detail: "x" }), "TLS error: x"]
]

describe("ProtocolError", () => {
  it("has every error kind of the crate, with its Display text", () => {
    assert.strictEqual(displays.length, 24)
    assert.strictEqual(new Set(displays.map(([r]) => r._tag)).size, 24)
    for (const [reason, text] of displays) {
      const error = ProtocolError.make(reason)
      assert.strictEqual(error.message, text)
      assert.strictEqual(error._tag, "ProtocolError")
      assert.isTrue(ProtocolError.isProtocolError(error))
    }
    assert.isFalse(ProtocolError.isProtocolError(new Error("x")))
  })

  it("carries the cause where there is one", () => {
    const cause = new Error("ECONNRESET")
    const error = ProtocolError.make(new ProtocolError.Io({ detail: "read", cause }))
    assert.strictEqual(error.reason._tag === "Io" && error.reason.cause, cause)
  })

  it.effect("is handled by reason with Effect.catchReason", () =>
    Effect.gen(function*() {
      const handled = yield* Effect.fail(ProtocolError.make(new ProtocolError.DecryptionFailure())).pipe(
        Effect.catchReason("ProtocolError", "DecryptionFailure", (r) => Effect.succeed(`caught ${r._tag}`))
      )
      assert.strictEqual(handled, "caught DecryptionFailure")
    }))
})
