/**
 * An `effect/sql` client over Node's built-in SQLite (`node:sqlite`), with no
 * dependency to install. It exists so that the runners of an `effect/cluster`
 * on one machine — separate processes — can share `SqlRunnerStorage` and
 * `SqlMessageStorage` through one database file (see `ClusterTransport`).
 *
 * ```ts
 * import * as SqliteClient from "@network-protocol/service/SqliteClient"
 *
 * const SqlLive = SqliteClient.layer({ filename: "/var/lib/app/cluster.db" })
 * ```
 *
 * **Several processes, one file.** The database runs in WAL mode, so readers
 * never block the writer; writers wait for each other up to `busyTimeout`
 * (SQLite's busy handler) instead of failing at once, and transactions start
 * with `BEGIN IMMEDIATE`, which takes the write lock up front, so two
 * processes cannot both read a snapshot and then fail to upgrade it.
 *
 * **Limits.** `node:sqlite` is synchronous: a statement, and any wait for the
 * lock, blocks the process's event loop while it runs. Within a process, the
 * one connection is shared through a semaphore (`SqlClient.makeSqliteAcquirers`).
 * `stream` is not supported. For runners on several machines, use a server
 * database (PostgreSQL, MySQL) with its `effect/sql` driver.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import * as SqlError from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"
import * as Sqlite from "node:sqlite"

/**
 * Options of the client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The database file (created if missing), or `":memory:"`. */
  readonly filename: string
  /** How long a statement waits for another connection's lock before failing. Default 5 seconds. */
  readonly busyTimeout?: Duration.Input | undefined
  /** Keep the default rollback journal instead of WAL. */
  readonly disableWAL?: boolean | undefined
  /** How many prepared statements are kept. Default 200. */
  readonly statementCacheSize?: number | undefined
}

type Row = Record<string, Sqlite.SQLOutputValue>
type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

/** node:sqlite reports the SQLite code as `errcode`; the classifier reads `errno`. */
const withErrno = (cause: unknown): unknown => {
  if (typeof cause !== "object" || cause === null || !("errcode" in cause) || "errno" in cause) return cause
  const { errcode } = cause
  if (typeof errcode !== "number") return cause
  return {
    cause,
    errno: errcode,
    code: "code" in cause ? cause.code : undefined,
    message: "message" in cause ? cause.message : undefined
  }
}

const sqlError = (cause: unknown, message: string, operation: string): SqlError.SqlError =>
  new SqlError.SqlError({ reason: SqlError.classifySqliteError(withErrno(cause), { message, operation }) })

const toInput = (value: unknown): Sqlite.SQLInputValue => {
  switch (typeof value) {
    case "boolean":
      return value ? 1 : 0
    case "undefined":
      return null
    case "number":
    case "bigint":
    case "string":
      return value
    default:
      if (value === null) return null
      if (value instanceof Uint8Array) return value
      if (value instanceof Date) return value.toISOString()
      return String(value)
  }
}

const toInputs = (params: ReadonlyArray<unknown>): Array<Sqlite.SQLInputValue> => params.map(toInput)

interface Connection extends SqlConnection.Connection {
  readonly db: Sqlite.DatabaseSync
}

const makeConnection = (options: Options, db: Sqlite.DatabaseSync): Connection => {
  const cacheSize = options.statementCacheSize ?? 200
  const cache = new Map<string, Sqlite.StatementSync>()

  const prepare = (sql: string, cached: boolean): Sqlite.StatementSync => {
    if (!cached) return db.prepare(sql)
    const hit = cache.get(sql)
    if (hit !== undefined) {
      // most recently used last
      cache.delete(sql)
      cache.set(sql, hit)
      return hit
    }
    const statement = db.prepare(sql)
    cache.set(sql, statement)
    if (cache.size > cacheSize) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    return statement
  }

  const run = <A>(
    sql: string,
    params: ReadonlyArray<unknown>,
    cached: boolean,
    f: (statement: Sqlite.StatementSync, inputs: Array<Sqlite.SQLInputValue>) => A
  ): Effect.Effect<A, SqlError.SqlError> =>
    Effect.withFiber((fiber) => {
      const safeIntegers = Context.get(fiber.context, SqlClient.SafeIntegers)
      try {
        const statement = prepare(sql, cached)
        statement.setReadBigInts(safeIntegers)
        return Effect.succeed(f(statement, toInputs(params)))
      } catch (cause) {
        return Effect.fail(sqlError(cause, "Failed to execute statement", "execute"))
      }
    })

  const rows = (statement: Sqlite.StatementSync, inputs: Array<Sqlite.SQLInputValue>): ReadonlyArray<Row> => {
    if (statement.columns().length === 0) {
      statement.run(...inputs)
      return []
    }
    // plain objects (node:sqlite returns null-prototype rows)
    return statement.all(...inputs).map((row) => ({ ...row }))
  }

  const values = (
    statement: Sqlite.StatementSync,
    inputs: Array<Sqlite.SQLInputValue>
  ): ReadonlyArray<ReadonlyArray<unknown>> => {
    if (statement.columns().length === 0) {
      statement.run(...inputs)
      return []
    }
    statement.setReturnArrays(true)
    try {
      return statement.all(...inputs) as unknown as ReadonlyArray<ReadonlyArray<unknown>>
    } finally {
      statement.setReturnArrays(false)
    }
  }

  const transformed = (effect: Effect.Effect<ReadonlyArray<Row>, SqlError.SqlError>, transformRows: TransformRows) =>
    transformRows === undefined ? effect : Effect.map(effect, transformRows)

  return {
    db,
    execute: (sql, params, transformRows) => transformed(run(sql, params, true, rows), transformRows),
    executeUnprepared: (sql, params, transformRows) => transformed(run(sql, params, false, rows), transformRows),
    executeRaw: (sql, params) =>
      run(sql, params, true, (statement, inputs) => {
        if (statement.columns().length > 0) return rows(statement, inputs)
        const result = statement.run(...inputs)
        return { changes: result.changes, lastInsertRowid: result.lastInsertRowid }
      }),
    executeValues: (sql, params) => run(sql, params, true, values),
    executeValuesUnprepared: (sql, params) => run(sql, params, false, values),
    executeStream: () => Stream.die(new Error("SqliteClient: stream is not supported"))
  }
}

/**
 * Opens the database and makes a `SqlClient` over it; the database is closed
 * when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<SqlClient.SqlClient, SqlError.SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const busyTimeout = Duration.toMillis(Duration.fromInputUnsafe(options.busyTimeout ?? Duration.seconds(5)))
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const db = new Sqlite.DatabaseSync(options.filename, { timeout: Math.ceil(busyTimeout) })
          try {
            if (options.disableWAL !== true) db.exec("PRAGMA journal_mode = WAL")
            db.exec("PRAGMA synchronous = NORMAL")
          } catch (cause) {
            db.close()
            throw cause
          }
          return db
        },
        catch: (cause) => sqlError(cause, `Failed to open ${options.filename}`, "connect")
      }),
      (db) => Effect.sync(() => db.close())
    )
    const connection = makeConnection(options, db)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: yield* Semaphore.make(1),
      isTransaction: (conn) => conn.db.isTransaction
    })
    return yield* SqlClient.make({
      acquirer: acquirers.acquirer,
      borrower: acquirers.borrower,
      transactionAcquirer: acquirers.transactionAcquirer,
      onCommitFailure: acquirers.onCommitFailure,
      isTransaction: acquirers.isTransaction,
      compiler: Statement.makeCompilerSqlite(),
      driver: "node:sqlite",
      spanAttributes: [["db.system.name", "sqlite"]],
      beginTransaction: "BEGIN IMMEDIATE"
    })
  })

/**
 * Provides `SqlClient` with {@link make} (and the `Reactivity` it needs).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient)(make(options)).pipe(Layer.provide(Reactivity.layer))
