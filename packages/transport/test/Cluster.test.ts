import { assert, describe, it } from "@effect/vitest"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cluster from "../src/Cluster.ts"
import type * as Connection from "../src/Connection.ts"
import type * as Server from "../src/Server.ts"
import * as Tcp from "../src/Tcp.ts"
import * as Unix from "../src/Unix.ts"
import { failureReason, noLeaks, tempDir } from "./helpers.ts"

/**
 * A peer answering pings on TCP or a Unix socket, in its own scope so that
 * the test can stop it and start it again at the same address. Counts the
 * connections it accepts.
 */
const startPeer = (
  where: { readonly port: number } | { readonly path: string },
  accepted: Ref.Ref<number>,
  handler: (connection: Connection.Connection) => Effect.Effect<void, unknown> = Cluster.respondToPings
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const listening: Effect.Effect<Server.Server, ProtocolError.ProtocolError, Scope.Scope> = "port" in where
      ? Tcp.listen({ port: where.port })
      : Unix.listen({ path: where.path })
    const server = yield* Scope.provide(listening, scope)
    yield* Effect.forkIn(
      server.run((connection) => Effect.andThen(Ref.update(accepted, (n) => n + 1), handler(connection))),
      scope
    )
    const port = server.address._tag === "UnixPathAddress" ? -1 : server.address.port
    return { port, stop: Scope.close(scope, Exit.void) }
  })

const statuses = (members: ReadonlyArray<Cluster.Member>) =>
  Object.fromEntries(members.map((member) => [member.peer.id, member.status]))

const describeEvent = (event: Cluster.MembershipEvent) =>
  event._tag === "StatusChanged"
    ? `${event.member.peer.id}: ${event.previous} -> ${event.member.status}`
    : `${event.member.peer.id}: ${event._tag}`

describe("Cluster", () => {
  it.effect("marks a peer that goes down Suspect then Dead, and Alive when it comes back", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "b.sock")
      yield* noLeaks(Effect.gen(function*() {
        yield* TestClock.setTime(1_000)
        const acceptedA = yield* Ref.make(0)
        const acceptedB = yield* Ref.make(0)
        const a = yield* startPeer({ port: 0 }, acceptedA)
        const b = yield* startPeer({ path }, acceptedB)
        const ping = yield* Cluster.framedPing()
        const cluster = yield* Cluster.make({
          peers: [Cluster.tcpPeer("a", "127.0.0.1", a.port), Cluster.unixPeer("b", path)],
          ping,
          suspectAfter: 1,
          deadAfter: 2,
          // rounds are driven by `probe` here; the schedule never fires
          schedule: Schedule.spaced("1 hour")
        })
        const initial = yield* cluster.members
        assert.deepStrictEqual(statuses(initial), { a: "Alive", b: "Alive" })
        assert.deepStrictEqual(initial.map((member) => member.lastSeen), [Option.some(1_000), Option.some(1_000)])
        const events = yield* cluster.subscribe

        yield* b.stop
        assert.isFalse(Fs.existsSync(path))
        yield* TestClock.setTime(2_000)
        assert.deepStrictEqual(statuses(yield* cluster.probe), { a: "Alive", b: "Suspect" })
        yield* TestClock.setTime(3_000)
        const dead = yield* cluster.probe
        assert.deepStrictEqual(statuses(dead), { a: "Alive", b: "Dead" })
        const deadB = dead.find((member) => member.peer.id === "b")
        assert.deepStrictEqual(deadB?.lastSeen, Option.some(1_000))
        assert.strictEqual(deadB?.failures, 2)

        yield* startPeer({ path }, acceptedB)
        yield* TestClock.setTime(4_000)
        const back = yield* cluster.probe
        assert.deepStrictEqual(statuses(back), { a: "Alive", b: "Alive" })
        assert.deepStrictEqual(back.map((member) => member.lastSeen), [Option.some(4_000), Option.some(4_000)])

        const seen = [yield* PubSub.take(events), yield* PubSub.take(events), yield* PubSub.take(events)]
        assert.deepStrictEqual(seen.map(describeEvent), [
          "b: Alive -> Suspect",
          "b: Suspect -> Dead",
          "b: Dead -> Alive"
        ])
        assert.strictEqual(yield* PubSub.remaining(events), 0)
        // one connection to "a" served all four pings; "b" was reconnected once it was back
        assert.strictEqual(yield* Ref.get(acceptedA), 1)
        assert.strictEqual(yield* Ref.get(acceptedB), 2)
      }))
      assert.isFalse(Fs.existsSync(path))
    }))

  it.effect("runs rounds on the schedule (TestClock) and stops with its scope", () =>
    noLeaks(Effect.gen(function*() {
      const accepted = yield* Ref.make(0)
      const peer = yield* startPeer({ port: 0 }, accepted)
      const port = peer.port
      yield* peer.stop
      const pings = yield* Ref.make(0)
      const framed = yield* Cluster.framedPing()
      const clusterScope = yield* Scope.make()
      const cluster = yield* Scope.provide(
        Cluster.make({
          peers: [Cluster.tcpPeer("p", "127.0.0.1", port)],
          ping: (p) => Effect.andThen(Ref.update(pings, (n) => n + 1), framed(p)),
          schedule: Schedule.spaced("1 second"),
          suspectAfter: 1,
          deadAfter: 2
        }),
        clusterScope
      )
      // the first round ran in make: the peer is down
      assert.deepStrictEqual(statuses(yield* cluster.members), { p: "Suspect" })
      const events = yield* Scope.provide(cluster.subscribe, clusterScope)
      const ended = yield* Effect.forkChild(Stream.runCollect(cluster.changes))

      yield* TestClock.adjust("1 second")
      assert.strictEqual(describeEvent(yield* PubSub.take(events)), "p: Suspect -> Dead")
      yield* startPeer({ port }, accepted)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(describeEvent(yield* PubSub.take(events)), "p: Dead -> Alive")
      assert.strictEqual(yield* Ref.get(pings), 3)

      yield* Scope.close(clusterScope, Exit.void)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Ref.get(pings), 3, "no ping after shutdown")
      // the changes stream ends with the cluster
      yield* Fiber.join(ended)
    })))

  it.effect("pings peers concurrently, each with its own timeout", () =>
    Effect.gen(function*() {
      const started = {
        a: yield* Deferred.make<void>(),
        b: yield* Deferred.make<void>()
      }
      const ping = (peer: Cluster.Peer) => {
        switch (peer.id) {
          case "a":
            return Effect.andThen(Deferred.succeed(started.a, undefined), Deferred.await(started.b))
          case "b":
            return Effect.andThen(Deferred.succeed(started.b, undefined), Deferred.await(started.a))
          default:
            return Effect.never
        }
      }
      const making = yield* Effect.forkChild(Cluster.make({
        peers: ["a", "b", "silent"].map((id) => Cluster.tcpPeer(id, "127.0.0.1", 1)),
        ping,
        pingTimeout: "2 seconds"
      }))
      // a and b can only both finish if they run at the same time
      yield* Deferred.await(started.a)
      yield* Deferred.await(started.b)
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(making.pollUnsafe())
      yield* TestClock.adjust("1 milli")
      const cluster = yield* Fiber.join(making)
      assert.deepStrictEqual(statuses(yield* cluster.members), { a: "Alive", b: "Alive", silent: "Suspect" })
      const silent = yield* cluster.member("silent")
      assert.deepStrictEqual(Option.map(silent, (member) => member.failures), Option.some(1))
      assert.isTrue(Option.isNone(yield* cluster.member("nobody")))
    }))

  it.effect("publishes joins and leaves", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ peers: [], ping: () => Effect.void, schedule: Schedule.spaced("1 hour") })
      const events = yield* cluster.subscribe
      yield* cluster.add(Cluster.tcpPeer("x", "127.0.0.1", 1))
      yield* cluster.add(Cluster.tcpPeer("x", "127.0.0.1", 2))
      yield* cluster.remove("x")
      yield* cluster.remove("unknown")
      const seen = yield* PubSub.takeAll(events)
      assert.deepStrictEqual(seen.map(describeEvent), ["x: Joined", "x: Left", "x: Joined", "x: Left"])
      assert.deepStrictEqual(yield* cluster.members, [])
      yield* cluster.add(Cluster.tcpPeer("y", "127.0.0.1", 1))
      const after = yield* cluster.probe
      assert.deepStrictEqual(statuses(after), { y: "Alive" })
      assert.isTrue(Option.isSome(after[0].lastSeen))
    }))

  it.effect("the framed ping refuses a reply that is not Pong and reconnects", () =>
    noLeaks(Effect.gen(function*() {
      const accepted = yield* Ref.make(0)
      const echoText = Packet.make(Result.getOrThrow(MessageCodec.encode(Message.Echo({ text: "not a pong" }))))
      const peer = yield* startPeer({ port: 0 }, accepted, (connection) =>
        Effect.forever(Effect.andThen(connection.receive, connection.send([echoText]))).pipe(Effect.ignore))
      const port = peer.port
      const ping = yield* Cluster.framedPing()
      const target = Cluster.tcpPeer("p", "127.0.0.1", port)
      const first = yield* Effect.exit(ping(target))
      assert.strictEqual(failureReason(first)?._tag, "UnexpectedMessage")
      const second = yield* Effect.exit(ping(target))
      assert.strictEqual(failureReason(second)?._tag, "UnexpectedMessage")
      // the failed connection was dropped: the second ping dialed again
      assert.strictEqual(yield* Ref.get(accepted), 2)
      const refused = yield* Effect.exit(ping(Cluster.tcpPeer("q", "127.0.0.1", 1)))
      assert.strictEqual(failureReason(refused)?._tag, "Io")
    })))

  it.effect("respondToPings answers a batch of pings in one write and refuses other messages", () =>
    noLeaks(Effect.gen(function*() {
      const outcome = yield* Deferred.make<Exit.Exit<void, unknown>>()
      const server = yield* Tcp.listen({ port: 0 })
      yield* Effect.forkScoped(server.run((connection) =>
        Effect.flatMap(Effect.exit(Cluster.respondToPings(connection)), (exit) => Deferred.succeed(outcome, exit))
      ))
      const client = yield* Tcp.connect({ host: "127.0.0.1", port: server.port })
      const ping = Packet.make(Result.getOrThrow(MessageCodec.encode(Message.Ping())))
      yield* client.send([ping, ping, ping])
      const replies = []
      for (let i = 0; i < 3 && replies.length < 3; i++) replies.push(...(yield* client.receive))
      assert.deepStrictEqual(
        replies.map((packet) => Result.getOrThrow(MessageCodec.decode(packet.payload))._tag),
        ["Pong", "Pong", "Pong"]
      )
      yield* client.send([Packet.make(Result.getOrThrow(MessageCodec.encode(Message.Disconnect())))])
      assert.strictEqual(failureReason(yield* Deferred.await(outcome))?._tag, "UnexpectedMessage")
    })))
})
