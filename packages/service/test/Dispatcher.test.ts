import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Message from "@network-protocol/core/Message"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Dispatcher from "../src/Dispatcher.ts"

class Boom extends Error {
  readonly _tag = "Boom"
}

describe("Dispatcher", () => {
  it.effect("answers PING with Pong and ECHO with the same message by default", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Dispatcher.dispatch(Dispatcher.defaults, Message.Ping()), Message.Pong())
      const echo = Message.Echo({ text: "hello" })
      assert.deepStrictEqual(yield* Dispatcher.dispatch(Dispatcher.defaults, echo), echo)
      const customEcho = Message.Custom({ command: "ECHO", payload: new Uint8Array([1, 2, 3, 4]) })
      assert.deepStrictEqual(yield* Dispatcher.dispatch(Dispatcher.defaults, customEcho), customEcho)
    }))

  it.effect("routes Custom by its command, sharing the namespace of built-in opcodes", () =>
    Effect.gen(function*() {
      const pong = yield* Dispatcher.dispatch(
        Dispatcher.defaults,
        Message.Custom({ command: "PING", payload: new Uint8Array() })
      )
      assert.deepStrictEqual(pong, Message.Pong())
    }))

  it.effect("fails with UnexpectedMessage naming the opcode when no handler is registered", () =>
    Effect.gen(function*() {
      for (const message of [Message.Unknown(), Message.Custom({ command: "nope", payload: new Uint8Array() })]) {
        const error = yield* Effect.flip(Dispatcher.dispatch(Dispatcher.defaults, message))
        assert.isTrue(ProtocolError.isProtocolError(error))
        assert.strictEqual(error.reason._tag, "UnexpectedMessage")
        assert.include(error.message, Message.opcode(message))
      }
    }))

  it.effect("lets the last registration win and leaves the original dispatcher unchanged", () =>
    Effect.gen(function*() {
      const first = Dispatcher.empty.pipe(Dispatcher.register("TEST", () => Effect.succeed(Message.Echo({ text: "1" }))))
      const second = first.pipe(Dispatcher.register("TEST", () => Effect.succeed(Message.Echo({ text: "2" }))))
      const test = Message.Custom({ command: "TEST", payload: new Uint8Array() })
      assert.deepStrictEqual(yield* Dispatcher.dispatch(second, test), Message.Echo({ text: "2" }))
      assert.deepStrictEqual(yield* Dispatcher.dispatch(first, test), Message.Echo({ text: "1" }))
    }))

  it.effect("accepts any opcode string: empty, 10,000 characters, special characters, NUL bytes", () =>
    Effect.gen(function*() {
      for (const opcode of ["", "x".repeat(10_000), "ünï/çødé\n\t!@#", "a\u0000b"]) {
        const dispatcher = Dispatcher.empty.pipe(Dispatcher.register(opcode, () => Effect.succeed(Message.Pong())))
        const reply = yield* Dispatcher.dispatch(dispatcher, Message.Custom({ command: opcode, payload: new Uint8Array() }))
        assert.deepStrictEqual(reply, Message.Pong())
      }
    }))

  it.effect("supports asynchronous handlers, typed failures and no reply", () =>
    Effect.gen(function*() {
      const dispatcher = Dispatcher.empty.pipe(
        Dispatcher.register("SLOW", () => Effect.sleep("10 millis").pipe(Effect.as(Message.Pong()))),
        Dispatcher.register("FAIL", () => Effect.fail(new Boom("no"))),
        Dispatcher.register("QUIET", () => Effect.void)
      )
      const slow = yield* Effect.forkChild(
        Dispatcher.dispatch(dispatcher, Message.Custom({ command: "SLOW", payload: new Uint8Array() }))
      )
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(yield* Fiber.join(slow), Message.Pong())
      const failed = yield* Effect.exit(
        Dispatcher.dispatch(dispatcher, Message.Custom({ command: "FAIL", payload: new Uint8Array() }))
      )
      assert.isTrue(Exit.isFailure(failed))
      const quiet = yield* Dispatcher.dispatch(dispatcher, Message.Custom({ command: "QUIET", payload: new Uint8Array() }))
      assert.isUndefined(quiet)
    }))
})
