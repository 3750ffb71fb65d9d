import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import * as TestConsole from "effect/testing/TestConsole"
import * as NodeChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeUrl from "node:url"
import * as Logging from "../src/Logging.ts"
import * as ProtocolError from "../src/ProtocolError.ts"

const tempDirs: Array<string> = []
afterAll(() => {
  for (const dir of tempDirs) {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})

const tempFile = (name: string): string => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "np-logging-"))
  tempDirs.push(dir)
  return NodePath.join(dir, name)
}

const readLines = (path: string): Array<string> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((line) => line.length > 0)

interface JsonLine {
  readonly level: string
  readonly message: unknown
  readonly timestamp: string
  readonly annotations: Record<string, unknown>
}

const readJson = (path: string): Array<JsonLine> => readLines(path).map((line) => JSON.parse(line) as JsonLine)

/** The reason tag of a failed exit's ProtocolError. */
const failureTag = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  const error = Option.getOrUndefined(Exit.findErrorOption(exit))
  return ProtocolError.isProtocolError(error) ? error.reason._tag : undefined
}

const everyLevel = Effect.gen(function*() {
  yield* Effect.logTrace("trace message")
  yield* Effect.logDebug("debug message")
  yield* Effect.logInfo("info message")
  yield* Effect.logWarning("warn message")
  yield* Effect.logError("error message")
})

describe("Logging", () => {
  describe("parseLogLevel", () => {
    it("parses levels like tracing's Level::from_str", () => {
      const cases: ReadonlyArray<readonly [string | number, string | undefined]> = [
        ["trace", "Trace"],
        ["DEBUG", "Debug"],
        ["Info", "Info"],
        ["wArN", "Warn"],
        ["error", "Error"],
        ["1", "Error"],
        ["2", "Warn"],
        ["3", "Info"],
        ["4", "Debug"],
        ["5", "Trace"],
        [5, "Trace"],
        [1, "Error"],
        ["03", "Info"],
        ["+4", "Debug"],
        ["0", undefined],
        ["6", undefined],
        [0, undefined],
        [2.5, undefined],
        [-1, undefined],
        ["warning", undefined],
        ["fatal", undefined],
        [" info", undefined],
        ["info ", undefined],
        ["", undefined],
        ["toString", undefined],
        ["__proto__", undefined]
      ]
      for (const [input, expected] of cases) {
        assert.strictEqual(Option.getOrUndefined(Logging.parseLogLevel(input)), expected, `input ${String(input)}`)
      }
    })
  })

  describe("resolve", () => {
    it.effect("applies the crate's defaults", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* Logging.resolve({}), Logging.defaults)
        assert.deepStrictEqual(Logging.defaults, {
          appName: "network-protocol",
          logLevel: "Info",
          logToConsole: true,
          logToFile: false,
          logFilePath: undefined,
          jsonFormat: false,
          colors: "auto"
        })
      }))

    it.effect("accepts camelCase and snake_case options and Option paths", () =>
      Effect.gen(function*() {
        const camel = yield* Logging.resolve({
          appName: "a",
          logLevel: "DEBUG",
          logToConsole: false,
          logToFile: true,
          logFilePath: Option.some("/tmp/a.log"),
          jsonFormat: true
        })
        const snake = yield* Logging.resolve({
          app_name: "a",
          log_level: "4",
          log_to_console: false,
          log_to_file: true,
          log_file_path: "/tmp/a.log",
          json_format: true
        })
        assert.deepStrictEqual(camel, snake)
        assert.deepStrictEqual(camel, {
          appName: "a",
          logLevel: "Debug",
          logToConsole: false,
          logToFile: true,
          logFilePath: "/tmp/a.log",
          jsonFormat: true,
          colors: "auto"
        })
        // The example configuration's `log_file_path = ""` is no path.
        assert.strictEqual((yield* Logging.resolve({ log_file_path: "" })).logFilePath, undefined)
        assert.strictEqual((yield* Logging.resolve({ logFilePath: Option.none() })).logFilePath, undefined)
      }))

    it.effect("rejects an unknown level and file output without a path", () =>
      Effect.gen(function*() {
        const badLevel = yield* Effect.exit(Logging.resolve({ logLevel: "verbose" }))
        assert.strictEqual(failureTag(badLevel), "ConfigError")
        const noPath = yield* Effect.exit(Logging.resolve({ logToFile: true, logFilePath: "" }))
        assert.strictEqual(failureTag(noPath), "ConfigError")
        const error = yield* Effect.flip(Logging.resolve({ log_to_file: true }))
        assert.strictEqual(
          error.message,
          "Configuration error: log_file_path must be specified when log_to_file is true"
        )
        const layerExit = yield* Effect.exit(Effect.provide(Effect.void, Logging.layer({ log_level: "loud" })))
        assert.strictEqual(failureTag(layerExit), "ConfigError")
      }))
  })

  describe("file output", () => {
    it.effect("writes parseable JSON lines with level, message and app name, from the minimum level", () =>
      Effect.gen(function*() {
        const path = tempFile("app.log")
        yield* everyLevel.pipe(
          Effect.annotateLogs({ connection: "42" }),
          Effect.provide(Logging.layer({
            appName: "json-app",
            logLevel: "debug",
            logToConsole: false,
            logToFile: true,
            logFilePath: path,
            jsonFormat: true
          }))
        )
        const lines = readJson(path)
        assert.deepStrictEqual(lines.map((l) => l.level), ["DEBUG", "INFO", "WARN", "ERROR"])
        assert.deepStrictEqual(lines.map((l) => l.message), [
          "debug message",
          "info message",
          "warn message",
          "error message"
        ])
        for (const line of lines) {
          assert.strictEqual(line.annotations.app_name, "json-app")
          assert.strictEqual(line.annotations.connection, "42")
          assert.isFalse(Number.isNaN(Date.parse(line.timestamp)))
        }
      }))

    it.effect("respects warn and numeric levels", () =>
      Effect.gen(function*() {
        const warn = tempFile("warn.log")
        yield* everyLevel.pipe(Effect.provide(Logging.layer({
          logLevel: "WARN",
          logToConsole: false,
          logToFile: true,
          logFilePath: warn,
          jsonFormat: true
        })))
        assert.deepStrictEqual(readJson(warn).map((l) => l.level), ["WARN", "ERROR"])

        const one = tempFile("one.log")
        yield* everyLevel.pipe(Effect.provide(Logging.layer({
          log_level: "1",
          log_to_console: false,
          log_to_file: true,
          log_file_path: one,
          json_format: true
        })))
        assert.deepStrictEqual(readJson(one).map((l) => l.level), ["ERROR"])

        const trace = tempFile("trace.log")
        yield* everyLevel.pipe(Effect.provide(Logging.layer({
          logLevel: 5,
          logToConsole: false,
          logToFile: true,
          logFilePath: trace,
          jsonFormat: true
        })))
        assert.deepStrictEqual(readJson(trace).map((l) => l.level), ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"])
      }))

    it.effect("writes logfmt when json_format is off, appending to an existing file", () =>
      Effect.gen(function*() {
        const path = tempFile("plain.log")
        NodeFs.writeFileSync(path, "previous line\n")
        yield* Effect.logInfo("hello world").pipe(Effect.provide(Logging.layer({
          appName: "plain-app",
          logToConsole: false,
          logToFile: true,
          logFilePath: path
        })))
        const lines = readLines(path)
        assert.strictEqual(lines.length, 2)
        assert.strictEqual(lines[0], "previous line")
        assert.match(lines[1], /^timestamp=\S+ level=INFO fiber=#\d+ message="hello world" app_name=plain-app$/)
      }))

    it.effect("has every line, in order, once the layer's scope closes", () =>
      Effect.gen(function*() {
        const path = tempFile("many.log")
        const count = 3000
        const padding = "x".repeat(500) // 3000 lines of ~0.6 KiB cross the 1 MiB synchronous flush mark
        yield* Effect.gen(function*() {
          for (let i = 0; i < count; i++) {
            yield* Effect.logInfo(`line ${i} ${padding}`)
          }
        }).pipe(Effect.provide(Logging.layer({
          logToConsole: false,
          logToFile: true,
          logFilePath: path,
          jsonFormat: true
        })))
        const lines = readJson(path)
        assert.strictEqual(lines.length, count)
        lines.forEach((line, i) => assert.strictEqual(line.message, `line ${i} ${padding}`))
      }))

    it.effect("flushes pending lines when the scope closes, and appends lines logged after it", () =>
      Effect.gen(function*() {
        const path = tempFile("scoped.log")
        const scope = yield* Scope.make()
        const logger = yield* Logging.toFile(Logger.formatJson, path).pipe(Scope.provide(scope))
        const log = (message: string) => Effect.logInfo(message).pipe(Effect.provide(Logger.layer([logger])))
        yield* log("before close")
        // Written together at the end of the event-loop turn: nothing yet.
        assert.deepStrictEqual(readLines(path), [])
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(readJson(path).map((l) => l.message), ["before close"])
        yield* log("after close")
        assert.deepStrictEqual(readJson(path).map((l) => l.message), ["before close", "after close"])
      }))

    it("flushes pending lines when the process exits before the scope closes", () => {
      const path = tempFile("exit.log")
      const module = NodeUrl.pathToFileURL(NodePath.join(import.meta.dirname, "..", "src", "Logging.ts")).href
      const script = `
        import * as Effect from "effect/Effect"
        import * as Logging from ${JSON.stringify(module)}
        Effect.runFork(Effect.gen(function*() {
          yield* Effect.logInfo("last words")
          process.exit(3)
        }).pipe(Effect.provide(Logging.layer({
          logToConsole: false, logToFile: true, logFilePath: ${JSON.stringify(path)}, jsonFormat: true
        }))))
      `
      const child = NodeChildProcess.spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: import.meta.dirname,
        encoding: "utf8"
      })
      assert.strictEqual(child.status, 3, child.stderr)
      assert.deepStrictEqual(readJson(path).map((l) => l.message), ["last words"])
    })

    it.effect("fails with an Io error when the file cannot be opened", () =>
      Effect.gen(function*() {
        const path = NodePath.join(tempFile("dir"), "missing", "app.log")
        const exit = yield* Effect.exit(Effect.provide(
          Effect.void,
          Logging.layer({ logToConsole: false, logToFile: true, logFilePath: path })
        ))
        assert.strictEqual(failureTag(exit), "Io")
      }))
  })

  describe("console output", () => {
    it.effect("prints JSON lines with the app name", () =>
      Effect.gen(function*() {
        yield* everyLevel.pipe(Effect.provide(Logging.layer({ appName: "console-app", jsonFormat: true })))
        const lines = (yield* TestConsole.logLines).map((line) => {
          assert.isString(line)
          return JSON.parse(line as string) as JsonLine
        })
        assert.deepStrictEqual(lines.map((l) => l.level), ["INFO", "WARN", "ERROR"])
        assert.deepStrictEqual(lines.map((l) => l.annotations.app_name), ["console-app", "console-app", "console-app"])
      }))

    it.effect("prints pretty output without colors when asked", () =>
      Effect.gen(function*() {
        yield* Effect.logWarning("pretty message").pipe(
          Effect.provide(Logging.layer({ appName: "pretty-app", logLevel: "info", colors: false }))
        )
        const lines = (yield* TestConsole.logLines).map(String)
        assert.isTrue(lines.length >= 3)
        assert.match(lines[0], /^\[[\d:.]+\] WARN \(#\d+\): pretty message$/)
        assert.include(lines, "app_name:")
        assert.include(lines, "pretty-app")
        for (const line of lines) {
          assert.notInclude(line, "\u001b[")
          assert.isFalse(line.startsWith("{"))
        }
      }))

    it.effect("logs nothing to the console when console output is off", () =>
      Effect.gen(function*() {
        const path = tempFile("only-file.log")
        yield* Effect.logError("to the file only").pipe(Effect.provide(Logging.layer({
          logToConsole: false,
          logToFile: true,
          logFilePath: path
        })))
        assert.deepStrictEqual(yield* TestConsole.logLines, [])
        assert.deepStrictEqual(yield* TestConsole.errorLines, [])
        assert.strictEqual(readLines(path).length, 1)
      }))
  })

  describe("layer", () => {
    it.effect("replaces the default logger, keeps the others, sets the level and the app name", () =>
      Effect.gen(function*() {
        const extra = Logger.make(() => undefined)
        const inside = yield* Effect.gen(function*() {
          return {
            loggers: yield* Effect.service(Logger.CurrentLoggers),
            level: yield* Effect.service(References.MinimumLogLevel),
            annotations: yield* Effect.service(References.CurrentLogAnnotations)
          }
        }).pipe(
          Effect.provide(Logging.layer({ appName: "layered", logLevel: "trace", logToConsole: false })),
          Effect.annotateLogs({ request: "r1" }),
          Effect.provide(Logger.layer([extra, Logger.tracerLogger, Logger.defaultLogger]))
        )
        assert.isFalse(inside.loggers.has(Logger.defaultLogger))
        assert.isTrue(inside.loggers.has(extra))
        assert.isTrue(inside.loggers.has(Logger.tracerLogger))
        assert.strictEqual(inside.loggers.size, 2)
        assert.strictEqual(inside.level, "Trace")
        assert.deepStrictEqual(inside.annotations, { request: "r1", app_name: "layered" })
      }))
  })
})
