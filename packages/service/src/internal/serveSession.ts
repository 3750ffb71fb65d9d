/**
 * The daemon's work on one session: read requests, dispatch them, reply in
 * request order, heartbeat, and end cleanly.
 *
 * The session is driven by events, not by fibers of its own: over a
 * connection with a push side (every socket of this library) requests arrive
 * from the socket's `data` events and replies are written from there; a
 * handler that answers synchronously (`Effect.succeed`, `Effect.void`) is
 * resolved in place, any other handler runs in its own fiber. A timer shared
 * by all sessions of a daemon (`watchdog.ts`) sends heartbeats and drops dead
 * or idle peers. So an idle session holds no fiber but the one waiting for it
 * to end. (A session without a push side — any other `Session` — is read by
 * one fiber and written through its `send`.)
 *
 * - **Ordering.** Replies leave in request order, in one write per batch of
 *   requests when they are ready together.
 * - **Backpressure.** At most `backpressureLimit` asynchronous handlers run at
 *   once, and nothing more is read while the socket cannot take more replies:
 *   the rest of a batch waits, the socket is paused, and a client that never
 *   reads stalls only its own connection, with bounded memory.
 * - **Heartbeat.** A `Ping` is sent when nothing was sent for
 *   `heartbeatInterval`; the session fails with `ConnectionTimeout` when
 *   nothing at all was received for `deadTimeout`.
 * - **Idle timeout.** With `idleTimeout` set, a session that received no
 *   application message (heartbeats do not count) for that long is ended. A
 *   busy session is never cut.
 * - **Ending** (peer gone, `Disconnect`, draining, a timeout, a bad frame): no
 *   new request is read; the replies owed to requests already read are sent,
 *   then the session ends. Interrupting the session interrupts its handlers.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as Connection from "@network-protocol/transport/Connection"
import * as Packet from "@network-protocol/core/Packet"
import * as Dispatcher from "../Dispatcher.ts"
import type * as Session from "../Session.ts"
import * as SealedSession from "./sealedSession.ts"
import * as Watchdog from "./watchdog.ts"

/** @internal */
export interface ServeOptions<E, R> {
  readonly dispatcher: Dispatcher.Dispatcher<E, R>
  readonly backpressureLimit: number
  readonly heartbeatInterval: Duration.Duration
  readonly deadTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration | undefined
  readonly draining: Effect.Effect<void>
  /**
   * Optional: where the session registers to be told when draining starts,
   * used instead of a fiber waiting on `draining`.
   */
  readonly drainGroup?: DrainGroup | undefined
  /** Optional: a watchdog shared by many sessions; default: one for this session. */
  readonly watchdog?: Watchdog.Watchdog | undefined
}

/**
 * A session that can be told to drain.
 *
 * @internal
 */
export interface Drainable {
  readonly drain: () => void
}

/**
 * The sessions to tell when draining starts (a daemon's): `add` drains a
 * session at once when draining has started already.
 *
 * @internal
 */
export interface DrainGroup {
  readonly add: (session: Drainable) => void
  readonly remove: (session: Drainable) => void
}

/**
 * How a session ended without an error.
 *
 * @internal
 */
export type Outcome = "disconnect" | "closed" | "drained" | "idle"

type Reply = Message.Message | void

/** A request whose handler runs in a fiber: its place in the reply order. */
class Pending {
  done = false
  reply: Reply = undefined
}

type Slot = Message.Message | Pending

const PING = Message.Ping()
const DRAINED: Exit.Exit<Outcome> = Exit.succeed("drained")
const DISCONNECTED: Exit.Exit<Outcome> = Exit.succeed("disconnect")
const IDLE: Exit.Exit<Outcome> = Exit.succeed("idle")
const CLOSED: Exit.Exit<Outcome> = Exit.succeed("closed")

const isClosed = (error: ProtocolError.ProtocolError) => error.reason._tag === "ConnectionClosed"

/** Where replies go and how reading is paused: a push wire, or a `Session`'s effects. */
interface Port {
  /** Writes replies: `true` when more can be written at once, `false` when `onWritable` will follow. */
  readonly write: (messages: Arr.NonEmptyReadonlyArray<Message.Message>) => ProtocolError.ProtocolError | boolean
  readonly pause: () => void
  readonly resume: () => void
}

/** One served session (see the module's documentation). */
class Served<E, R> implements Connection.Sink, Watchdog.Watched, Drainable {
  readonly done = Deferred.makeUnsafe<Outcome, ProtocolError.ProtocolError>()
  port: Port | undefined = undefined
  lastReceived: number
  lastApplication: number
  lastSent: number
  /** Replies owed, in request order (from `head` on). */
  private slots: Array<Slot> = []
  private head = 0
  private pendingInSlots = 0
  /** Handlers running in fibers. */
  private inFlight = 0
  private handlers: Set<Fiber.Fiber<Reply>> | undefined = undefined
  private writable = true
  private inputPaused = false
  /** Requests read but not handled yet (backpressure), from `stashIndex` on. */
  private stash: ReadonlyArray<Message.Message> | undefined = undefined
  private stashIndex = 0
  private processing = false
  /** How the session is ending, once it is. */
  private ending: Exit.Exit<Outcome, ProtocolError.ProtocolError> | undefined = undefined
  private readonly heartbeatMillis: number
  private readonly deadMillis: number
  private readonly idleMillis: number

  readonly options: ServeOptions<E, R>
  readonly clock: Clock.Clock
  readonly context: Context.Context<R>
  readonly wire: SealedSession.Wire | undefined
  readonly session: Session.Session
  private annotated: Context.Context<R> | undefined = undefined

  constructor(
    session: Session.Session,
    options: ServeOptions<E, R>,
    clock: Clock.Clock,
    context: Context.Context<R>,
    wire: SealedSession.Wire | undefined
  ) {
    this.session = session
    this.options = options
    this.clock = clock
    this.context = context
    this.wire = wire
    const now = clock.currentTimeMillisUnsafe()
    this.lastReceived = now
    this.lastApplication = now
    this.lastSent = now
    this.heartbeatMillis = Duration.toMillis(options.heartbeatInterval)
    this.deadMillis = Duration.toMillis(options.deadTimeout)
    this.idleMillis = options.idleTimeout === undefined ? Infinity : Duration.toMillis(options.idleTimeout)
  }

  /** When the watchdog must next look at this session. */
  nextDeadline(): number {
    return Math.min(this.lastReceived + this.deadMillis, this.lastApplication + this.idleMillis, this.lastSent + this.heartbeatMillis)
  }

  // ---------------------------------------------------------------------------
  // input
  // ---------------------------------------------------------------------------

  /** Push wire: a batch of packets. */
  onPackets(packets: Arr.NonEmptyReadonlyArray<Packet.Packet>): void {
    const wire = this.wire as SealedSession.Wire
    const messages: Array<Message.Message> = []
    let failure: ProtocolError.ProtocolError | undefined
    for (let i = 0; i < packets.length; i++) {
      const opened = wire.sealer.open(packets[i])
      if (Result.isFailure(opened)) {
        failure = opened.failure
        break
      }
      if (opened.success !== undefined) messages.push(opened.success)
    }
    if (messages.length > 0) this.deliver(messages)
    if (failure !== undefined) this.finish(Exit.fail(failure))
  }

  /** Push wire: the input ended. */
  onEnd(error: ProtocolError.ProtocolError): void {
    this.inputEnded(error)
  }

  /** Push wire: the socket can take more. */
  onDrain(): void {
    this.onWritable()
  }

  inputEnded(error: ProtocolError.ProtocolError): void {
    this.finish(isClosed(error) ? CLOSED : Exit.fail(error))
  }

  /** A batch of requests read from the peer. */
  deliver(messages: ReadonlyArray<Message.Message>): void {
    if (this.ending !== undefined) return
    this.lastReceived = this.clock.currentTimeMillisUnsafe()
    Metrics.messagesReceivedUnsafe(this.context, messages.length, 0)
    this.process(messages, 0)
    this.flush()
  }

  private blocked(): boolean {
    return this.inFlight >= this.options.backpressureLimit || !this.writable
  }

  private process(messages: ReadonlyArray<Message.Message>, start: number): void {
    this.processing = true
    try {
      const now = this.lastReceived
      for (let i = start; i < messages.length; i++) {
        if (this.ending !== undefined) return
        if (this.blocked()) {
          // the rest waits, and nothing more is read, until there is room
          this.stash = messages
          this.stashIndex = i
          this.pauseInput()
          return
        }
        const message = messages[i]
        if (message._tag === "Disconnect") return this.finish(DISCONNECTED)
        if (message._tag === "Pong") continue
        if (message._tag !== "Ping") this.lastApplication = now
        this.handle(message)
      }
    } finally {
      this.processing = false
    }
  }

  private handle(message: Message.Message): void {
    const handler = Dispatcher.handlerFor(this.options.dispatcher, message)
    if (handler === undefined) {
      this.log(Effect.logDebug(`no handler for opcode ${Message.opcode(message)}; ignored`))
      return
    }
    const effect = handler(message)
    if (Exit.isExit(effect)) {
      if (Exit.isSuccess(effect)) {
        if (effect.value !== undefined) this.slots.push(effect.value as Message.Message)
      } else {
        this.logFailure(message, effect.cause)
      }
      return
    }
    const pending = new Pending()
    this.slots.push(pending)
    this.pendingInSlots++
    this.inFlight++
    const fiber = Effect.runForkWith(this.handlerContext())(
      Effect.catchCause(effect, (cause) => Effect.as(this.failureLog(message, cause), undefined))
    )
    const handlers = this.handlers ??= new Set()
    handlers.add(fiber)
    fiber.addObserver((exit) => {
      handlers.delete(fiber)
      this.inFlight--
      pending.done = true
      if (Exit.isSuccess(exit)) pending.reply = exit.value
      if (this.processing) return
      this.flush()
      this.unblock()
    })
  }

  private failureLog(message: Message.Message, cause: Cause.Cause<unknown>): Effect.Effect<void> {
    return Effect.logWarning(`handler for ${Message.opcode(message)} failed; no reply sent`, cause)
  }

  private logFailure(message: Message.Message, cause: Cause.Cause<unknown>): void {
    this.log(this.failureLog(message, cause))
  }

  private log(effect: Effect.Effect<void>): void {
    Effect.runForkWith(this.handlerContext())(effect)
  }

  /**
   * The context of handler fibers and logs: the session's, with the peer and
   * the transport as log annotations. Made on first use (an idle session, or
   * one whose handlers all answer at once, never needs it).
   */
  private handlerContext(): Context.Context<R> {
    return this.annotated ??= Context.add(this.context, References.CurrentLogAnnotations, {
      ...Context.get(this.context, References.CurrentLogAnnotations),
      peer: this.session.info.remoteAddress,
      transport: this.session.info.transport
    })
  }

  private pauseInput(): void {
    if (this.inputPaused) return
    this.inputPaused = true
    this.port?.pause()
  }

  /** Handles what waited, and reads again, once there is room. */
  private unblock(): void {
    if (this.ending !== undefined) return this.complete()
    if (this.blocked()) return
    const stash = this.stash
    if (stash !== undefined) {
      this.stash = undefined
      this.process(stash, this.stashIndex)
      this.flush()
    }
    if (this.stash === undefined && this.inputPaused && !this.blocked() && this.ending === undefined) {
      this.inputPaused = false
      this.port?.resume()
    }
  }

  // ---------------------------------------------------------------------------
  // output
  // ---------------------------------------------------------------------------

  /** Writes every reply that is ready, in order. When ending, writes even over backpressure. */
  private flush(): void {
    if ((!this.writable && this.ending === undefined) || this.head === this.slots.length) return
    let replies: Array<Message.Message>
    if (this.pendingInSlots === 0 && this.head === 0) {
      replies = this.slots as Array<Message.Message>
      this.slots = []
    } else {
      replies = []
      const slots = this.slots
      let head = this.head
      for (; head < slots.length; head++) {
        const slot = slots[head]
        if (slot instanceof Pending) {
          if (!slot.done) break
          this.pendingInSlots--
          if (slot.reply !== undefined) replies.push(slot.reply)
        } else {
          replies.push(slot)
        }
      }
      if (head === slots.length) {
        this.slots = []
        this.head = 0
      } else {
        this.head = head
      }
    }
    if (replies.length > 0) this.write(replies as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
  }

  private write(messages: Arr.NonEmptyReadonlyArray<Message.Message>): void {
    const port = this.port
    if (port === undefined) return
    const written = port.write(messages)
    this.lastSent = this.clock.currentTimeMillisUnsafe()
    Metrics.messagesSentUnsafe(this.context, messages.length, 0)
    if (written === false) {
      this.writable = false
    } else if (written !== true) {
      // the replies could not be sent: the session's error, whatever it is
      this.writable = false
      this.ending ??= Exit.fail(written)
      this.slots = []
      this.head = 0
      this.complete()
    }
  }

  onWritable(): void {
    this.writable = true
    this.flush()
    this.unblock()
  }

  /** A send of a session without a push side failed. */
  sendFailed(error: ProtocolError.ProtocolError): void {
    this.ending ??= Exit.fail(error)
    this.slots = []
    this.head = 0
    this.writable = true
    this.complete()
  }

  // ---------------------------------------------------------------------------
  // heartbeat, ending
  // ---------------------------------------------------------------------------

  tick(now: number): number | undefined {
    if (this.ending !== undefined) return undefined
    if (now - this.lastReceived >= this.deadMillis) {
      this.finish(Exit.fail(ProtocolError.make(new ProtocolError.ConnectionTimeout())))
      return undefined
    }
    if (now - this.lastApplication >= this.idleMillis) {
      this.finish(IDLE)
      return undefined
    }
    if (now - this.lastSent >= this.heartbeatMillis) {
      this.lastSent = now
      // never wait here: a connection that cannot take a Ping is busy anyway
      if (this.writable) this.write([PING])
    }
    return this.nextDeadline()
  }

  drain(): void {
    this.finish(DRAINED)
  }

  /** Starts ending: nothing more is read; the replies owed are sent, then the session ends. */
  finish(exit: Exit.Exit<Outcome, ProtocolError.ProtocolError>): void {
    if (this.ending !== undefined) return
    this.ending = exit
    this.stash = undefined
    this.pauseInput()
    this.flush()
    this.complete()
  }

  /** Ends the session once every reply owed was handed to the socket. */
  private complete(): void {
    const ending = this.ending
    if (ending === undefined || Deferred.isDoneUnsafe(this.done)) return
    if (this.inFlight > 0 || this.head < this.slots.length || (!this.writable && this.wire === undefined)) return
    Deferred.doneUnsafe(this.done, ending)
  }

  /** The handler fibers still running (when the session is interrupted). */
  runningHandlers(): ReadonlyArray<Fiber.Fiber<Reply>> {
    return this.handlers === undefined ? [] : Array.from(this.handlers)
  }
}

/** A port over a push wire: replies sealed and written at once. */
class WirePort implements Port {
  readonly wire: SealedSession.Wire

  constructor(wire: SealedSession.Wire) {
    this.wire = wire
  }

  write(messages: Arr.NonEmptyReadonlyArray<Message.Message>): ProtocolError.ProtocolError | boolean {
    const packets = new Array<Packet.Packet>(messages.length)
    for (let i = 0; i < messages.length; i++) {
      const sealed = this.wire.sealer.seal(messages[i])
      if (Result.isFailure(sealed)) return sealed.failure
      packets[i] = sealed.success
    }
    return this.wire.push.write(packets as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
  }

  pause(): void {
    this.wire.push.pause()
  }

  resume(): void {
    this.wire.push.resume()
  }
}

/**
 * A port over a `Session` without a push side: one fiber reads (while not
 * paused), one `send` at a time writes.
 */
const sessionPort = <E, R>(served: Served<E, R>, session: Session.Session) => {
  let resumed: Deferred.Deferred<void> | undefined
  const reader = Effect.gen(function*() {
    while (true) {
      if (resumed !== undefined) yield* Deferred.await(resumed)
      served.deliver(yield* session.receive)
    }
  }).pipe(Effect.catch((error: ProtocolError.ProtocolError) => Effect.sync(() => served.inputEnded(error))))
  const port: Port = {
    write: (messages) => {
      let settledAtOnce: Exit.Exit<void, ProtocolError.ProtocolError> | undefined
      let started = false
      Effect.runForkWith(served.context)(session.send(messages)).addObserver((exit) => {
        if (!started) {
          settledAtOnce = exit
          return
        }
        if (Exit.isSuccess(exit)) return served.onWritable()
        served.sendFailed(errorOf(exit))
      })
      started = true
      if (settledAtOnce === undefined) return false
      return Exit.isSuccess(settledAtOnce) ? true : errorOf(settledAtOnce)
    },
    pause: () => {
      resumed ??= Deferred.makeUnsafe<void>()
    },
    resume: () => {
      const signal = resumed
      resumed = undefined
      if (signal !== undefined) Deferred.doneUnsafe(signal, Effect.void)
    }
  }
  return { port, reader }
}

const errorOf = (exit: Exit.Exit<void, ProtocolError.ProtocolError>): ProtocolError.ProtocolError => {
  const error = Exit.findError(exit)
  return Result.isSuccess(error) ? error.success : ProtocolError.make(new ProtocolError.ConnectionClosed())
}

/** @internal */
export const serveSession = <E, R>(
  session: Session.Session,
  options: ServeOptions<E, R>
): Effect.Effect<Outcome, ProtocolError.ProtocolError, R> =>
  Effect.withFiber((fiber) => {
    const context = fiber.context as Context.Context<R>
    const clock = Context.get(context, Clock.Clock)
    const wire = SealedSession.wireOf(session)
    const served = new Served(session, options, clock, context, wire)
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    const watchdog = options.watchdog ?? Watchdog.make()
    if (options.watchdog === undefined) fibers.push(Effect.runForkWith(context)(watchdog.run))
    watchdog.add(served, served.nextDeadline())
    const drainGroup = options.drainGroup
    if (drainGroup !== undefined) {
      drainGroup.add(served)
    } else {
      const draining = Effect.runForkWith(context)(options.draining)
      draining.addObserver((exit) => {
        if (Exit.isSuccess(exit)) served.drain()
      })
      fibers.push(draining)
    }
    if (wire !== undefined) {
      served.port = new WirePort(wire)
      if (wire.pending.length > 0) {
        served.onPackets(wire.pending as unknown as Arr.NonEmptyReadonlyArray<Packet.Packet>)
      }
      wire.push.attach(served)
    } else {
      const { port, reader } = sessionPort(served, session)
      served.port = port
      fibers.push(Effect.runForkWith(context)(reader))
    }
    return Deferred.await(served.done).pipe(
      Effect.onExit(() =>
        Effect.suspend(() => {
          drainGroup?.remove(served)
          // stops the watchdog entry on its next tick
          if (!Deferred.isDoneUnsafe(served.done)) served.finish(CLOSED)
          return Fiber.interruptAll([...fibers, ...served.runningHandlers()])
        })
      )
    )
  })
