/**
 * Routes messages to handlers by opcode (SPEC §6): `Ping` → `"PING"`, `Echo` →
 * `"ECHO"`, a `Custom` message → its command string, and so on (see
 * `Message.opcode`).
 *
 * A dispatcher is an immutable value built with `register`; the last
 * registration for an opcode wins, as in the crate. Handlers are Effects: they
 * may be asynchronous, may fail with a typed error, and may choose not to reply
 * by succeeding with `undefined` (`Effect.void`).
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Message from "@network-protocol/core/Message"
 * import * as Dispatcher from "@network-protocol/service/Dispatcher"
 *
 * const dispatcher = Dispatcher.defaults.pipe(
 *   Dispatcher.register("TIME", () =>
 *     Effect.succeed(Message.Custom({ command: "TIME", payload: new TextEncoder().encode(new Date().toISOString()) })))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/Dispatcher" as const

/**
 * A handler: the reply to send, or `undefined` for none.
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<E = never, R = never> = (message: Message.Message) => Effect.Effect<Message.Message | void, E, R>

/**
 * A set of handlers keyed by opcode.
 *
 * @category models
 * @since 0.1.0
 */
export interface Dispatcher<out E = never, out R = never> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly handlers: ReadonlyMap<string, Handler<E, R>>
}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const fromHandlers = <E, R>(handlers: ReadonlyMap<string, Handler<E, R>>): Dispatcher<E, R> => {
  const self = Object.create(Proto)
  self.handlers = handlers
  return self
}

/**
 * Tells whether a value is a `Dispatcher`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isDispatcher = (u: unknown): u is Dispatcher<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * A dispatcher with no handlers.
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty: Dispatcher = fromHandlers(new Map())

/**
 * Registers a handler for an opcode. Any string is a valid opcode (empty, very
 * long, with NUL bytes); the last registration for an opcode wins.
 *
 * @category combinators
 * @since 0.1.0
 */
export const register: {
  /**
   * Registers a handler for an opcode (data-last).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E2, R2>(opcode: string, handler: Handler<E2, R2>): <E, R>(self: Dispatcher<E, R>) => Dispatcher<E | E2, R | R2>
  /**
   * Registers a handler for an opcode (data-first).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E, R, E2, R2>(self: Dispatcher<E, R>, opcode: string, handler: Handler<E2, R2>): Dispatcher<E | E2, R | R2>
} = dual(
  3,
  <E, R, E2, R2>(self: Dispatcher<E, R>, opcode: string, handler: Handler<E2, R2>): Dispatcher<E | E2, R | R2> => {
    const handlers = new Map<string, Handler<E | E2, R | R2>>(self.handlers)
    handlers.set(opcode, handler)
    return fromHandlers(handlers)
  }
)

/**
 * Combines two dispatchers; where both handle an opcode, `that` wins.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  /**
   * Combines two dispatchers; where both handle an opcode, `that` wins (data-last).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E2, R2>(that: Dispatcher<E2, R2>): <E, R>(self: Dispatcher<E, R>) => Dispatcher<E | E2, R | R2>
  /**
   * Combines two dispatchers; where both handle an opcode, `that` wins (data-first).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E, R, E2, R2>(self: Dispatcher<E, R>, that: Dispatcher<E2, R2>): Dispatcher<E | E2, R | R2>
} = dual(
  2,
  <E, R, E2, R2>(self: Dispatcher<E, R>, that: Dispatcher<E2, R2>): Dispatcher<E | E2, R | R2> =>
    fromHandlers(new Map<string, Handler<E | E2, R | R2>>([...self.handlers, ...that.handlers]))
)

/**
 * The crate's default handlers: `PING` → `Pong`; `ECHO` → the message itself
 * (`Echo(s)` → `Echo(s)`, and a `Custom` routed to `ECHO` is echoed verbatim, as
 * the crate's TLS daemon does).
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaults: Dispatcher = empty.pipe(
  register("PING", () => Effect.succeed(Message.Pong())),
  register("ECHO", (message) => Effect.succeed(message))
)

/**
 * Looks up the handler for a message's opcode.
 *
 * @category accessors
 * @since 0.1.0
 */
export const handlerFor = <E, R>(self: Dispatcher<E, R>, message: Message.Message): Handler<E, R> | undefined =>
  self.handlers.get(Message.opcode(message))

/**
 * Runs the handler for a message. A message with no handler fails with an
 * `UnexpectedMessage` reason naming the opcode.
 *
 * @category combinators
 * @since 0.1.0
 */
export const dispatch: {
  /**
   * Runs the handler for a message (data-last).
   *
   * @category combinators
   * @since 0.1.0
   */
  (message: Message.Message): <E, R>(
    self: Dispatcher<E, R>
  ) => Effect.Effect<Message.Message | void, E | ProtocolError.ProtocolError, R>
  /**
   * Runs the handler for a message (data-first).
   *
   * @category combinators
   * @since 0.1.0
   */
  <E, R>(
    self: Dispatcher<E, R>,
    message: Message.Message
  ): Effect.Effect<Message.Message | void, E | ProtocolError.ProtocolError, R>
} = dual(
  2,
  <E, R>(
    self: Dispatcher<E, R>,
    message: Message.Message
  ): Effect.Effect<Message.Message | void, E | ProtocolError.ProtocolError, R> => {
    const handler = handlerFor(self, message)
    return handler === undefined ? Effect.fail(noHandler(message)) : handler(message)
  }
)

/**
 * The error for a message whose opcode has no handler.
 *
 * @category errors
 * @since 0.1.0
 */
export const noHandler = (message: Message.Message): ProtocolError.ProtocolError =>
  ProtocolError.make(new ProtocolError.UnexpectedMessage({ detail: `no handler for opcode ${Message.opcode(message)}` }))
