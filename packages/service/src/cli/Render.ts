/**
 * How the `np` commands show messages and bytes: hex, UTF-8 when the bytes
 * are valid UTF-8, one line of text or a JSON value.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import type * as Message from "@network-protocol/core/Message"

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Lowercase hex of some bytes.
 *
 * @category bytes
 * @since 0.1.0
 */
export const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

/**
 * Parses hex (upper or lower case, even length, optional `0x` prefix, spaces
 * and colons ignored).
 *
 * @category bytes
 * @since 0.1.0
 */
export const parseHex = (text: string): Option.Option<Uint8Array> => {
  const digits = text.replace(/^0x/i, "").replace(/[\s:]/g, "")
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return Option.none()
  return Option.some(new Uint8Array(Buffer.from(digits, "hex")))
}

/**
 * The bytes as text when they are valid UTF-8.
 *
 * @category bytes
 * @since 0.1.0
 */
export const utf8 = (bytes: Uint8Array): Option.Option<string> => {
  try {
    return Option.some(strictUtf8.decode(bytes))
  } catch {
    return Option.none()
  }
}

/**
 * A message as a JSON value: its type, and its fields with bytes as hex (and
 * a `Custom` payload also as UTF-8 when it is).
 *
 * @category rendering
 * @since 0.1.0
 */
export const toJson = (message: Message.Message): Record<string, unknown> => {
  switch (message._tag) {
    case "Custom": {
      const text = utf8(message.payload)
      return {
        type: "Custom",
        command: message.command,
        payloadHex: hex(message.payload),
        payloadBytes: message.payload.length,
        ...(Option.isSome(text) ? { payloadUtf8: text.value } : {})
      }
    }
    case "Echo":
      return { type: "Echo", text: message.text }
    case "SecureHandshakeInit":
      return {
        type: message._tag,
        pubKey: hex(message.pubKey),
        timestamp: String(message.timestamp),
        nonce: hex(message.nonce)
      }
    case "SecureHandshakeResponse":
      return {
        type: message._tag,
        pubKey: hex(message.pubKey),
        nonce: hex(message.nonce),
        nonceVerification: hex(message.nonceVerification)
      }
    case "SecureHandshakeConfirm":
      return { type: message._tag, nonceVerification: hex(message.nonceVerification) }
    default:
      return { type: message._tag }
  }
}

/**
 * A message as one line of text.
 *
 * @category rendering
 * @since 0.1.0
 */
export const toText = (message: Message.Message): string => {
  switch (message._tag) {
    case "Custom": {
      const text = utf8(message.payload)
      return `Custom command=${JSON.stringify(message.command)} payload=${message.payload.length} B hex=${
        hex(message.payload) || "(empty)"
      }${Option.isSome(text) ? ` utf8=${JSON.stringify(text.value)}` : ""}`
    }
    case "Echo":
      return `Echo ${JSON.stringify(message.text)}`
    default:
      return message._tag
  }
}

const isPrintable = (text: string): boolean => !/[\u0000-\u001f\u007f]/.test(text)

/**
 * A message in a few words: `Ping`, `Echo "hi"`, `Custom UPPER "hi"` (the
 * payload as text, cut after 120 characters, when it is printable UTF-8, else
 * its size and hex, cut after 32 bytes).
 *
 * @category rendering
 * @since 0.1.0
 */
export const toShortText = (message: Message.Message): string => {
  switch (message._tag) {
    case "Custom": {
      const text = utf8(message.payload)
      if (Option.isSome(text) && isPrintable(text.value)) {
        const quoted = JSON.stringify(text.value)
        return `Custom ${message.command} ${quoted.length > 120 ? `${quoted.slice(0, 119)}…` : quoted}`
      }
      const shown = hex(message.payload.subarray(0, 32))
      return `Custom ${message.command} ${message.payload.length} B 0x${shown}${message.payload.length > 32 ? "…" : ""}`
    }
    default:
      return toText(message)
  }
}
