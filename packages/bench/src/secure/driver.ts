/**
 * The client driver of the library's secure contenders, on the library's own
 * client stack: `Tcp.connect` / `Unix.connect` (framed connection) and
 * `Session.secureClient` (the X25519 handshake, then XChaCha20-Poly1305 for
 * every message) with the chosen crypto provider — the lean path under
 * `Client.make`, without its request/reply bookkeeping (the workloads only
 * count replies, which the daemon sends in request order).
 *
 * - `send(count)` seals `count` copies of the request message and writes
 *   them with one `session.send` (one socket write).
 * - Every received batch reports its replies with one `onReplies`. A server
 *   `Ping` (heartbeat) is answered with `Pong` and not counted.
 * - `close()` closes the session gracefully (FIN, wait for the server's) and
 *   releases its scope.
 *
 * Driver options: `crypto` (`"sodium" | "node" | "noble"`, default
 * `"sodium"`), `message` (`"echo" | "custom"`, default `"echo"`; see
 * `Requests.ts` for how a request of `size` bytes is built — `size` is the
 * whole frame on the wire, header included, as for the baselines).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Session from "@network-protocol/service/Session"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Unix from "@network-protocol/transport/Unix"
import type * as Driver from "../harness/Driver.ts"
import * as Requests from "./Requests.ts"

const CLOSE_TIMEOUT = "2 seconds"
const PONG: ReadonlyArray<Message.Message> = [Message.Pong()]

const errorOf = (cause: Cause.Cause<unknown>): Error => {
  const squashed = Cause.squash(cause)
  return squashed instanceof Error ? squashed : new Error(String(squashed))
}

const open = (address: Driver.Address): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> =>
  address.kind === "unix"
    ? Unix.connect({ path: address.path, closeTimeout: CLOSE_TIMEOUT })
    : Tcp.connect({ host: address.host, port: address.port, closeTimeout: CLOSE_TIMEOUT })

/**
 * Makes the secure driver.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = async (options: Driver.DriverOptions): Promise<Driver.ClientDriver> => {
  const provider = options["crypto"] ?? "sodium"
  if (!Requests.isProvider(provider)) throw new Error(`unknown crypto provider ${String(provider)}`)
  const kind = options["message"] ?? "echo"
  if (kind !== "echo" && kind !== "custom") throw new Error(`unknown message kind ${String(kind)}`)
  const crypto = await Effect.runPromise(Requests.service(provider))
  const info: Record<string, string> = { crypto: crypto.name, message: kind }

  return {
    connect: async (address, connectionOptions, handlers) => {
      const request = Requests.request(kind, connectionOptions.size)
      const batches: Array<Arr.NonEmptyReadonlyArray<Message.Message>> = []
      const batchOf = (count: number) =>
        batches[count] ??= Array.from({ length: count }, () => request) as unknown as Arr.NonEmptyReadonlyArray<
          Message.Message
        >
      const scope = Effect.runSync(Scope.make())
      const opened = await Effect.runPromiseExit(
        open(address).pipe(
          Effect.flatMap((connection) => Session.secureClient(connection)),
          Scope.provide(scope),
          Effect.provideService(Crypto.Crypto, crypto)
        )
      )
      if (Exit.isFailure(opened)) {
        await Effect.runPromise(Scope.close(scope, opened))
        throw errorOf(opened.cause)
      }
      const session = opened.value
      let closing = false
      const fail = (cause: Cause.Cause<unknown>) => {
        if (!closing && !Cause.hasInterruptsOnly(cause)) {
          closing = true
          handlers.onError(errorOf(cause))
        }
      }
      const onExit = (exit: Exit.Exit<unknown, unknown>) => {
        if (Exit.isFailure(exit)) fail(exit.cause)
      }
      const write = (messages: Arr.NonEmptyReadonlyArray<Message.Message>) => {
        Effect.runFork(session.send(messages)).addObserver(onExit)
      }

      const reader = Effect.runFork(Effect.forever(Effect.map(session.receive, (messages) => {
        let replies = 0
        for (let i = 0; i < messages.length; i++) {
          if (messages[i]._tag === "Ping") write(PONG as Arr.NonEmptyReadonlyArray<Message.Message>)
          else replies++
        }
        if (replies > 0) handlers.onReplies(replies)
      })))
      reader.addObserver(onExit)

      return {
        send: (count) => write(batchOf(count)),
        close: async () => {
          closing = true
          await Effect.runPromise(
            Fiber.interrupt(reader).pipe(
              Effect.andThen(session.close),
              Effect.andThen(Scope.close(scope, Exit.void))
            )
          )
        },
        info
      }
    }
  }
}
