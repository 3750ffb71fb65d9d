/**
 * `np echo` and `np send`: one request, its reply printed. Both exit 0 only
 * if a reply arrived within the response timeout (`--timeout`, else
 * `client.response_timeout` of the configuration).
 *
 * The daemon answers requests in order and ignores commands it has no
 * handler for, so `np send` with an unknown command waits for the timeout and
 * exits 1.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Client from "../Client.ts"
import * as CliFailure from "./CliFailure.ts"
import * as Render from "./Render.ts"
import * as Settings from "./Settings.ts"
import * as Stats from "./Stats.ts"

const request = Effect.fnUntraced(function*(
  flags: Settings.ClientFlags & { readonly json: boolean },
  message: Message.Message
) {
  const target = yield* Settings.resolveTarget(flags)
  const clock = yield* Clock.Clock
  const client = yield* Client.make(target.options).pipe(CliFailure.mapFailure(`cannot connect to ${target.label}`))
  const start = clock.currentTimeNanosUnsafe()
  const reply = yield* client.request(message).pipe(
    CliFailure.mapFailure(`no reply from ${target.label} to ${Message.opcode(message)}`)
  )
  const rttMillis = Number(clock.currentTimeNanosUnsafe() - start) / 1e6
  if (flags.json) {
    yield* Console.log(JSON.stringify({
      target: target.label,
      request: Render.toJson(message),
      reply: Render.toJson(reply),
      rttMillis: Stats.round3(rttMillis)
    }))
  } else {
    yield* Console.log(Render.toText(reply))
    yield* Console.error(`np: reply from ${target.label} in ${Stats.millis(rttMillis)} ms`)
  }
}, Effect.scoped, Effect.provide(Crypto.layerDefault))

const echoFlags = {
  ...Settings.clientFlags,
  json: Settings.jsonFlag,
  text: Argument.String("text").pipe(
    Argument.withDescription("the text to echo (several arguments are joined with spaces)"),
    Argument.variadic({ min: 1 })
  )
}

/**
 * The `echo` command: sends `Echo(text)` and prints the reply (the echoed
 * text on standard output, the round-trip time on standard error).
 *
 * @category commands
 * @since 0.1.0
 */
export const echo = Command.make(
  "echo",
  echoFlags,
  (options) => request(options, Message.Echo({ text: options.text.join(" ") }))
).pipe(
  Command.withDescription("Send an Echo request and print the reply; exit 0 only if a reply arrived"),
  Command.withExamples([{ command: "np echo --address 127.0.0.1:9000 hello world" }])
)

const sendFlags = {
  ...Settings.clientFlags,
  command: Flag.String("command").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("the command string of the Custom message (the dispatcher opcode)")
  ),
  payloadHex: Flag.String("payload-hex").pipe(
    Flag.withMetavar("HEX"),
    Flag.withDescription("the payload as hex"),
    Flag.filterMap(Render.parseHex, (text) => `--payload-hex: not an even number of hex digits: '${text}'`),
    Flag.optional
  ),
  payload: Flag.String("payload").pipe(
    Flag.withMetavar("TEXT"),
    Flag.withDescription("the payload as UTF-8 text"),
    Flag.optional
  ),
  json: Settings.jsonFlag
}

const sendHandler = Effect.fnUntraced(function*(options: Command.Command.Config.Infer<typeof sendFlags>) {
  if (Option.isSome(options.payloadHex) && Option.isSome(options.payload)) {
    return yield* CliFailure.usage("give either --payload-hex or --payload, not both")
  }
  const payload = Option.isSome(options.payloadHex)
    ? options.payloadHex.value
    : Option.isSome(options.payload)
    ? new TextEncoder().encode(options.payload.value)
    : new Uint8Array(0)
  return yield* request(options, Message.Custom({ command: options.command, payload }))
})

/**
 * The `send` command: sends `Custom(command, payload)` and prints the reply's
 * type, command and payload (hex, and UTF-8 when it is).
 *
 * @category commands
 * @since 0.1.0
 */
export const send = Command.make("send", sendFlags, sendHandler).pipe(
  Command.withDescription("Send a Custom request and print the reply; exit 0 only if a reply arrived"),
  Command.withExamples([
    { command: "np send --address 127.0.0.1:9000 --command ECHO --payload-hex 68690a", description: "ECHO replies verbatim" },
    { command: "np send --address 127.0.0.1:9000 --command UPPER --payload hello --json" }
  ])
)
