/**
 * What the library contenders send, and with which crypto provider.
 *
 * A request of `size` bytes is a real protocol message whose **whole frame**
 * is `size` bytes on the wire, as for the framed baselines (`size` counts the
 * 9-byte header there too):
 *
 * ```
 * 9 header ‖ 24 nonce ‖ bincode(message) ‖ 16 tag          (SPEC §1, §4)
 * bincode(Echo { text })            = 4 variant ‖ 8 length ‖ text     → 61 B of overhead
 * bincode(Custom { "ECHO", bytes }) = 4 ‖ 8 ‖ "ECHO" ‖ 8 ‖ bytes      → 73 B of overhead
 * ```
 *
 * - `"echo"` (the default): `Echo { text }` with an ASCII filler text; the
 *   smallest frame is 61 B, so a 64 B frame carries 3 characters.
 * - `"custom"`: `Custom { command: "ECHO", payload }` with a binary payload,
 *   which the daemon's default `ECHO` handler echoes verbatim; the smallest
 *   frame is 73 B, so it cannot make a 64 B frame.
 *
 * Either way the server replies with the same message, hence a frame of the
 * same size. The payload bytes (application data) are thus `size − 61` or
 * `size − 73`; MB/s figures count whole frames, like the baselines'.
 *
 * In the crate's TLS profile (`"plain"`) there is no nonce nor tag: an `Echo`
 * frame has 21 B of overhead. A scenario that fixes the application payload
 * instead (see `Driver.ConnectionOptions`) sends it as the bytes of a
 * `Custom { command: "ECHO" }` ({@link payloadRequest}).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Crypto from "@network-protocol/core/Crypto"
import * as CryptoNoble from "@network-protocol/core/CryptoNoble"
import * as CryptoNode from "@network-protocol/core/CryptoNode"
import * as CryptoSodium from "@network-protocol/core/CryptoSodium"
import * as Message from "@network-protocol/core/Message"
import * as Packet from "@network-protocol/core/Packet"
import * as SecureChannel from "@network-protocol/core/SecureChannel"

/**
 * The crypto providers a contender can use.
 *
 * @category models
 * @since 0.1.0
 */
export type Provider = "sodium" | "node" | "noble"

/**
 * The kinds of request message.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind = "echo" | "custom"

/**
 * Frame bytes around the text of an `Echo`: header, nonce, tag, variant index
 * and the u64 length.
 *
 * @category constants
 * @since 0.1.0
 */
export const ECHO_OVERHEAD = Packet.HEADER_SIZE + SecureChannel.OVERHEAD + 4 + 8

/**
 * Frame bytes around the payload of a `Custom { command: "ECHO" }`.
 *
 * @category constants
 * @since 0.1.0
 */
export const CUSTOM_OVERHEAD = Packet.HEADER_SIZE + SecureChannel.OVERHEAD + 4 + 8 + 4 + 8

/**
 * Frame bytes around the text of an `Echo` in the crate's TLS profile (plain
 * bincode in a packet): header, variant index and the u64 length.
 *
 * @category constants
 * @since 0.1.0
 */
export const PLAIN_ECHO_OVERHEAD = Packet.HEADER_SIZE + 4 + 8

/**
 * The session profiles a request can be sized for.
 *
 * @category models
 * @since 0.1.0
 */
export type Profile = "secure" | "plain"

/**
 * Narrows a command-line or driver option to a {@link Provider}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isProvider = (u: unknown): u is Provider => u === "sodium" || u === "node" || u === "noble"

/**
 * The `Crypto` layer of a provider.
 *
 * @category crypto
 * @since 0.1.0
 */
export const layer = (provider: Provider): Layer.Layer<Crypto.Crypto, Crypto.CryptoUnavailable> => {
  switch (provider) {
    case "sodium":
      return CryptoSodium.layer
    case "node":
      return CryptoNode.layer
    case "noble":
      return CryptoNoble.layer
  }
}

/**
 * The `Crypto` service of a provider.
 *
 * @category crypto
 * @since 0.1.0
 */
export const service = (provider: Provider): Effect.Effect<Crypto.Crypto["Service"], Crypto.CryptoUnavailable> => {
  switch (provider) {
    case "sodium":
      return CryptoSodium.make
    case "node":
      return CryptoNode.make
    case "noble":
      return Effect.succeed(CryptoNoble.make)
  }
}

/**
 * The request message whose frame is exactly `size` bytes in the given
 * profile (default: the secure one). The plain profile sends `Echo` only.
 *
 * @category requests
 * @since 0.1.0
 */
export const request = (kind: Kind, size: number, profile: Profile = "secure"): Message.Message => {
  if (kind === "echo") {
    const overhead = profile === "plain" ? PLAIN_ECHO_OVERHEAD : ECHO_OVERHEAD
    if (size < overhead) throw new RangeError(`an Echo frame has at least ${overhead} bytes, got ${size}`)
    return Message.Echo({ text: "a".repeat(size - overhead) })
  }
  if (profile === "plain") throw new RangeError("the plain profile is sized for Echo requests only")
  if (size < CUSTOM_OVERHEAD) {
    throw new RangeError(`a Custom "ECHO" frame has at least ${CUSTOM_OVERHEAD} bytes, got ${size}`)
  }
  return Message.Custom({ command: "ECHO", payload: new Uint8Array(size - CUSTOM_OVERHEAD).fill(0x61) })
}

/**
 * A request carrying `payload` as its application data, `Custom { command:
 * "ECHO", payload }`, which the daemon echoes verbatim.
 *
 * @category requests
 * @since 0.1.0
 */
export const payloadRequest = (payload: Uint8Array): Message.Message => Message.Custom({ command: "ECHO", payload })
