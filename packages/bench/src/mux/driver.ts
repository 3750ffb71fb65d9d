/**
 * The client driver of the multiplexed contenders: one `Multiplexer` on one
 * connection, every request its own `mux.request(payload)` fiber, so `n` in
 * flight are `n` concurrent callers sharing the connection (their frames are
 * written in batches by the multiplexer's writer, replies matched by id).
 *
 * - `frame: "raw"`: `Multiplexer.connect` (the crate's raw frame over TCP);
 * - `frame: "secure"`: `Multiplexer.connectSecure` (the secure handshake,
 *   then `MUX` messages sealed with XChaCha20-Poly1305) with the chosen
 *   `crypto` provider (default `"sodium"`).
 *
 * It runs scenarios with a fixed application payload only (see
 * `Driver.ConnectionOptions`): `size` is the payload of one request.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Multiplexer from "@network-protocol/service/Multiplexer"
import * as Data from "../harness/Data.ts"
import type * as Driver from "../harness/Driver.ts"
import * as Requests from "../secure/Requests.ts"

const errorOf = (cause: Cause.Cause<unknown>): Error => {
  const squashed = Cause.squash(cause)
  return squashed instanceof Error ? squashed : new Error(String(squashed))
}

/**
 * Makes the multiplexed driver.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = async (options: Driver.DriverOptions): Promise<Driver.ClientDriver> => {
  const frame = options["frame"] ?? "raw"
  if (frame !== "raw" && frame !== "secure") throw new Error(`unknown frame ${String(frame)}: raw or secure`)
  const provider = options["crypto"] ?? "sodium"
  if (!Requests.isProvider(provider)) throw new Error(`unknown crypto provider ${String(provider)}`)
  const crypto = await Effect.runPromise(Requests.service(provider))
  const info: Record<string, string> = frame === "raw"
    ? { frame: "raw multiplexed frame" }
    : { frame: "MUX in the secure session", crypto: crypto.name }

  return {
    connect: async (address, connectionOptions, handlers) => {
      if (connectionOptions.payload === undefined) {
        throw new Error("the multiplexed contenders run scenarios with a fixed payload only")
      }
      if (address.kind !== "tcp") throw new Error("the multiplexed contenders run over TCP")
      const payload = Data.payload(connectionOptions.payload, connectionOptions.size)
      const tcp = { host: address.host, port: address.port }
      const scope = Effect.runSync(Scope.make())
      const opened = await Effect.runPromiseExit(
        (frame === "raw" ? Multiplexer.connect({ tcp }) : Multiplexer.connectSecure({ connect: { tcp } })).pipe(
          Scope.provide(scope),
          Effect.provideService(Crypto.Crypto, crypto)
        )
      )
      if (Exit.isFailure(opened)) {
        await Effect.runPromise(Scope.close(scope, opened))
        throw errorOf(opened.cause)
      }
      const mux = opened.value
      const request = mux.request(payload)
      let closing = false
      const onExit = (exit: Exit.Exit<Uint8Array, unknown>) => {
        if (Exit.isSuccess(exit)) {
          handlers.onReplies(1)
        } else if (!closing && !Cause.hasInterruptsOnly(exit.cause)) {
          closing = true
          handlers.onError(errorOf(exit.cause))
        }
      }
      return {
        send: (count) => {
          for (let i = 0; i < count; i++) Effect.runFork(request).addObserver(onExit)
        },
        close: async () => {
          closing = true
          await Effect.runPromise(Effect.andThen(mux.close, Scope.close(scope, Exit.void)))
        },
        info
      }
    }
  }
}
