import { assert, describe, it } from "@effect/vitest"
import * as Packet from "@network-protocol/core/Packet"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as ErrorCode from "../src/ErrorCode.ts"
import * as Unix from "../src/Unix.ts"
import {
  assertBytes,
  awaitClose,
  echo,
  failureReason,
  noLeaks,
  payload,
  rawConnect,
  rawWrite,
  receiveN,
  tempDir
} from "./helpers.ts"

const isSocketFile = (path: string) => Fs.existsSync(path) && Fs.lstatSync(path).isSocket()

describe("Unix", () => {
  it.effect("round trips packets of 0 B, 1 B, 64 KiB, 1 MiB and 16 MiB, and removes its socket file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "np.sock")
      yield* noLeaks(Effect.gen(function*() {
        const server = yield* Unix.listen({ path })
        assert.strictEqual(server.path, path)
        assert.isTrue(isSocketFile(path))
        yield* Effect.forkScoped(server.run(echo))
        const client = yield* Unix.connect({ path })
        assert.strictEqual(client.info.transport, "unix")
        assert.strictEqual(client.info.remoteAddress, path)
        for (const size of [0, 1, 64 * 1024, 1024 * 1024, Packet.MAX_PAYLOAD_SIZE]) {
          const sent = payload(size, size & 0xff)
          yield* client.send([Packet.make(sent)])
          const [received] = yield* receiveN(client, 1)
          assertBytes(received.payload, sent, `${size} B`)
        }
      }))
      assert.isFalse(Fs.existsSync(path), "the socket file is removed on shutdown")
    }))

  it.effect("removes a stale socket file before listening", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "np.sock")
      // a stale socket: a second name for the socket inode of a server that is gone
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Unix.listen({ path: Path.join(dir, "old.sock") })
        Fs.linkSync(Path.join(dir, "old.sock"), path)
      }))
      assert.isTrue(isSocketFile(path))
      const refused = yield* Effect.flip(Effect.scoped(Unix.connect({ path })))
      assert.isTrue(ErrorCode.isConnectionRefused(refused))

      yield* noLeaks(Effect.gen(function*() {
        const server = yield* Unix.listen({ path })
        yield* Effect.forkScoped(server.run(echo))
        const client = yield* Unix.connect({ path })
        yield* client.send([Packet.make(payload(3))])
        assertBytes((yield* receiveN(client, 1))[0].payload, payload(3))
      }))
      assert.isFalse(Fs.existsSync(path))
    }))

  it.effect("leaves a live server's socket alone (address in use)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "np.sock")
      yield* noLeaks(Effect.gen(function*() {
        const server = yield* Unix.listen({ path })
        yield* Effect.forkScoped(server.run(echo))
        const second = yield* Effect.flip(Effect.scoped(Unix.listen({ path })))
        assert.isTrue(ErrorCode.isAddressInUse(second))
        assert.isFalse(ErrorCode.isConnectionRefused(second))
        // the first server still serves on its file
        assert.isTrue(isSocketFile(path))
        const client = yield* Unix.connect({ path })
        yield* client.send([Packet.make(payload(9))])
        assertBytes((yield* receiveN(client, 1))[0].payload, payload(9))
      }))
      assert.isFalse(Fs.existsSync(path))
    }))

  it.effect("never deletes a regular file at the socket path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "np.sock")
      Fs.writeFileSync(path, "precious")
      const error = yield* Effect.flip(Effect.scoped(Unix.listen({ path })))
      assert.strictEqual(error.reason._tag, "Io")
      assert.strictEqual(ErrorCode.get(error), "EEXIST")
      assert.strictEqual(Fs.readFileSync(path, "utf8"), "precious")
    }))

  it.effect("reports a missing socket and a denied path", () =>
    noLeaks(Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = yield* Effect.flip(Effect.scoped(Unix.connect({ path: Path.join(dir, "nothing.sock") })))
      assert.strictEqual(ErrorCode.get(missing), "ENOENT")
      // even root may not create files in /proc
      const denied = yield* Effect.flip(Effect.scoped(Unix.listen({ path: "/proc/np-transport-test.sock" })))
      assert.isTrue(ErrorCode.isPermissionDenied(denied))
      assert.isFalse(ErrorCode.isAddressInUse(denied))
    })))

  it.effect("disconnects a peer sending garbage at once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "np.sock")
      yield* noLeaks(Effect.gen(function*() {
        const outcome = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
        const server = yield* Unix.listen({ path })
        yield* Effect.forkScoped(server.run((connection) =>
          Effect.flatMap(Effect.exit(connection.receive), (exit) => Deferred.succeed(outcome, exit))
        ))
        const socket = yield* rawConnect({ path })
        yield* rawWrite(socket, new TextEncoder().encode("hello?"))
        assert.strictEqual(failureReason(yield* Deferred.await(outcome))?._tag, "InvalidHeader")
        yield* awaitClose(socket)
        assert.strictEqual(yield* server.connections, 0)
      }))
    }))
})
