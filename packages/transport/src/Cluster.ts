/**
 * Cluster membership with a failure detector.
 *
 * A `Cluster` knows a set of peers. A heartbeat, driven by a `Schedule`,
 * pings every peer **concurrently**, each with its own timeout, and moves
 * each peer through `Alive → Suspect → Dead` by counting consecutive failed
 * pings; one successful ping makes it `Alive` again and sets `lastSeen` (from
 * the `Clock`). Every change of membership or status is published on a
 * `Stream`. Closing the scope that made the cluster stops the heartbeat.
 *
 * The ping is injected: `make({ ping })` takes any `(peer) => Effect<void, E>`
 * (the service package plugs in a ping over its secure, reused connections).
 * `framedPing` is a ready one for plain framed connections: it sends a bincode
 * `Ping` and expects `Pong`, keeps one connection per peer and reconnects
 * after a failure; `respondToPings` is the matching server handler.
 *
 * The crate's `Cluster` (SPEC §9) pings sequentially over a fresh secure
 * connection each time, never updates `last_seen` and can never see a peer
 * as alive; this is what it was meant to be.
 *
 * @since 0.1.0
 */
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import type * as Connection from "./Connection.ts"
import * as Tcp from "./Tcp.ts"
import * as Unix from "./Unix.ts"

/**
 * Where a peer listens.
 *
 * @category models
 * @since 0.1.0
 */
export type Endpoint =
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  | { readonly _tag: "Unix"; readonly path: string }

/**
 * A cluster peer: a unique id and where it listens.
 *
 * @category models
 * @since 0.1.0
 */
export interface Peer {
  readonly id: string
  readonly endpoint: Endpoint
}

/**
 * A peer reachable over TCP.
 *
 * @category constructors
 * @since 0.1.0
 */
export const tcpPeer = (id: string, host: string, port: number): Peer => ({
  id,
  endpoint: { _tag: "Tcp", host, port }
})

/**
 * A peer reachable over a Unix socket.
 *
 * @category constructors
 * @since 0.1.0
 */
export const unixPeer = (id: string, path: string): Peer => ({ id, endpoint: { _tag: "Unix", path } })

/**
 * What the failure detector thinks of a peer.
 *
 * @category models
 * @since 0.1.0
 */
export type Status = "Alive" | "Suspect" | "Dead"

/**
 * A peer and its state.
 *
 * @category models
 * @since 0.1.0
 */
export interface Member {
  readonly peer: Peer
  /** A new member starts `Alive`, and is judged by its pings from then on. */
  readonly status: Status
  /** `Clock` time (ms since the epoch) of the last successful ping. */
  readonly lastSeen: Option.Option<number>
  /** Consecutive failed pings. */
  readonly failures: number
}

/**
 * A change of membership.
 *
 * @category models
 * @since 0.1.0
 */
export type MembershipEvent =
  | { readonly _tag: "Joined"; readonly member: Member }
  | { readonly _tag: "Left"; readonly member: Member }
  | { readonly _tag: "StatusChanged"; readonly member: Member; readonly previous: Status }

/**
 * A running cluster membership.
 *
 * **Details**
 *
 * - `changes` is a stream of the events published after it starts running;
 *   `subscribe` subscribes at once (use it when no event may be missed
 *   between subscribing and consuming).
 * - `probe` runs one heartbeat round now (rounds never overlap) and returns
 *   the members after it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cluster {
  readonly members: Effect.Effect<ReadonlyArray<Member>>
  readonly member: (id: string) => Effect.Effect<Option.Option<Member>>
  readonly changes: Stream.Stream<MembershipEvent>
  readonly subscribe: Effect.Effect<PubSub.Subscription<MembershipEvent>, never, Scope.Scope>
  readonly probe: Effect.Effect<ReadonlyArray<Member>>
  readonly add: (peer: Peer) => Effect.Effect<void>
  readonly remove: (id: string) => Effect.Effect<void>
}

/**
 * Options of a cluster.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<E, R> {
  readonly peers: Iterable<Peer>
  /** Succeeds if the peer answered. Interrupted when `pingTimeout` passes. */
  readonly ping: (peer: Peer) => Effect.Effect<void, E, R>
  /** When heartbeat rounds run after the first (which `make` runs itself). Default every second. */
  readonly schedule?: Schedule.Schedule<unknown, unknown, never, R> | undefined
  /** How long a ping may take. Default 1 second. */
  readonly pingTimeout?: Duration.Input | undefined
  /** Consecutive failed pings that make an `Alive` peer `Suspect`. Default 1. */
  readonly suspectAfter?: number | undefined
  /** Consecutive failed pings that make a peer `Dead`. Default 3. */
  readonly deadAfter?: number | undefined
}

/**
 * Starts a cluster membership. The first heartbeat round runs before `make`
 * returns (so it takes up to `pingTimeout`); the next ones run in the
 * background, as `schedule` says, until the scope closes; then the `changes`
 * streams end.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <E, R>(options: Options<E, R>): Effect.Effect<Cluster, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const pingTimeout = options.pingTimeout ?? Duration.seconds(1)
    const suspectAfter = Math.max(1, options.suspectAfter ?? 1)
    const deadAfter = Math.max(suspectAfter, options.deadAfter ?? 3)
    const schedule: Schedule.Schedule<unknown, unknown, never, R> = options.schedule ?? Schedule.spaced("1 second")
    const state = new Map<string, Member>()
    for (const peer of options.peers) {
      state.set(peer.id, { peer, status: "Alive", lastSeen: Option.none(), failures: 0 })
    }
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<MembershipEvent>(), PubSub.shutdown)
    const rounds = yield* Semaphore.make(1)
    const snapshot = () => Array.from(state.values())

    const judge = (member: Member, failures: number): Status =>
      failures >= deadAfter ? "Dead" : failures >= suspectAfter ? "Suspect" : member.status

    const round: Effect.Effect<ReadonlyArray<Member>, never, R> = rounds.withPermits(1)(
      Effect.gen(function*() {
        const peers = snapshot().map((member) => member.peer)
        const exits = yield* Effect.forEach(
          peers,
          (peer) => Effect.exit(Effect.timeout(options.ping(peer), pingTimeout)),
          { concurrency: "unbounded" }
        )
        const now = yield* Clock.currentTimeMillis
        const events: Array<MembershipEvent> = []
        for (let i = 0; i < peers.length; i++) {
          const current = state.get(peers[i].id)
          // removed or replaced while the round ran
          if (current === undefined || current.peer !== peers[i]) continue
          const next: Member = Exit.isSuccess(exits[i])
            ? { peer: current.peer, status: "Alive", lastSeen: Option.some(now), failures: 0 }
            : {
              peer: current.peer,
              status: judge(current, current.failures + 1),
              lastSeen: current.lastSeen,
              failures: current.failures + 1
            }
          state.set(next.peer.id, next)
          if (next.status !== current.status) {
            events.push({ _tag: "StatusChanged", member: next, previous: current.status })
          }
        }
        if (events.length > 0) yield* PubSub.publishAll(pubsub, events)
        return snapshot()
      })
    )

    const context = yield* Effect.context<R>()
    const probe = Effect.provideContext(round, context)
    // the first round is part of starting: members are judged when make returns
    yield* probe
    yield* Effect.forkScoped(Effect.schedule(probe, schedule))

    return {
      members: Effect.sync(snapshot),
      member: (id) => Effect.sync(() => Option.fromUndefinedOr(state.get(id))),
      changes: Stream.fromPubSub(pubsub),
      subscribe: PubSub.subscribe(pubsub),
      probe,
      add: (peer) =>
        Effect.suspend(() => {
          const previous = state.get(peer.id)
          const member: Member = { peer, status: "Alive", lastSeen: Option.none(), failures: 0 }
          state.set(peer.id, member)
          const events: Array<MembershipEvent> = previous === undefined
            ? [{ _tag: "Joined", member }]
            : [{ _tag: "Left", member: previous }, { _tag: "Joined", member }]
          return Effect.asVoid(PubSub.publishAll(pubsub, events))
        }),
      remove: (id) =>
        Effect.suspend(() => {
          const previous = state.get(id)
          if (previous === undefined) return Effect.void
          state.delete(id)
          return Effect.asVoid(PubSub.publish(pubsub, { _tag: "Left", member: previous }))
        })
    } satisfies Cluster
  })

// -----------------------------------------------------------------------------
// Ping over plain framed connections
// -----------------------------------------------------------------------------

const encodeMessage = (message: Message.Message): Packet.Packet =>
  Result.match(MessageCodec.encode(message), {
    onSuccess: Packet.make,
    // Ping and Pong have no fields: encoding them cannot fail
    onFailure: () => Packet.make(new Uint8Array(0))
  })

const pingPacket = encodeMessage(Message.Ping())
const pongPacket = encodeMessage(Message.Pong())

const unexpected = (detail: string) => ProtocolError.make(new ProtocolError.UnexpectedMessage({ detail }))

/**
 * Options of `framedPing`.
 *
 * @category models
 * @since 0.1.0
 */
export interface FramedPingOptions {
  /**
   * Opens a connection to a peer. Default: `Tcp.connect` or `Unix.connect`
   * after the peer's endpoint (use this for TLS).
   */
  readonly connect?:
    | ((peer: Peer) => Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope>)
    | undefined
  /** Bounds the default connect. Default 10 seconds. */
  readonly connectTimeout?: Duration.Input | undefined
}

const endpointKey = (endpoint: Endpoint): string =>
  endpoint._tag === "Tcp" ? `tcp:${endpoint.host}:${endpoint.port}` : `unix:${endpoint.path}`

/**
 * A ping over plain framed connections: sends a bincode `Ping` packet and
 * succeeds when the reply is a `Pong`. It keeps one connection per peer
 * (owned by the current scope) and drops it after any failure, timeout or
 * interruption, so the next ping reconnects.
 *
 * @category pings
 * @since 0.1.0
 */
export const framedPing = (
  options: FramedPingOptions = {}
): Effect.Effect<(peer: Peer) => Effect.Effect<void, ProtocolError.ProtocolError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const parent = yield* Effect.scope
    const connect = options.connect ?? ((peer: Peer) =>
      peer.endpoint._tag === "Tcp"
        ? Tcp.connect({ host: peer.endpoint.host, port: peer.endpoint.port, connectTimeout: options.connectTimeout })
        : Unix.connect({ path: peer.endpoint.path, connectTimeout: options.connectTimeout }))
    const connections = new Map<
      string,
      { readonly key: string; readonly scope: Scope.Closeable; readonly connection: Connection.Connection }
    >()
    const locks = new Map<string, Semaphore.Semaphore>()

    const drop = (id: string) =>
      Effect.suspend(() => {
        const entry = connections.get(id)
        if (entry === undefined) return Effect.void
        connections.delete(id)
        return Scope.close(entry.scope, Exit.void)
      })

    const obtain = (peer: Peer) =>
      Effect.suspend(() => {
        const key = endpointKey(peer.endpoint)
        const entry = connections.get(peer.id)
        if (entry !== undefined && entry.key === key) return Effect.succeed(entry.connection)
        return Effect.gen(function*() {
          yield* drop(peer.id)
          const scope = yield* Scope.fork(parent)
          const connection = yield* Scope.provide(connect(peer), scope).pipe(
            Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit))
          )
          connections.set(peer.id, { key, scope, connection })
          return connection
        })
      })

    const exchange = (peer: Peer) =>
      Effect.gen(function*() {
        const connection = yield* obtain(peer)
        yield* connection.send([pingPacket])
        const batch = yield* connection.receive
        if (batch.length !== 1) return yield* Effect.fail(unexpected(`${batch.length} replies to one Ping`))
        const reply = MessageCodec.decode(batch[0].payload)
        if (Result.isFailure(reply)) return yield* Effect.fail(reply.failure)
        if (reply.success._tag !== "Pong") {
          return yield* Effect.fail(unexpected(`${reply.success._tag} instead of Pong`))
        }
      }).pipe(Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : drop(peer.id)))

    return (peer: Peer) =>
      Effect.suspend(() => {
        let lock = locks.get(peer.id)
        if (lock === undefined) {
          lock = Semaphore.makeUnsafe(1)
          locks.set(peer.id, lock)
        }
        return lock.withPermits(1)(exchange(peer))
      })
  })

/**
 * A server handler answering every bincode `Ping` with a `Pong` (one write
 * per received batch) until the peer closes; any other message fails it with
 * `UnexpectedMessage`.
 *
 * @category pings
 * @since 0.1.0
 */
export const respondToPings = (connection: Connection.Connection): Effect.Effect<void, ProtocolError.ProtocolError> =>
  Effect.gen(function*() {
    while (true) {
      const batch = yield* connection.receive
      const replies: Array<Packet.Packet> = []
      for (const packet of batch) {
        const message = MessageCodec.decode(packet.payload)
        if (Result.isFailure(message)) return yield* Effect.fail(message.failure)
        if (message.success._tag !== "Ping") {
          return yield* Effect.fail(unexpected(`${message.success._tag} on a ping connection`))
        }
        replies.push(pongPacket)
      }
      if (replies.length > 0) yield* connection.send(replies as [Packet.Packet, ...Array<Packet.Packet>])
    }
  }).pipe(Effect.catchReason("ProtocolError", "ConnectionClosed", () => Effect.void))
