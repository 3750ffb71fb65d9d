/**
 * Typed commands: a command name with a request and a response `Schema`. On
 * the wire a command is the crate's `Custom { command, payload }` message with
 * the value as UTF-8 JSON in the payload, so a Rust peer can send and answer
 * it too.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import * as Command from "@network-protocol/service/Command"
 * import * as Dispatcher from "@network-protocol/service/Dispatcher"
 *
 * const Add = Command.make("ADD", {
 *   request: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
 *   response: Schema.Number
 * })
 * // server side
 * const dispatcher = Dispatcher.empty.pipe(Command.handle(Add, ({ a, b }) => Effect.succeed(a + b)))
 * // client side: Effect<number, ProtocolError>
 * const sum = Command.call(client, Add, { a: 1, b: 2 })
 * ```
 *
 * A request whose payload does not decode gets no reply (the daemon logs it),
 * and the caller's `call` then fails with `Timeout`; a reply that does not
 * decode fails `call` with `DeserializeError`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Client from "./Client.ts"
import * as Dispatcher from "./Dispatcher.ts"

/**
 * A command: its name on the wire and the schemas of its request and response.
 *
 * @category models
 * @since 0.1.0
 */
export interface Command<A, IA, B, IB> {
  readonly name: string
  readonly request: Schema.Codec<A, IA>
  readonly response: Schema.Codec<B, IB>
}

/**
 * Defines a command.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, IA, B, IB>(
  name: string,
  schemas: { readonly request: Schema.Codec<A, IA>; readonly response: Schema.Codec<B, IB> }
): Command<A, IA, B, IB> => ({ name, request: schemas.request, response: schemas.response })

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

const payloadCodec = <A, I>(schema: Schema.Codec<A, I>) => {
  const json = Schema.fromJsonString(Schema.toCodecJson(schema))
  const encode = Schema.encodeEffect(json)
  const decode = Schema.decodeUnknownEffect(json)
  return {
    encode: (value: A): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
      encode(value).pipe(
        Effect.map((text) => encoder.encode(text)),
        Effect.mapError((cause) =>
          ProtocolError.make(new ProtocolError.SerializeError({ detail: cause.message, cause }))
        )
      ),
    decode: (payload: Uint8Array): Effect.Effect<A, ProtocolError.ProtocolError> =>
      Effect.try({
        try: () => decoder.decode(payload),
        catch: (cause) => ProtocolError.make(new ProtocolError.DeserializeError({ detail: "payload is not UTF-8", cause }))
      }).pipe(
        Effect.flatMap((text) =>
          decode(text).pipe(
            Effect.mapError((cause) =>
              ProtocolError.make(new ProtocolError.DeserializeError({ detail: cause.message, cause }))
            )
          )
        )
      )
  }
}

/**
 * Registers the handler of a command in a dispatcher. A request that does not
 * decode fails the handler with `DeserializeError` (no reply is sent).
 *
 * @category combinators
 * @since 0.1.0
 */
export const handle: {
  /**
   * Registers the handler of a command (data-last).
   *
   * @category combinators
   * @since 0.1.0
   */
  <A, IA, B, IB, E2, R2>(
    command: Command<A, IA, B, IB>,
    handler: (request: A) => Effect.Effect<B, E2, R2>
  ): <E, R>(self: Dispatcher.Dispatcher<E, R>) => Dispatcher.Dispatcher<E | E2 | ProtocolError.ProtocolError, R | R2>
  /**
   * Registers the handler of a command (data-first).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E, R, A, IA, B, IB, E2, R2>(
    self: Dispatcher.Dispatcher<E, R>,
    command: Command<A, IA, B, IB>,
    handler: (request: A) => Effect.Effect<B, E2, R2>
  ): Dispatcher.Dispatcher<E | E2 | ProtocolError.ProtocolError, R | R2>
} = dual(
  3,
  <E, R, A, IA, B, IB, E2, R2>(
    self: Dispatcher.Dispatcher<E, R>,
    command: Command<A, IA, B, IB>,
    handler: (request: A) => Effect.Effect<B, E2, R2>
  ): Dispatcher.Dispatcher<E | E2 | ProtocolError.ProtocolError, R | R2> => {
    const request = payloadCodec(command.request)
    const response = payloadCodec(command.response)
    return Dispatcher.register(self, command.name, (message) =>
      message._tag === "Custom"
        ? request.decode(message.payload).pipe(
          Effect.flatMap(handler),
          Effect.flatMap(response.encode),
          Effect.map((payload) => Message.Custom({ command: command.name, payload }))
        )
        : Effect.fail(Dispatcher.noHandler(message)))
  }
)

/**
 * Calls a command: sends the request and decodes the reply.
 *
 * @category combinators
 * @since 0.1.0
 */
export const call: {
  /**
   * Calls a command (data-last).
   *
   * @category combinators
   * @since 0.1.0
   */
  <A, IA, B, IB>(command: Command<A, IA, B, IB>, request: A): (
    client: Client.Client
  ) => Effect.Effect<B, ProtocolError.ProtocolError>
  /**
   * Calls a command (data-first).
   *
   * @category combinators
   * @since 0.1.0
   */
  <A, IA, B, IB>(
    client: Client.Client,
    command: Command<A, IA, B, IB>,
    request: A
  ): Effect.Effect<B, ProtocolError.ProtocolError>
} = dual(
  3,
  <A, IA, B, IB>(
    client: Client.Client,
    command: Command<A, IA, B, IB>,
    request: A
  ): Effect.Effect<B, ProtocolError.ProtocolError> => {
    const codecs = { request: payloadCodec(command.request), response: payloadCodec(command.response) }
    return codecs.request.encode(request).pipe(
      Effect.flatMap((payload) => client.request(Message.Custom({ command: command.name, payload }))),
      Effect.flatMap((reply) =>
        reply._tag === "Custom" && reply.command === command.name
          ? codecs.response.decode(reply.payload)
          : Effect.fail(
            ProtocolError.make(
              new ProtocolError.UnexpectedMessage({ detail: `expected a ${command.name} reply, got ${reply._tag}` })
            )
          )
      )
    )
  }
)
