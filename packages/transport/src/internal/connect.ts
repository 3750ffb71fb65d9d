/**
 * Opening a client socket: interruptible, bounded by a timeout, and never
 * leaking the socket.
 *
 * @internal
 */
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Net from "node:net"
import type * as Connection from "../Connection.ts"
import * as InternalConnection from "./connection.ts"
import * as Errors from "./errors.ts"

/** @internal */
export const defaultConnectTimeout: Duration.Duration = Duration.seconds(10)

/** @internal */
export interface OpenOptions<S extends Net.Socket> {
  readonly create: () => S
  readonly readyEvent: "connect" | "secureConnect"
  /** What is being connected to, for messages: `127.0.0.1:7777`, a socket path. */
  readonly label: string
  readonly tls: boolean
  /** A check run once the socket is ready (TLS pinning); a failure destroys the socket. */
  readonly verify?: ((socket: S) => ProtocolError.ProtocolError | undefined) | undefined
}

const mapOpenError = (label: string, tls: boolean, cause: unknown): ProtocolError.ProtocolError => {
  const context = `connect to ${label}`
  if (tls && Errors.isNodeError(cause) && cause.syscall === undefined) return Errors.tls(context, cause)
  return Errors.fromNode(context, cause)
}

/**
 * Creates the socket and waits until it is ready. A failure, or interrupting
 * it, destroys the socket and waits for its handle to be released.
 *
 * @internal
 */
export const open = <S extends Net.Socket>(options: OpenOptions<S>): Effect.Effect<S, ProtocolError.ProtocolError> =>
  Effect.callback<S, ProtocolError.ProtocolError>((resume) => {
    let socket: S
    try {
      socket = options.create()
    } catch (cause) {
      return resume(Effect.fail(mapOpenError(options.label, options.tls, cause)))
    }
    InternalConnection.guard(socket)
    const cleanup = () => {
      socket.off(options.readyEvent, onReady)
      socket.off("error", onError)
      socket.off("close", onClose)
    }
    const failWith = (failure: ProtocolError.ProtocolError) =>
      resume(Effect.andThen(InternalConnection.destroy(socket), Effect.fail(failure)))
    const onReady = () => {
      cleanup()
      const failure = options.verify?.(socket)
      if (failure !== undefined) return failWith(failure)
      resume(Effect.succeed(socket))
    }
    const onError = (cause: Error) => {
      cleanup()
      failWith(mapOpenError(options.label, options.tls, cause))
    }
    const onClose = () => {
      cleanup()
      const cause = InternalConnection.lastError(socket)
      resume(Effect.fail(
        cause === undefined
          ? Errors.io(`connect to ${options.label}`, new Error("socket closed before the connection was ready"))
          : mapOpenError(options.label, options.tls, cause)
      ))
    }
    socket.once(options.readyEvent, onReady)
    socket.once("error", onError)
    socket.once("close", onClose)
    return Effect.suspend(() => {
      cleanup()
      return InternalConnection.destroy(socket)
    })
  })

/** @internal */
export interface ConnectOptions<S extends Net.Socket> extends OpenOptions<S>, Connection.Options {
  readonly connectTimeout?: Duration.Input | undefined
  readonly describe: (socket: S) => Connection.Info
}

/**
 * Opens a socket (bounded by `connectTimeout`, a `Timeout` reason) and frames
 * it; the socket belongs to the current scope from the moment it is ready.
 *
 * @internal
 */
export const connect = <S extends Net.Socket>(
  options: ConnectOptions<S>
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> => {
  const timeout = options.connectTimeout ?? defaultConnectTimeout
  const opening = Effect.timeoutOrElse(open(options), {
    duration: timeout,
    orElse: () =>
      Effect.fail(
        Errors.timeout(
          `connect to ${options.label} timed out after ${Duration.format(Duration.fromInputUnsafe(timeout))}`
        )
      )
  })
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(opening), (socket) =>
      InternalConnection.fromNodeSocket(socket, {
        maxPayloadSize: options.maxPayloadSize,
        closeTimeout: options.closeTimeout,
        info: options.describe(socket)
      }))
  )
}
