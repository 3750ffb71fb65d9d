/**
 * The protocol's messages: the nine variants of the crate's `Message` enum, in
 * wire order (the bincode variant index is the position in `variants`).
 *
 * Values are plain tagged objects, so they are cheap to build and match:
 *
 * ```ts
 * import * as Message from "@network-protocol/core/Message"
 * const m = Message.Echo({ text: "hi" })
 * Message.opcode(m) // "ECHO"
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A protocol message.
 *
 * - `SecureHandshakeInit.timestamp` is the client's wall clock in milliseconds
 *   since the Unix epoch, a u64 on the wire (hence `bigint`).
 * - Byte arrays of fixed size (`pubKey` 32, `nonce` 16 or 32) are checked when
 *   encoding.
 * - `Unknown` is what a variant index of 9 or more decodes to.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = Data.TaggedEnum<{
  Ping: {}
  Pong: {}
  SecureHandshakeInit: {
    readonly pubKey: Uint8Array
    readonly timestamp: bigint
    readonly nonce: Uint8Array
  }
  SecureHandshakeResponse: {
    readonly pubKey: Uint8Array
    readonly nonce: Uint8Array
    readonly nonceVerification: Uint8Array
  }
  SecureHandshakeConfirm: {
    readonly nonceVerification: Uint8Array
  }
  Echo: { readonly text: string }
  Disconnect: {}
  Custom: { readonly command: string; readonly payload: Uint8Array }
  Unknown: {}
}>

/**
 * The tags of `Message` in wire order: `variants[i]` has bincode index `i`.
 *
 * @category constants
 * @since 0.1.0
 */
export const variants = [
  "Ping",
  "Pong",
  "SecureHandshakeInit",
  "SecureHandshakeResponse",
  "SecureHandshakeConfirm",
  "Echo",
  "Disconnect",
  "Custom",
  "Unknown"
] as const satisfies ReadonlyArray<Message["_tag"]>

const constructors = Data.taggedEnum<Message>()

/**
 * @category constructors
 * @since 0.1.0
 */
export const Ping: Message.Constructor<"Ping"> = constructors.Ping
/**
 * @category constructors
 * @since 0.1.0
 */
export const Pong: Message.Constructor<"Pong"> = constructors.Pong
/**
 * @category constructors
 * @since 0.1.0
 */
export const SecureHandshakeInit: Message.Constructor<"SecureHandshakeInit"> = constructors.SecureHandshakeInit
/**
 * @category constructors
 * @since 0.1.0
 */
export const SecureHandshakeResponse: Message.Constructor<"SecureHandshakeResponse"> =
  constructors.SecureHandshakeResponse
/**
 * @category constructors
 * @since 0.1.0
 */
export const SecureHandshakeConfirm: Message.Constructor<"SecureHandshakeConfirm"> =
  constructors.SecureHandshakeConfirm
/**
 * @category constructors
 * @since 0.1.0
 */
export const Echo: Message.Constructor<"Echo"> = constructors.Echo
/**
 * @category constructors
 * @since 0.1.0
 */
export const Disconnect: Message.Constructor<"Disconnect"> = constructors.Disconnect
/**
 * @category constructors
 * @since 0.1.0
 */
export const Custom: Message.Constructor<"Custom"> = constructors.Custom
/**
 * @category constructors
 * @since 0.1.0
 */
export const Unknown: Message.Constructor<"Unknown"> = constructors.Unknown

/**
 * Exhaustive matching on a message's tag.
 *
 * @category pattern matching
 * @since 0.1.0
 */
export const match = constructors.$match

/**
 * A type guard for one variant.
 *
 * @category guards
 * @since 0.1.0
 */
export const is = constructors.$is

/**
 * @since 0.1.0
 */
export declare namespace Message {
  /**
   * The constructor of one variant.
   *
   * @since 0.1.0
   */
  export type Constructor<Tag extends Message["_tag"]> = Data.TaggedEnum.Constructor<Message>[Tag]

  /**
   * The variant with tag `Tag`.
   *
   * @since 0.1.0
   */
  export type Variant<Tag extends Message["_tag"]> = Extract<Message, { readonly _tag: Tag }>
}

/**
 * The dispatcher opcode of a message (SPEC §6). `Custom` messages use their
 * command string verbatim, so they share the namespace of the built-in opcodes
 * (a `Custom` with command `"PING"` routes to the `PING` handler, as in the crate).
 *
 * @category accessors
 * @since 0.1.0
 */
export const opcode = (message: Message): string => {
  switch (message._tag) {
    case "Ping":
      return "PING"
    case "Pong":
      return "PONG"
    case "SecureHandshakeInit":
      return "SEC_HS_INIT"
    case "SecureHandshakeResponse":
      return "SEC_HS_RESP"
    case "SecureHandshakeConfirm":
      return "SEC_HS_CONFIRM"
    case "Echo":
      return "ECHO"
    case "Disconnect":
      return "DISCONNECT"
    case "Custom":
      return message.command
    case "Unknown":
      return "UNKNOWN"
  }
}
