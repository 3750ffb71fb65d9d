/**
 * The daemon and the client over real loopback sockets (TCP, Unix sockets,
 * TLS), with real crypto. Time-dependent behaviour runs on TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Crypto from "@network-protocol/core/Crypto"
import * as Message from "@network-protocol/core/Message"
import * as Metrics from "@network-protocol/core/Metrics"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Certificate from "@network-protocol/transport/Certificate"
import * as Tcp from "@network-protocol/transport/Tcp"
import * as Tls from "@network-protocol/transport/Tls"
import * as Client from "../src/Client.ts"
import * as Daemon from "../src/Daemon.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Session from "../src/Session.ts"

const host = "127.0.0.1"
const tcp = { tcp: { host, port: 0 } } as const

const serverConfig = (overrides: Partial<ConstructorParameters<typeof NetworkConfig.ServerConfig>[0]>) =>
  new NetworkConfig.ServerConfig({ ...NetworkConfig.defaults.server, ...overrides })

const clientConfig = (overrides: Partial<ConstructorParameters<typeof NetworkConfig.ClientConfig>[0]>) =>
  new NetworkConfig.ClientConfig({ ...NetworkConfig.defaults.client, ...overrides })

const connectTo = (daemon: Daemon.Daemon, options: Omit<Client.Options, "connect"> = {}) =>
  Client.make({ connect: { tcp: { host, port: daemon.port ?? 0 } }, ...options })

/** A secure session opened by hand, so a test controls exactly what is read and written. */
const rawSession = (daemon: Daemon.Daemon) =>
  Effect.flatMap(Tcp.connect({ host, port: daemon.port ?? 0 }), (connection) => Session.secureClient(connection))

const custom = (command: string, text = "") => Message.Custom({ command, payload: new TextEncoder().encode(text) })

const reasonOf = (exit: Exit.Exit<unknown, ProtocolError.ProtocolError>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.map((r) => r._tag === "Fail" ? r.error.reason._tag : r._tag)[0] : "Success"

describe("Daemon and Client", () => {
  it.live("completes the secure handshake; Ping → Pong, Echo → Echo, Disconnect ends the session (crate integration test)", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp })
      const client = yield* connectTo(daemon)
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      const echo = Message.Echo({ text: "Secure echo test!" })
      assert.deepStrictEqual(yield* client.request(echo), echo)
      assert.strictEqual((yield* client.info)?.profile, "secure")
      assert.strictEqual(yield* daemon.connections, 1)
      yield* client.close
      // the daemon ends the session after Disconnect
      while ((yield* daemon.connections) > 0) yield* Effect.yieldNow
      assert.strictEqual(yield* daemon.connections, 0)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("uses the user's dispatcher on top of the defaults, and ignores messages without a handler", () =>
    Effect.gen(function*() {
      const dispatcher = Dispatcher.empty.pipe(
        Dispatcher.register("UPPER", (m) =>
          Effect.succeed(
            m._tag === "Custom" ? custom("UPPER", new TextDecoder().decode(m.payload).toUpperCase()) : undefined
          )),
        Dispatcher.register("ASYNC", (m) => Effect.sleep("5 millis").pipe(Effect.as(m)))
      )
      const daemon = yield* Daemon.make({ listen: tcp, dispatcher })
      const client = yield* connectTo(daemon)
      assert.deepStrictEqual(yield* client.request(custom("UPPER", "shout")), custom("UPPER", "SHOUT"))
      assert.deepStrictEqual(yield* client.request(custom("ASYNC", "x")), custom("ASYNC", "x"))
      // no handler: nothing comes back, so the next request still gets its own reply
      yield* client.send(custom("NO_SUCH_COMMAND"))
      yield* client.send(Message.Unknown())
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      // Custom "PING" shares the PING opcode, as in the crate
      assert.deepStrictEqual(yield* client.request(custom("PING")), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("1,000 concurrent clients each complete the handshake and 10 requests", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({
        listen: tcp,
        backlog: 2048,
        config: serverConfig({ max_connections: 2000 })
      })
      const results = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const client = yield* connectTo(daemon)
            let ok = 0
            for (let j = 0; j < 10; j++) {
              const reply = yield* client.request(Message.Echo({ text: `${i}:${j}` }))
              if (reply._tag === "Echo" && reply.text === `${i}:${j}`) ok++
            }
            return ok
          }).pipe(Effect.scoped),
        { concurrency: 1000 }
      )
      assert.strictEqual(results.length, 1000)
      assert.isTrue(results.every((ok) => ok === 10))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)), 120_000)

  it.live("a client that never reads stalls only itself: the daemon stops reading from it, others are served", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, config: serverConfig({ backpressure_limit: 8 }) })
      const greedy = yield* rawSession(daemon)
      const big = Message.Echo({ text: "x".repeat(64 * 1024) })
      // 64 MiB of requests whose replies are never read
      const flood = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 1024 }, () => big), (m) => greedy.send([m]), { discard: true })
      )
      const polite = yield* connectTo(daemon)
      for (let i = 0; i < 100; i++) {
        assert.deepStrictEqual(yield* polite.request(Message.Echo({ text: String(i) })), Message.Echo({ text: String(i) }))
      }
      // the flood is held back by TCP backpressure: the daemon is not reading it
      assert.isUndefined(flood.pollUnsafe())
      yield* Fiber.interrupt(flood)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("max_connections: the connection beyond the limit is refused", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, config: serverConfig({ max_connections: 2 }) })
      const noRetry = clientConfig({ auto_reconnect: false, connection_timeout: Duration.seconds(2) })
      const a = yield* connectTo(daemon, { config: noRetry })
      const b = yield* connectTo(daemon, { config: noRetry })
      const third = yield* Effect.exit(Effect.scoped(connectTo(daemon, { config: noRetry })))
      assert.isTrue(Exit.isFailure(third))
      // the two admitted clients still work
      assert.deepStrictEqual(yield* a.request(Message.Ping()), Message.Pong())
      assert.deepStrictEqual(yield* b.request(Message.Ping()), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.effect("heartbeats keep an idle connection alive, and a peer that stops answering is dropped (TestClock)", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, config: serverConfig({ heartbeat_interval: Duration.seconds(1) }) })
      const live = yield* rawSession(daemon)
      const dead = yield* rawSession(daemon)
      // 10 s of idleness: the daemon pings every second; `live` answers, `dead` never does
      for (let second = 1; second <= 10; second++) {
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* live.receive, [Message.Ping()])
        yield* live.send([Message.Pong()])
        if (second < 4) assert.deepStrictEqual(yield* dead.receive, [Message.Ping()])
        if (second === 4) assert.strictEqual(reasonOf(yield* Effect.exit(dead.receive)), "ConnectionClosed")
      }
      yield* live.send([Message.Echo({ text: "still here" })])
      assert.deepStrictEqual(yield* live.receive, [Message.Echo({ text: "still here" })])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("our client answers server pings: idle for 10 dead-timeouts, the connection survives", () =>
    Effect.gen(function*() {
      // the daemon drops a peer after 4 × 100 ms without input; the client itself never pings
      const daemon = yield* Daemon.make({ listen: tcp, config: serverConfig({ heartbeat_interval: Duration.millis(100) }) })
      const client = yield* connectTo(daemon, { config: clientConfig({ heartbeat_interval: Duration.hours(1) }) })
      yield* Effect.sleep("4 seconds")
      assert.strictEqual(yield* daemon.connections, 1)
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.effect("idle timeout closes an idle connection but not a busy one (TestClock)", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, idleTimeout: "10 seconds" })
      const idle = yield* rawSession(daemon)
      const busy = yield* rawSession(daemon)
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("3 seconds")
        yield* busy.send([Message.Echo({ text: String(i) })])
        assert.deepStrictEqual(yield* busy.receive, [Message.Echo({ text: String(i) })])
      }
      // 15 s have passed: the idle session was ended at 10 s, the busy one is alive
      assert.strictEqual(reasonOf(yield* Effect.exit(idle.receive)), "ConnectionClosed")
      yield* busy.send([Message.Ping()])
      assert.deepStrictEqual(yield* busy.receive, [Message.Pong()])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.effect("the handshake must complete within connection_timeout; a busy connection is not cut after it", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp, config: serverConfig({ connection_timeout: Duration.seconds(5) }) })
      // a raw TCP connection that never sends the Init
      const silent = yield* Tcp.connect({ host, port: daemon.port ?? 0 })
      const busy = yield* rawSession(daemon)
      yield* TestClock.adjust("6 seconds")
      assert.strictEqual(reasonOf(yield* Effect.exit(silent.receive)), "ConnectionClosed")
      yield* busy.send([Message.Ping()])
      assert.deepStrictEqual(yield* busy.receive, [Message.Pong()])
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("graceful shutdown answers the requests in flight, then refuses new connections", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let running = 0
      const dispatcher = Dispatcher.empty.pipe(
        Dispatcher.register("WORK", (m) =>
          Effect.gen(function*() {
            if (++running === 5) yield* Deferred.succeed(started, undefined)
            yield* Deferred.await(release)
            return m
          }))
      )
      const daemonScope = yield* Scope.make()
      const daemon = yield* Daemon.make({ listen: tcp, dispatcher }).pipe(Scope.provide(daemonScope))
      const client = yield* connectTo(daemon, { config: clientConfig({ auto_reconnect: false }) })
      const requests = yield* Effect.forkChild(
        Effect.forEach([1, 2, 3, 4, 5], (i) => client.request(custom("WORK", String(i))), { concurrency: 5 })
      )
      yield* Deferred.await(started)
      // started at once: draining begins before the next line runs
      const closing = yield* Effect.forkChild(Scope.close(daemonScope, Exit.void), { startImmediately: true })
      // while draining, a new connection is refused
      const late = yield* Effect.exit(
        Effect.scoped(connectTo(daemon, { config: clientConfig({ auto_reconnect: false, connection_timeout: Duration.seconds(2) }) }))
      )
      assert.isTrue(Exit.isFailure(late))
      yield* Deferred.succeed(release, undefined)
      const replies = yield* Fiber.join(requests)
      assert.deepStrictEqual(replies, [1, 2, 3, 4, 5].map((i) => custom("WORK", String(i))))
      yield* Fiber.join(closing)
      assert.strictEqual(yield* daemon.connections, 0)
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("shutdown closes connections still busy after shutdown_timeout; nothing hangs", () =>
    Effect.gen(function*() {
      const dispatcher = Dispatcher.empty.pipe(Dispatcher.register("FOREVER", () => Effect.never))
      const daemonScope = yield* Scope.make()
      const daemon = yield* Daemon.make({
        listen: tcp,
        dispatcher,
        config: serverConfig({ shutdown_timeout: Duration.millis(200) })
      }).pipe(Scope.provide(daemonScope))
      const client = yield* connectTo(daemon, { config: clientConfig({ auto_reconnect: false }) })
      const stuck = yield* Effect.forkChild(Effect.exit(client.request(custom("FOREVER"))))
      // a second request queued behind the stuck one: its Pong must never be sent
      const behind = yield* Effect.forkChild(Effect.exit(client.request(Message.Ping())))
      while ((yield* daemon.connections) === 0) yield* Effect.yieldNow
      yield* Scope.close(daemonScope, Exit.void)
      assert.isTrue(Exit.isFailure(yield* Fiber.join(behind)))
      // the request fails with a typed error instead of hanging
      const exit = yield* Fiber.join(stuck)
      assert.isTrue(Exit.isFailure(exit))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("in-flight requests fail at once when the connection dies, and the client reconnects after a restart", () =>
    Effect.gen(function*() {
      const dispatcher = Dispatcher.empty.pipe(Dispatcher.register("FOREVER", () => Effect.never))
      const first = yield* Scope.make()
      const daemon = yield* Daemon.make({ listen: tcp, dispatcher, config: serverConfig({ shutdown_timeout: Duration.millis(100) }) })
        .pipe(Scope.provide(first))
      const port = daemon.port ?? 0
      const client = yield* connectTo(daemon, {
        config: clientConfig({ reconnect_delay: Duration.millis(20), max_reconnect_attempts: 100 })
      })
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      const pending = yield* Effect.forkChild(Effect.exit(client.request(custom("FOREVER"))))
      yield* Effect.yieldNow
      yield* Scope.close(first, Exit.void)
      const failed = yield* Fiber.join(pending)
      assert.isTrue(Exit.isFailure(failed))
      // restart on the same port: the client's next request goes through the new connection
      yield* Daemon.make({ listen: { tcp: { host, port } } })
      assert.deepStrictEqual(yield* client.request(Message.Echo({ text: "back" })), Message.Echo({ text: "back" }))
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("a request whose reply does not come in time fails with Timeout; the client resets the connection so no reply is mismatched", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const dispatcher = Dispatcher.empty.pipe(
        Dispatcher.register("LATE", (m) => Effect.as(Deferred.await(gate), m))
      )
      const daemon = yield* Daemon.make({ listen: tcp, dispatcher })
      const client = yield* connectTo(daemon, {
        config: clientConfig({ response_timeout: Duration.millis(200), reconnect_delay: Duration.millis(10) })
      })
      const exit = yield* Effect.exit(client.request(custom("LATE", "1")))
      assert.strictEqual(reasonOf(exit), "Timeout")
      yield* Deferred.succeed(gate, undefined)
      // the late reply to LATE is never taken for Echo's: Echo gets its own reply
      assert.deepStrictEqual(yield* client.request(Message.Echo({ text: "after" })), Message.Echo({ text: "after" }))
      // the same when the reply never comes at all
      const never = yield* Effect.exit(client.request(custom("NO_HANDLER")))
      assert.strictEqual(reasonOf(never), "Timeout")
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("connecting to a closed port fails with a typed error, without reconnect attempts when disabled", () =>
    Effect.gen(function*() {
      const probe = yield* Effect.scoped(Effect.map(Tcp.listen({ host, port: 0 }), (s) => s.port))
      const exit = yield* Effect.exit(
        Effect.scoped(Client.make({
          connect: { tcp: { host, port: probe } },
          config: clientConfig({ auto_reconnect: false })
        }))
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(reasonOf(exit), "Io")
    }).pipe(Effect.provide(Crypto.layerDefault)))

  it.live("serves over a Unix socket, and removes the socket file on shutdown", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "np-daemon-"))
      const socketPath = path.join(dir, "daemon.sock")
      yield* Effect.scoped(Effect.gen(function*() {
        const daemon = yield* Daemon.make({ listen: { unix: { path: socketPath } } })
        assert.strictEqual(daemon.address, socketPath)
        const client = yield* Client.make({ connect: { unix: { path: socketPath } } })
        assert.deepStrictEqual(yield* client.request(Message.Echo({ text: "uds" })), Message.Echo({ text: "uds" }))
        assert.strictEqual((yield* client.info)?.transport, "unix")
      }))
      assert.isFalse(fs.existsSync(socketPath))
      fs.rmdirSync(dir)
    }).pipe(Effect.provide(Crypto.layerDefault)))

  it.live("serves the crate's TLS profile: plain bincode inside TLS, certificate generated in the test", () =>
    Effect.gen(function*() {
      const cert = yield* Certificate.generate({ commonName: "localhost", dnsNames: ["localhost"], ipAddresses: [host] })
      const daemon = yield* Daemon.make({
        listen: { tls: { host, port: 0, tls: { cert: Tls.pem(cert.certPem), key: Tls.pem(cert.keyPem) } } }
      })
      const client = yield* Client.make({
        connect: { tls: { host, port: daemon.port ?? 0, tls: { ca: Tls.pem(cert.certPem), serverName: "localhost" } } }
      })
      assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      // the crate's TLS daemon echoes Custom{ECHO} verbatim
      const customEcho = Message.Custom({ command: "ECHO", payload: new Uint8Array([1, 2, 3, 4]) })
      assert.deepStrictEqual(yield* client.request(customEcho), customEcho)
      const info = yield* client.info
      assert.strictEqual(info?.transport, "tls")
      assert.strictEqual(info?.profile, "plain")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))

  it.live("Daemon.layer and Client.layer compose with Layer.provide", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(Tcp.listen({ host, port: 0 }), (s) => s.port))
      const DaemonLive = Daemon.layer({ listen: { tcp: { host, port } } })
      const ClientLive = Client.layer({ connect: { tcp: { host, port } } })
      const reply = yield* Effect.flatMap(Client.Client, (client) => client.request(Message.Echo({ text: "layers" }))).pipe(
        Effect.provide(ClientLive.pipe(Layer.provideMerge(DaemonLive), Layer.provide(Crypto.layerDefault)))
      )
      assert.deepStrictEqual(reply, Message.Echo({ text: "layers" }))
    }))
  it.live("the daemon and the client record the crate's metrics", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp })
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* connectTo(daemon)
        for (let i = 0; i < 5; i++) yield* client.request(Message.Echo({ text: String(i) }))
      }))
      while ((yield* daemon.connections) > 0) yield* Effect.yieldNow
      const server = yield* Metrics.snapshotWhere({ role: "server" })
      const client = yield* Metrics.snapshotWhere({ role: "client" })
      assert.strictEqual(server.connectionsTotal, 1)
      assert.strictEqual(server.connectionsActive, 0)
      assert.strictEqual(server.handshakesSuccess, 1)
      assert.strictEqual(server.messagesReceived, 6) // 5 Echo + Disconnect
      assert.strictEqual(server.messagesSent, 5)
      assert.strictEqual(client.handshakesSuccess, 1)
      assert.strictEqual(client.messagesSent, 6)
      assert.strictEqual(client.messagesReceived, 5)
    }).pipe(
      Effect.scoped,
      Effect.provide(Crypto.layerDefault),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.live("TLS daemon graceful shutdown: Ping → Pong, then after shutdown a new connection fails (crate shutdown test)", () =>
    Effect.gen(function*() {
      const cert = yield* Certificate.generate({ commonName: "localhost", dnsNames: ["localhost"] })
      const daemonScope = yield* Scope.make()
      const daemon = yield* Daemon.make({
        listen: { tls: { host, port: 0, tls: { cert: Tls.pem(cert.certPem), key: Tls.pem(cert.keyPem) } } }
      }).pipe(Scope.provide(daemonScope))
      const connect = { tls: { host, port: daemon.port ?? 0, tls: { ca: Tls.pem(cert.certPem), serverName: "localhost" } } }
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Client.make({ connect })
        assert.deepStrictEqual(yield* client.request(Message.Ping()), Message.Pong())
      }))
      yield* Scope.close(daemonScope, Exit.void)
      const after = yield* Effect.exit(
        Effect.scoped(Client.make({ connect, config: clientConfig({ auto_reconnect: false }) }))
      )
      assert.strictEqual(reasonOf(after), "Io")
    }).pipe(Effect.provide(Crypto.layerDefault)))

  it.live("a slow client does not hold back fast ones (crate backpressure test, with assertions)", () =>
    Effect.gen(function*() {
      const daemon = yield* Daemon.make({ listen: tcp })
      const slow = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const client = yield* connectTo(daemon)
        for (let i = 0; i < 10; i++) {
          yield* client.request(Message.Ping())
          yield* Effect.sleep("100 millis")
        }
        return "slow done"
      })))
      const fast = yield* Effect.forEach([1, 2, 3], (n) =>
        Effect.scoped(Effect.gen(function*() {
          const client = yield* connectTo(daemon)
          for (let i = 0; i < 15; i++) {
            const reply = yield* client.request(Message.Echo({ text: `${n}-${i}` }))
            assert.deepStrictEqual(reply, Message.Echo({ text: `${n}-${i}` }))
          }
          return n
        })), { concurrency: 3 })
      assert.deepStrictEqual(fast, [1, 2, 3])
      // the fast clients finished while the slow one is still pacing itself
      assert.isUndefined(slow.pollUnsafe())
      assert.strictEqual(yield* Fiber.join(slow), "slow done")
    }).pipe(Effect.scoped, Effect.provide(Crypto.layerDefault)))
})
