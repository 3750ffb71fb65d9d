/**
 * The daemon's work on one session: read requests, dispatch them, reply in
 * request order, heartbeat, and end cleanly.
 *
 * - **Ordering and backpressure.** Every request takes a slot in a bounded
 *   queue of `backpressureLimit` slots; the writer takes slots in order and
 *   sends their replies in batches. When every reply to a batch of requests
 *   is ready at once and the writer has nothing queued or in flight, the
 *   reader sends them itself (same order, one write, no hand-over to the
 *   writer fiber). A handler that answers synchronously
 *   (`Effect.succeed`, `Effect.void`) is resolved in place with no fiber; any
 *   other handler runs in its own fiber, so up to `backpressureLimit` requests
 *   are worked on at once. When the slots are full the reader stops pulling
 *   from the socket, so a client that never reads stalls only its own
 *   connection, and memory stays bounded.
 * - **Heartbeat.** A `Ping` is sent when nothing was sent for
 *   `heartbeatInterval`; the session fails with `ConnectionTimeout` when
 *   nothing at all was received for `deadTimeout`.
 * - **Idle timeout.** With `idleTimeout` set, a session that received no
 *   application message (heartbeats do not count) for that long is ended. A
 *   busy session is never cut.
 * - **Draining.** When `draining` completes, no new request is read; replies
 *   to the requests already read are sent, then the session ends.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Dispatcher from "../Dispatcher.ts"
import type * as Session from "../Session.ts"

/** @internal */
export interface ServeOptions<E, R> {
  readonly dispatcher: Dispatcher.Dispatcher<E, R>
  readonly backpressureLimit: number
  readonly heartbeatInterval: Duration.Duration
  readonly deadTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration | undefined
  readonly draining: Effect.Effect<void>
  /**
   * Optional: registers a callback run once draining starts (returning its
   * unregistration), used instead of a fiber waiting on `draining`.
   */
  readonly onDraining?: ((signal: () => void) => () => void) | undefined
}

/**
 * How a session ended without an error.
 *
 * @internal
 */
export type Outcome = "disconnect" | "closed" | "drained" | "idle"

type Reply = Message.Message | void
type Slot = Message.Message | Fiber.Fiber<Reply>

interface Activity {
  lastReceived: number
  lastApplication: number
  lastSent: number
}

const PING = Message.Ping()
const DRAINED: Exit.Exit<Outcome> = Exit.succeed("drained")

const isClosed = (error: ProtocolError.ProtocolError) => error.reason._tag === "ConnectionClosed"

/** @internal */
export const serveSession = Effect.fnUntraced(function*<E, R>(
  session: Session.Session,
  options: ServeOptions<E, R>
): Effect.fn.Return<Outcome, ProtocolError.ProtocolError, R> {
  const clock = yield* Clock.Clock
  const start = clock.currentTimeMillisUnsafe()
  const activity: Activity = { lastReceived: start, lastApplication: start, lastSent: start }
  // How the session ends: the first of the reader, the watchdog, draining and
  // a failed writer to settle it. Settled from fiber observers and callbacks,
  // so an idle session holds only its reader and its watchdog fibers.
  const done = Deferred.makeUnsafe<Outcome, ProtocolError.ProtocolError>()
  const settle = (exit: Exit.Exit<Outcome, ProtocolError.ProtocolError>): void => {
    Deferred.doneUnsafe(done, exit)
  }

  // The slots queue, the permits, the handler scope and the writer are made
  // on first use: a session whose replies all go out directly never needs them.
  let slots: Queue.Queue<Slot, Cause.Done> | undefined
  // One permit per asynchronous handler from its start until its reply leaves
  // the writer, so at most `backpressureLimit` handlers work at once.
  let permits: Semaphore.Semaphore | undefined
  // Handler fibers belong to the session, not to the reader: interrupting the
  // reader (draining) must not lose the replies it already owes.
  let handlers: Scope.Closeable | undefined
  let writerFiber: Fiber.Fiber<void, ProtocolError.ProtocolError> | undefined
  const handlerScope = (): Scope.Closeable => handlers ??= Scope.makeUnsafe()
  const getPermits = (): Semaphore.Semaphore => permits ??= Semaphore.makeUnsafe(options.backpressureLimit)

  const logHandlerFailure = (message: Message.Message, cause: Cause.Cause<unknown>) =>
    Effect.logWarning(`handler for ${Message.opcode(message)} failed; no reply sent`, cause)

  const run = (message: Message.Message, effect: Effect.Effect<Reply, unknown, R>) =>
    Effect.forkIn(
      Effect.catchCause(effect, (cause) => Effect.as(logHandlerFailure(message, cause), undefined)),
      handlerScope()
    )

  /** The slot of a message: its reply, a fiber computing it, or `undefined` for none. */
  const resolve = (message: Message.Message): Effect.Effect<Reply, unknown, R> | undefined => {
    const handler = Dispatcher.handlerFor(options.dispatcher, message)
    if (handler === undefined) {
      return Effect.as(Effect.logDebug(`no handler for opcode ${Message.opcode(message)}; ignored`), undefined)
    }
    return handler(message)
  }

  // Whether the writer holds slots it took and has not finished sending.
  let writing = false
  // The error of replies the reader sent itself: the session's error even
  // when it is `ConnectionClosed`, as when the writer fails with it.
  let sendFailure: ProtocolError.ProtocolError | undefined

  /** Sends replies from the reader, bypassing the queue (see `reader`). */
  const sendDirect = (replies: Arr.NonEmptyReadonlyArray<Message.Message>) =>
    session.send(replies).pipe(
      Effect.andThen(Effect.suspend(() => {
        activity.lastSent = clock.currentTimeMillisUnsafe()
        return Metrics.messagesSent(replies.length, 0)
      })),
      Effect.tapError((error) => Effect.sync(() => sendFailure = error))
    )

  const writer = Effect.suspend(() => {
    const queue = slots as Queue.Queue<Slot, Cause.Done>
    return Effect.gen(function*() {
      while (true) {
        const taken = yield* Queue.takeAll(queue)
        writing = true
        const replies: Array<Message.Message> = []
        for (let i = 0; i < taken.length; i++) {
          const slot = taken[i]
          if (Fiber.isFiber(slot)) {
            const reply = yield* Fiber.join(slot)
            yield* Semaphore.release(getPermits(), 1)
            if (reply !== undefined) replies.push(reply)
          } else {
            replies.push(slot)
          }
        }
        if (replies.length > 0) {
          yield* session.send(replies as unknown as Arr.NonEmptyReadonlyArray<Message.Message>)
          activity.lastSent = clock.currentTimeMillisUnsafe()
          yield* Metrics.messagesSent(replies.length, 0)
        }
        writing = false
      }
    }).pipe(Effect.catchIf(Cause.isDone, () => Effect.void))
  })

  /** The slots queue, made (with the writer taking from it) on first use. */
  const getSlots: Effect.Effect<Queue.Queue<Slot, Cause.Done>> = Effect.uninterruptible(Effect.suspend(() => {
    if (slots !== undefined) return Effect.succeed(slots)
    return Effect.flatMap(Queue.bounded<Slot, Cause.Done>(options.backpressureLimit), (queue) => {
      if (slots !== undefined) return Effect.succeed(slots)
      slots = queue
      return Effect.map(Effect.forkIn(writer, handlerScope()), (fiber) => {
        writerFiber = fiber
        // a writer that ends before the session does ends it: failed, with its error
        fiber.addObserver((exit) => settle(Exit.isSuccess(exit) ? Exit.succeed("closed") : Exit.failCause(exit.cause)))
        return queue
      })
    })
  }))

  // Only waiting for input (or for free slots) is interruptible: a batch that
  // was read is always handled as a whole, so draining never drops a request
  // that was already taken off the socket.
  //
  // Fast path: when every reply to a batch is ready at once and the writer
  // has nothing queued or in flight, the reader sends the replies itself, in
  // one write, without waking the writer; every earlier reply has been
  // written already, so the order holds.
  const reader: Effect.Effect<Outcome, ProtocolError.ProtocolError, R> = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      let batch: Array<Slot> = []
      // whether `batch` holds a handler fiber (then it goes through the queue)
      let pendingFiber = false
      while (true) {
        const messages = yield* restore(session.receive)
        yield* Metrics.messagesReceived(messages.length, 0)
        const now = clock.currentTimeMillisUnsafe()
        activity.lastReceived = now
        let disconnected = false
        for (let i = 0; i < messages.length && !disconnected; i++) {
          const message = messages[i]
          if (message._tag === "Disconnect") {
            disconnected = true
            continue
          }
          if (message._tag === "Pong") continue
          if (message._tag !== "Ping") activity.lastApplication = now
          const effect = resolve(message)
          if (effect === undefined) continue
          if (Exit.isExit(effect)) {
            if (Exit.isSuccess(effect)) {
              if (effect.value !== undefined) batch.push(effect.value as Message.Message)
            } else {
              yield* logHandlerFailure(message, effect.cause)
            }
            continue
          }
          // Hand over what is ready before waiting for a permit: the writer
          // frees permits only for slots it can see.
          if (batch.length > 0) {
            yield* restore(Queue.offerAll(yield* getSlots, batch))
            batch = []
          }
          yield* restore(Semaphore.take(getPermits(), 1))
          batch.push(yield* run(message, effect))
          pendingFiber = true
        }
        if (batch.length > 0) {
          if (!pendingFiber && !writing && (slots === undefined || Queue.sizeUnsafe(slots) === 0)) {
            yield* restore(sendDirect(batch as unknown as Arr.NonEmptyReadonlyArray<Message.Message>))
          } else {
            yield* restore(Queue.offerAll(yield* getSlots, batch))
          }
          batch = []
          pendingFiber = false
        }
        if (disconnected) return "disconnect" as const
      }
    })
  ).pipe(Effect.catchIf((error) => isClosed(error) && error !== sendFailure, () => Effect.succeed("closed" as const)))

  const heartbeatMillis = Duration.toMillis(options.heartbeatInterval)
  const deadMillis = Duration.toMillis(options.deadTimeout)
  const idleMillis = options.idleTimeout === undefined ? Infinity : Duration.toMillis(options.idleTimeout)

  const watchdog: Effect.Effect<Outcome, ProtocolError.ProtocolError> = Effect.gen(function*() {
    while (true) {
      const now = clock.currentTimeMillisUnsafe()
      if (now - activity.lastReceived >= deadMillis) {
        return yield* Effect.fail(ProtocolError.make(new ProtocolError.ConnectionTimeout()))
      }
      if (now - activity.lastApplication >= idleMillis) return "idle" as const
      if (now - activity.lastSent >= heartbeatMillis) {
        activity.lastSent = now
        // never wait here: a full queue means the connection is busy anyway
        Queue.offerUnsafe(yield* getSlots, PING)
      }
      const next = Math.min(
        activity.lastReceived + deadMillis,
        activity.lastApplication + idleMillis,
        activity.lastSent + heartbeatMillis
      )
      yield* Effect.sleep(Duration.millis(Math.max(1, next - now)))
    }
  })

  const readerFiber = yield* Effect.forkChild(reader, { startImmediately: true })
  readerFiber.addObserver(settle)
  const watchdogFiber = yield* Effect.forkChild(watchdog, { startImmediately: true })
  watchdogFiber.addObserver(settle)
  let drainingFiber: Fiber.Fiber<void> | undefined
  let stopListening: (() => void) | undefined
  const onDrained = () => settle(DRAINED)
  if (options.onDraining !== undefined) {
    stopListening = options.onDraining(onDrained)
  } else {
    drainingFiber = yield* Effect.forkChild(options.draining, { startImmediately: true })
    drainingFiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) onDrained()
    })
  }

  // However the session ends, the writer stops before the handler fibers are
  // interrupted: a reply must never follow a request that got none, or the
  // peer would pair replies with the wrong requests.
  return yield* Effect.gen(function*() {
    const outcome = yield* Effect.exit(Deferred.await(done))
    // the other contenders stop, as the losers of a race would
    yield* Fiber.interrupt(readerFiber)
    yield* Fiber.interrupt(watchdogFiber)
    if (drainingFiber !== undefined) yield* Fiber.interrupt(drainingFiber)
    // No more requests: send the replies already owed, then end. The peer may
    // be gone already, so a failure to deliver them is not the session's error.
    if (slots !== undefined) yield* Queue.end(slots)
    if (writerFiber !== undefined) {
      yield* Fiber.join(writerFiber).pipe(
        Effect.catchCause((cause) => Effect.logDebug("replies owed at the end of the session were not delivered", cause))
      )
    }
    return yield* outcome
  }).pipe(Effect.onExit((exit) =>
    Effect.suspend(() => {
      stopListening?.()
      const fibers: Array<Fiber.Fiber<unknown, unknown>> = [readerFiber, watchdogFiber]
      if (drainingFiber !== undefined) fibers.push(drainingFiber)
      if (writerFiber !== undefined) fibers.push(writerFiber)
      return Effect.andThen(Fiber.interruptAll(fibers), handlers === undefined ? Effect.void : Scope.close(handlers, exit))
    })
  ))
})
