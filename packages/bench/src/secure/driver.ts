/**
 * The client driver of the library's session contenders, on the library's own
 * client stack — the lean path under `Client.make`, without its request/reply
 * bookkeeping (the workloads only count replies, which the daemon sends in
 * request order). By `profile`:
 *
 * - `"secure"` (default): `Tcp.connect` / `Unix.connect` (framed connection)
 *   and `Session.secureClient` (the X25519 handshake, then XChaCha20-Poly1305
 *   for every message) with the chosen crypto provider;
 * - `"plain"`: `Tls.connect` (TLS 1.3, the server's certificate as trust
 *   anchor, name `localhost`) and `Session.plain`, the crate's TLS profile;
 * - `"extended"`: `ExtendedSession.client` with the extension required, the
 *   `compression` option offered (`"none"`, `"lz4"` or `"zstd"`) and the
 *   `cipher` option (`"xchacha20-poly1305"`, default, or `"aes-256-gcm"`).
 *
 * - `send(count)` seals `count` copies of the request message and writes
 *   them with one `session.send` (one socket write).
 * - Every received batch reports its replies with one `onReplies`. A server
 *   `Ping` (heartbeat) is answered with `Pong` and not counted.
 * - `close()` closes the session gracefully (FIN, wait for the server's) and
 *   releases its scope.
 *
 * Driver options: `profile`, `crypto` (`"sodium" | "node" | "noble"`,
 * default `"sodium"`), `message` (`"echo" | "custom"`, default `"echo"`; see
 * `Requests.ts` for how a request of `size` bytes is built — `size` is the
 * whole frame on the wire, header included, as for the baselines; with a
 * `payload` it is the payload of a `Custom "ECHO"`), `ca` (`"plain"`: path of
 * the server's PEM certificate), `compression` (`"extended"`).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Compression from "@network-protocol/core/Compression"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import * as ExtendedSession from "@network-protocol/service/ExtendedSession"
import * as Session from "@network-protocol/service/Session"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Unix from "@network-protocol/transport/Unix"
import * as Data from "../harness/Data.ts"
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

type Opened = { readonly session: Session.Session; readonly info: Readonly<Record<string, string>> }
type Opener = (address: Driver.Address) => Effect.Effect<Opened, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope>

const cipherOf = (u: unknown): ReadonlyArray<SecureEnvelope.Cipher> => {
  if (u === undefined || u === "xchacha20-poly1305") return ["xchacha20-poly1305"]
  if (u === "aes-256-gcm") return ["aes-256-gcm"]
  throw new Error(`unknown cipher ${String(u)}: xchacha20-poly1305 or aes-256-gcm`)
}

const compressionOf = (u: unknown): ReadonlyArray<Compression.Kind> => {
  switch (u ?? "none") {
    case "none":
      return []
    case "lz4":
      return ["lz4"]
    case "zstd":
      return ["zstd"]
    default:
      throw new Error(`unknown compression ${String(u)}: none, lz4 or zstd`)
  }
}

const opener = async (options: Driver.DriverOptions, base: Readonly<Record<string, string>>): Promise<Opener> => {
  const profile = options["profile"] ?? "secure"
  switch (profile) {
    case "secure":
      return (address) =>
        Effect.map(Effect.flatMap(open(address), (c) => Session.secureClient(c)), (session) => ({ session, info: base }))
    case "plain": {
      const ca = options["ca"]
      if (typeof ca !== "string") throw new Error("the plain profile needs the ca option")
      const context = await Effect.runPromise(
        Tls.makeClientContext({ ca: Tls.file(ca), serverName: "localhost", minVersion: "TLSv1.3" })
      )
      return (address) => {
        if (address.kind !== "tcp") return Effect.die(new Error("the plain profile runs over TLS on TCP"))
        return Effect.map(
          Tls.connect({ host: address.host, port: address.port, tls: context, closeTimeout: CLOSE_TIMEOUT }),
          (connection) => ({
            session: Session.plain(connection),
            info: {
              profile: "plain (crate TLS profile)",
              protocol: connection.info.tls?.protocol ?? "?",
              cipher: connection.info.tls?.cipher ?? "?",
              message: base["message"] ?? "?"
            }
          })
        )
      }
    }
    case "extended": {
      const compression = compressionOf(options["compression"])
      const ciphers = cipherOf(options["cipher"])
      const codec = await Effect.runPromise(Compression.makeDefault())
      return (address) =>
        Effect.map(
          Effect.flatMap(
            open(address),
            (c) => ExtendedSession.client(c, { require: true, compression, codec, ciphers })
          ),
          (session) => ({
            session,
            info: session.security.compression === undefined
              ? {
                crypto: base["crypto"] ?? "?",
                profile: session.security.profile,
                cipher: session.security.cipher ?? "?",
                compression: "none"
              }
              : {
                crypto: base["crypto"] ?? "?",
                profile: session.security.profile,
                cipher: session.security.cipher ?? "?",
                compression: session.security.compression,
                codecs: codec.name
              }
          })
        )
    }
    default:
      throw new Error(`unknown profile ${String(profile)}: secure, plain or extended`)
  }
}

const requestOf = (
  kind: Requests.Kind,
  profile: Requests.Profile,
  options: Driver.ConnectionOptions
): Message.Message =>
  options.payload === undefined
    ? Requests.request(kind, options.size, profile)
    : Requests.payloadRequest(Data.payload(options.payload, options.size))

/**
 * Makes the session driver.
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
  const openSession = await opener(options, { crypto: crypto.name, message: kind })
  const sizing: Requests.Profile = options["profile"] === "plain" ? "plain" : "secure"

  return {
    connect: async (address, connectionOptions, handlers) => {
      if (options["profile"] === "extended" && connectionOptions.payload === undefined) {
        throw new Error("the extended profile runs scenarios with a fixed payload only")
      }
      const request = requestOf(kind, sizing, connectionOptions)
      const batches: Array<Arr.NonEmptyReadonlyArray<Message.Message>> = []
      const batchOf = (count: number) =>
        batches[count] ??= Array.from({ length: count }, () => request) as unknown as Arr.NonEmptyReadonlyArray<
          Message.Message
        >
      const scope = Effect.runSync(Scope.make())
      const opened = await Effect.runPromiseExit(
        openSession(address).pipe(
          Scope.provide(scope),
          Effect.provideService(Crypto.Crypto, crypto)
        )
      )
      if (Exit.isFailure(opened)) {
        await Effect.runPromise(Scope.close(scope, opened))
        throw errorOf(opened.cause)
      }
      const { session, info } = opened.value
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
