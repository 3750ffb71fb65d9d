/**
 * The `node:sqlite` SQL client: statements, transactions, and two connections
 * sharing one database file (what separate cluster processes do).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlError from "effect/sql/SqlError"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Sqlite from "node:sqlite"
import * as SqliteClient from "../src/SqliteClient.ts"

const tempFile = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-sqlite-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  ),
  (dir) => Path.join(dir, "test.db")
)

const ReactivityLayer = Reactivity.layer

describe("SqliteClient", () => {
  it.live("runs statements with parameters, RETURNING and value rows", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const sql = yield* SqliteClient.make({ filename }).pipe(Effect.provide(ReactivityLayer), Effect.orDie)
      yield* sql`CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data BLOB)`
      const inserted = yield* sql<{ readonly id: number }>`
        INSERT INTO items (name, data) VALUES (${"a"}, ${new Uint8Array([1, 2, 3])}) RETURNING id`
      assert.deepStrictEqual(inserted, [{ id: 1 }])
      yield* sql`INSERT INTO items ${sql.insert({ name: "b", data: null })}`
      const rows = yield* sql<{ readonly name: string; readonly data: Uint8Array | null }>`
        SELECT name, data FROM items WHERE id >= ${1} ORDER BY id`
      assert.deepStrictEqual(rows.map((row) => row.name), ["a", "b"])
      assert.deepStrictEqual(Array.from(rows[0].data ?? []), [1, 2, 3])
      assert.isNull(rows[1].data)
      const values = yield* sql`SELECT id, name FROM items ORDER BY id`.values
      assert.deepStrictEqual(values, [[1, "a"], [2, "b"]])
    }))

  it.live("two clients on one file see each other's commits; a failed transaction rolls back", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const first = yield* SqliteClient.make({ filename }).pipe(Effect.provide(ReactivityLayer), Effect.orDie)
      const second = yield* SqliteClient.make({ filename }).pipe(Effect.provide(ReactivityLayer), Effect.orDie)
      yield* first`CREATE TABLE counter (n INTEGER NOT NULL)`
      yield* first`INSERT INTO counter (n) VALUES (1)`
      const failed = yield* second.withTransaction(
        Effect.andThen(second`UPDATE counter SET n = n + 10`, Effect.fail("boom" as const))
      ).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(failed))
      yield* second.withTransaction(second`UPDATE counter SET n = n + 1`)
      const rows = yield* first<{ readonly n: number }>`SELECT n FROM counter`
      assert.deepStrictEqual(rows, [{ n: 2 }])
    }))

  it.live("waits for another connection's write lock up to busyTimeout, then fails with LockTimeoutError", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const sql = yield* SqliteClient.make({ filename, busyTimeout: "100 millis" }).pipe(
        Effect.provide(ReactivityLayer),
        Effect.orDie
      )
      yield* sql`CREATE TABLE t (n INTEGER)`
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => new Sqlite.DatabaseSync(filename)),
        (db) => Effect.sync(() => db.close())
      )
      other.exec("BEGIN IMMEDIATE")
      const blocked = yield* Effect.flip(sql`INSERT INTO t (n) VALUES (1)`)
      assert.isTrue(SqlError.isSqlError(blocked))
      assert.strictEqual(blocked.reason._tag, "LockTimeoutError")
      other.exec("COMMIT")
      yield* sql`INSERT INTO t (n) VALUES (1)`
      assert.deepStrictEqual(yield* sql`SELECT n FROM t`.values, [[1]])
    }))
})
