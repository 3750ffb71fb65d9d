/**
 * The client: a service that connects to a daemon (ours or the Rust crate's)
 * over TCP, a Unix socket or TLS, and sends, receives and requests messages.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Message from "@network-protocol/core/Message"
 * import * as Client from "@network-protocol/service/Client"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* Client.Client
 *   const reply = yield* client.request(Message.Echo({ text: "hi" }))   // Echo("hi")
 * })
 * // provide Client.layer({ connect: { tcp: { host: "127.0.0.1", port: 9000 } } }) and Crypto.layerDefault
 * ```
 *
 * **Matching replies.** The crate's wire format has no request ids, and its
 * daemon (like ours) answers requests in order. `request` therefore matches
 * replies first-in first-out: use it for messages the server answers (Ping,
 * Echo, handled Custom commands) and `send` for those it does not. A request
 * whose reply does not come within `response_timeout` fails with `Timeout`;
 * since it is then unknown whether its reply is late or will never come, the
 * connection is reset so that no later reply is given to the wrong request
 * (requests still waiting on it fail with a `TransportError`; the client
 * reconnects). For concurrent requests with ids, see the multiplexer.
 *
 * **Liveness.** The client answers the server's `Ping` with `Pong` (the crate's
 * client does not), sends a `Ping` when it has sent nothing for
 * `heartbeat_interval`, and treats the connection as dead when nothing was
 * received for 4 × that.
 *
 * **Reconnecting.** When the connection dies, every request waiting for a
 * reply fails at once with the connection's error (nothing hangs). With
 * `auto_reconnect`, the client reconnects on a schedule (exponential backoff
 * from `reconnect_delay`, jittered, at most `max_reconnect_attempts` tries);
 * calls made meanwhile wait for the new connection or fail with the last
 * connection error if every attempt fails.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Crypto from "@network-protocol/core/Crypto"
import type * as Handshake from "@network-protocol/core/Handshake"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Unix from "@network-protocol/transport/Unix"
import * as ExtendedSession from "./ExtendedSession.ts"
import * as Session from "./Session.ts"

/**
 * Where to connect. Without it, `config.address` is used over TCP.
 *
 * @category models
 * @since 0.1.0
 */
export type Connect =
  | { readonly tcp: { readonly host: string; readonly port: number } }
  | { readonly unix: { readonly path: string } }
  | { readonly tls: Omit<Tls.ConnectOptions, "connectTimeout" | "maxPayloadSize"> }

/**
 * Options of the client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Where to connect; default: TCP to `config.address`. */
  readonly connect?: Connect | undefined
  /** The crate's `[client]` section; default: the crate's defaults. */
  readonly config?: NetworkConfig.ClientConfig | undefined
  /**
   * The delays between reconnection attempts. Default: exponential from
   * `reconnect_delay`, doubled each time, jittered. The number of attempts is
   * `max_reconnect_attempts` either way.
   */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, ProtocolError.ProtocolError> | undefined
  /** Largest accepted payload. Default: 16 MiB. */
  readonly maxPayloadSize?: number | undefined
  /** Unsolicited messages held for `receive` / `messages` before reading pauses. Default 1024. */
  readonly inboxCapacity?: number | undefined
  /** Options of the client side of the handshake. */
  readonly handshake?: Handshake.ClientOptions | undefined
  // --- extended profile (ExtendedSession) -----------------------------------
  /**
   * Offers the opt-in extended profile over TCP and Unix sockets
   * (`ExtendedSession.client`, `docs/PROTOCOL.md`): `pin` the server's
   * identity, `require` the extension, authenticate with `identity`, offer
   * `compression`. A server that does not speak it (the Rust crate) gets the
   * crate's profile, unless `pin` or `require` is set: then connecting fails.
   * Default: off — the crate's handshake, byte for byte.
   */
  readonly security?: Security | undefined
  // --------------------------------------------------------------------------
}

/**
 * The client's extended-profile options: `ExtendedSession.ClientOptions`
 * without the fixed test material (`handshake.fixed` is used).
 *
 * @category models
 * @since 0.1.0
 */
export type Security = Omit<ExtendedSession.ClientOptions, "fixed">

/**
 * A connected client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Client {
  /** Sends a message that expects no reply. Waits while the connection is congested. */
  readonly send: (message: Message.Message) => Effect.Effect<void, ProtocolError.ProtocolError>
  /** Sends a message and waits for its reply, at most `response_timeout`. */
  readonly request: (message: Message.Message) => Effect.Effect<Message.Message, ProtocolError.ProtocolError>
  /** The next message the server sent that is not a reply (server Pings are answered and not shown). */
  readonly receive: Effect.Effect<Message.Message, ProtocolError.ProtocolError>
  /** The unsolicited messages as a stream; ends when the client is closed. */
  readonly messages: Stream.Stream<Message.Message, ProtocolError.ProtocolError>
  /** What is known about the current connection, if connected. */
  readonly info: Effect.Effect<Session.Info | undefined>
  /** Sends `Disconnect`, closes the connection and stops reconnecting. Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * The client as a service.
 *
 * @category services
 * @since 0.1.0
 */
export const Client: Context.Service<Client, Client> = Context.Service<Client>("network-protocol/Client")

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

interface Pending {
  readonly deferred: Deferred.Deferred<Message.Message, ProtocolError.ProtocolError> | undefined
}

interface Outgoing {
  readonly message: Message.Message
  /** Set for a request: the reply it waits for is the next one after it. */
  readonly pending: Pending | undefined
  /** Completed once the message has been written. */
  readonly written?: Deferred.Deferred<void> | undefined
}

interface Link {
  readonly session: Session.Session
  readonly scope: Scope.Closeable
  /** Completed to end the link from outside (a request timed out). */
  readonly broken: Deferred.Deferred<never, ProtocolError.ProtocolError>
  readonly outgoing: Queue.Queue<Outgoing>
  /** Requests written and not yet answered, oldest first. */
  readonly pending: Array<Pending>
  lastSent: number
  lastReceived: number
}

type State =
  | { readonly _tag: "Connected"; readonly link: Link }
  | { readonly _tag: "Connecting"; readonly ready: Deferred.Deferred<Link, ProtocolError.ProtocolError> }
  | { readonly _tag: "Closed"; readonly error: ProtocolError.ProtocolError }

const KEEPALIVE: Pending = { deferred: undefined }
const OUTGOING_CAPACITY = 1024

const closedError = (detail?: string) =>
  ProtocolError.make(
    detail === undefined ? new ProtocolError.ConnectionClosed() : new ProtocolError.ConnectionClosed({ cause: detail })
  )

const openConnection = (
  connect: Connect,
  config: NetworkConfig.ClientConfig,
  maxPayloadSize: number | undefined
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> => {
  const connectTimeout = config.connection_timeout
  if ("unix" in connect) return Unix.connect({ path: connect.unix.path, connectTimeout, maxPayloadSize })
  if ("tls" in connect) return Tls.connect({ ...connect.tls, connectTimeout, maxPayloadSize })
  return Tcp.connect({ host: connect.tcp.host, port: connect.tcp.port, connectTimeout, maxPayloadSize })
}

const parseAddress = (address: string): { readonly host: string; readonly port: number } => {
  const colon = address.lastIndexOf(":")
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(colon + 1)) }
}

/**
 * Connects (retrying with the reconnect schedule) and returns a client that
 * lives until the scope closes, when it sends `Disconnect` and closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  options: Options = {}
): Effect.fn.Return<Client, ProtocolError.ProtocolError, Crypto.Crypto | Scope.Scope> {
  const config = options.config ?? NetworkConfig.defaults.client
  const connect = options.connect ?? { tcp: parseAddress(config.address) }
  const transport = "unix" in connect ? "unix" : "tls" in connect ? "tls" : "tcp"
  const heartbeatMillis = Duration.toMillis(config.heartbeat_interval)
  const deadMillis = 4 * heartbeatMillis
  const clock = yield* Clock.Clock
  const context = yield* Effect.context<Crypto.Crypto>()
  const clientScope = yield* Effect.scope
  const inbox = yield* Queue.bounded<Message.Message, ProtocolError.ProtocolError | Cause.Done>(
    options.inboxCapacity ?? 1024
  )
  let state: State = { _tag: "Closed", error: closedError("not connected yet") }
  let closing = false

  const schedule = options.reconnectSchedule ??
    Schedule.exponential(config.reconnect_delay, 2).pipe(Schedule.jittered)
  const attempts = config.auto_reconnect ? config.max_reconnect_attempts : 0

  const withAttributes = Metrics.withAttributes({ transport, role: "client" })

  const openLink: Effect.Effect<Link, ProtocolError.ProtocolError> = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const opened = yield* Effect.gen(function*() {
      const connection = yield* openConnection(connect, config, options.maxPayloadSize)
      return "tls" in connect
        ? Session.plain(connection)
        : yield* (options.security === undefined // extended profile: see `security`
          ? Session.secureClient(connection, options.handshake)
          : ExtendedSession.client(connection, { ...options.handshake, ...options.security })).pipe(
          Metrics.trackHandshake,
          Effect.timeoutOrElse({
            duration: config.connection_timeout,
            orElse: () =>
              Effect.fail(
                ProtocolError.make(new ProtocolError.Timeout({ detail: "handshake not completed in time" }))
              )
          })
        )
    }).pipe(Scope.provide(scope), Effect.provide(context), Effect.exit)
    if (Exit.isFailure(opened)) {
      yield* Scope.close(scope, opened)
      return yield* Effect.failCause(opened.cause)
    }
    const now = clock.currentTimeMillisUnsafe()
    yield* Metrics.connectionOpened
    return {
      session: opened.value,
      scope,
      broken: yield* Deferred.make<never, ProtocolError.ProtocolError>(),
      outgoing: yield* Queue.bounded<Outgoing>(OUTGOING_CAPACITY),
      pending: [],
      lastSent: now,
      lastReceived: now
    }
  }).pipe(withAttributes)

  const connectWithRetry = openLink.pipe(
    Effect.retry({ schedule, times: attempts, while: () => !closing })
  )

  /** Runs a link until it dies; the error it died of. */
  const runLink = (link: Link): Effect.Effect<ProtocolError.ProtocolError> => {
    const reader = Effect.gen(function*() {
      while (true) {
        const messages = yield* link.session.receive
        link.lastReceived = clock.currentTimeMillisUnsafe()
        yield* Metrics.messagesReceived(messages.length, 0)
        for (let i = 0; i < messages.length; i++) {
          const message = messages[i]
          if (message._tag === "Ping") {
            yield* Queue.offer(link.outgoing, { message: Message.Pong(), pending: undefined })
            continue
          }
          // A keepalive takes only a Pong: anything else arriving first is a
          // message from the server, not the keepalive's reply.
          const waiting = link.pending[0]
          if (waiting === undefined || (waiting === KEEPALIVE && message._tag !== "Pong")) {
            yield* Queue.offer(inbox, message)
            continue
          }
          link.pending.shift()
          if (waiting.deferred !== undefined) Deferred.doneUnsafe(waiting.deferred, Exit.succeed(message))
        }
      }
    })
    const writer = Effect.gen(function*() {
      while (true) {
        const batch = yield* Queue.takeAll(link.outgoing)
        const messages = new Array<Message.Message>(batch.length)
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i]
          if (item.pending !== undefined) link.pending.push(item.pending)
          messages[i] = item.message
        }
        yield* link.session.send(messages as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
        link.lastSent = clock.currentTimeMillisUnsafe()
        yield* Metrics.messagesSent(messages.length, 0)
        for (let i = 0; i < batch.length; i++) {
          const written = batch[i].written
          if (written !== undefined) Deferred.doneUnsafe(written, Exit.void)
        }
      }
    })
    const watchdog = Effect.gen(function*() {
      while (true) {
        const now = clock.currentTimeMillisUnsafe()
        if (now - link.lastReceived >= deadMillis) {
          return yield* Effect.fail(ProtocolError.make(new ProtocolError.ConnectionTimeout()))
        }
        if (now - link.lastSent >= heartbeatMillis) {
          link.lastSent = now
          Queue.offerUnsafe(link.outgoing, { message: Message.Ping(), pending: KEEPALIVE })
        }
        const next = Math.min(link.lastReceived + deadMillis, link.lastSent + heartbeatMillis)
        yield* Effect.sleep(Duration.millis(Math.max(1, next - now)))
      }
    })
    return reader.pipe(
      Effect.raceFirst(writer),
      Effect.raceFirst(watchdog),
      Effect.raceFirst(Deferred.await(link.broken)),
      Effect.flip,
      withAttributes
    )
  }

  /** Fails what was waiting on a dead link and releases it. */
  const retire = (link: Link, error: ProtocolError.ProtocolError) =>
    Effect.gen(function*() {
      for (const pending of link.pending.splice(0)) {
        if (pending.deferred !== undefined) Deferred.doneUnsafe(pending.deferred, Exit.fail(error))
      }
      for (const item of yield* Queue.clear(link.outgoing)) {
        if (item.pending?.deferred !== undefined) Deferred.doneUnsafe(item.pending.deferred, Exit.fail(error))
      }
      yield* Queue.shutdown(link.outgoing)
      yield* Scope.close(link.scope, Exit.void)
      yield* withAttributes(Metrics.connectionClosed)
    })

  const setClosed = (error: ProtocolError.ProtocolError) => {
    if (state._tag === "Connecting") Deferred.doneUnsafe(state.ready, Exit.fail(error))
    state = { _tag: "Closed", error }
  }

  const manage = (first: Link): Effect.Effect<void> =>
    Effect.gen(function*() {
      let link = first
      while (true) {
        state = { _tag: "Connected", link }
        const error = yield* runLink(link)
        // Leave the dead link before failing what waited on it, so that a
        // caller reacting to that failure already sees the next state.
        if (closing || !config.auto_reconnect) {
          setClosed(closing ? closedError() : error)
          return yield* retire(link, error)
        }
        const ready = yield* Deferred.make<Link, ProtocolError.ProtocolError>()
        state = { _tag: "Connecting", ready }
        yield* retire(link, error)
        yield* Effect.logDebug("connection lost; reconnecting", error)
        const next = yield* Effect.exit(connectWithRetry)
        if (Exit.isFailure(next)) {
          const reason = Cause.findErrorOption(next.cause)
          return setClosed(reason._tag === "Some" ? reason.value : error)
        }
        Deferred.doneUnsafe(ready, Exit.succeed(next.value))
        link = next.value
      }
    })

  const currentLink: Effect.Effect<Link, ProtocolError.ProtocolError> = Effect.suspend(() => {
    switch (state._tag) {
      case "Connected":
        return Effect.succeed(state.link)
      case "Connecting":
        return Deferred.await(state.ready)
      case "Closed":
        return Effect.fail(state.error)
    }
  })

  const enqueue = (link: Link, item: Outgoing) =>
    Queue.offer(link.outgoing, item).pipe(
      Effect.flatMap((accepted) => accepted ? Effect.void : Effect.fail(closedError("connection lost")))
    )

  const send = (message: Message.Message) =>
    Effect.flatMap(currentLink, (link) => enqueue(link, { message, pending: undefined }))

  const timeoutError = ProtocolError.make(
    new ProtocolError.Timeout({ detail: `no reply within ${Duration.format(config.response_timeout)}` })
  )
  const outOfStep = ProtocolError.make(
    new ProtocolError.TransportError({
      detail: "a request timed out, so later replies cannot be matched to their requests; reconnecting"
    })
  )

  // Without request ids, a request that got no reply leaves it unknown whether
  // its reply is late or will never come, so no later reply can be matched
  // with certainty: the connection is reset (requests still waiting on it fail
  // with a TransportError; the client reconnects if `auto_reconnect`).
  const request = (message: Message.Message) =>
    Effect.flatMap(currentLink, (link) =>
      Effect.suspend(() => {
        const deferred = Deferred.makeUnsafe<Message.Message, ProtocolError.ProtocolError>()
        return enqueue(link, { message, pending: { deferred } }).pipe(
          Effect.andThen(Deferred.await(deferred)),
          Effect.timeoutOrElse({
            duration: config.response_timeout,
            orElse: () => Effect.andThen(Deferred.fail(link.broken, outOfStep), Effect.fail(timeoutError))
          }),
          Metrics.trackRequest,
          withAttributes
        )
      }))

  const close = Effect.gen(function*() {
    if (closing) return
    closing = true
    if (state._tag === "Connected") {
      const link = state.link
      // Disconnect goes after everything already queued; then the link ends.
      const written = yield* Deferred.make<void>()
      const queued = yield* Queue.offer(link.outgoing, { message: Message.Disconnect(), pending: undefined, written })
      if (queued) yield* Deferred.await(written).pipe(Effect.timeout(config.connection_timeout), Effect.ignore)
      yield* link.session.close
    }
    setClosed(closedError())
    yield* Queue.end(inbox)
  })

  const first = yield* connectWithRetry
  state = { _tag: "Connected", link: first }
  const manager = yield* Effect.forkIn(manage(first), clientScope)
  yield* Effect.addFinalizer(() => Effect.andThen(close, Fiber.await(manager)))

  return {
    send,
    request,
    receive: Queue.take(inbox).pipe(
      Effect.catchIf(Cause.isDone, () => Effect.fail(closedError())),
      Effect.mapError((error) => error as ProtocolError.ProtocolError)
    ),
    messages: Stream.fromQueue(inbox),
    info: Effect.sync(() => state._tag === "Connected" ? state.link.session.info : undefined),
    close
  }
})

/**
 * The client as a layer: connects when built, disconnects when its scope
 * closes. Needs a `Crypto` provider (`Crypto.layerDefault`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Client, ProtocolError.ProtocolError, Crypto.Crypto> =>
  Layer.effect(Client, make(options))
