/**
 * Logging configured from the `[logging]` section of the configuration
 * (SPEC §10.2): the application name, the minimum level, console output
 * (pretty or JSON) and file output (plain logfmt or JSON lines).
 *
 * `Logging.layer(options)` installs the loggers, sets the minimum log level
 * and annotates every log with the application name (`app_name`). It replaces
 * Effect's default console logger and keeps every other logger already
 * installed (e.g. the tracer logger that turns logs into span events).
 *
 * Differences from the Rust crate (SPEC §12.4, §15.2 #25): the configuration
 * is actually applied; the level applies to the program's own logs (not to a
 * target named after the application); file output is written with `node:fs`,
 * coalesced into one write per event-loop turn, flushed and closed when the
 * layer's scope closes, and flushed on process exit, so no line is lost.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as References from "effect/References"
import type * as Scope from "effect/Scope"
import * as NodeFs from "node:fs"
import * as ProtocolError from "./ProtocolError.ts"

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

/**
 * A log file path as configurations carry it: a string, an `Option`, or
 * nothing. The empty string means no path (the crate's example configuration
 * has `log_file_path = ""`).
 *
 * @category models
 * @since 0.1.0
 */
export type FilePath = string | Option.Option<string> | null | undefined

/**
 * The logging options, in camelCase. Every field is optional and defaults to
 * the crate's `LoggingConfig::default()` (see `defaults`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Application name, added to every log as the `app_name` annotation. */
  readonly appName?: string | undefined
  /**
   * Minimum level, parsed like tracing's `Level`: `trace|debug|info|warn|error`
   * in any case, or `1`–`5` (1 = error … 5 = trace).
   */
  readonly logLevel?: string | number | undefined
  /** Write logs to the console (standard output). */
  readonly logToConsole?: boolean | undefined
  /** Write logs to `logFilePath` (appending). */
  readonly logToFile?: boolean | undefined
  /** The log file; required when `logToFile` is true. */
  readonly logFilePath?: FilePath
  /** JSON lines instead of pretty console output / logfmt file output. */
  readonly jsonFormat?: boolean | undefined
  /** Colors in pretty console output: `"auto"` (default) uses them on a TTY. */
  readonly colors?: boolean | "auto" | undefined
}

/**
 * The logging options with the configuration file's snake_case field names.
 *
 * @category models
 * @since 0.1.0
 */
export interface SnakeCaseOptions {
  readonly app_name?: string | undefined
  readonly log_level?: string | number | undefined
  readonly log_to_console?: boolean | undefined
  readonly log_to_file?: boolean | undefined
  readonly log_file_path?: FilePath
  readonly json_format?: boolean | undefined
  readonly colors?: boolean | "auto" | undefined
}

/**
 * What `layer` accepts: camelCase or snake_case options.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = Options | SnakeCaseOptions

/**
 * Options with defaults applied and the level parsed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resolved {
  readonly appName: string
  readonly logLevel: LogLevel.Severity
  readonly logToConsole: boolean
  readonly logToFile: boolean
  readonly logFilePath: string | undefined
  readonly jsonFormat: boolean
  readonly colors: boolean | "auto"
}

/**
 * The crate's `LoggingConfig::default()`: app name `network-protocol`, level
 * `info`, console on, file off, no path, no JSON.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults: Resolved = {
  appName: "network-protocol",
  logLevel: "Info",
  logToConsole: true,
  logToFile: false,
  logFilePath: undefined,
  jsonFormat: false,
  colors: "auto"
}

/**
 * The annotation key carrying the application name on every log.
 *
 * @category constants
 * @since 0.1.0
 */
export const appNameAnnotation = "app_name" as const

const tracingLevels: Readonly<Record<string, LogLevel.Severity>> = {
  "1": "Error",
  "2": "Warn",
  "3": "Info",
  "4": "Debug",
  "5": "Trace",
  error: "Error",
  warn: "Warn",
  info: "Info",
  debug: "Debug",
  trace: "Trace"
}

/**
 * Parses a level the way tracing's `Level::from_str` does: the integers
 * `1`–`5` (1 = error, 2 = warn, 3 = info, 4 = debug, 5 = trace; as unsigned
 * integer text, so `"03"` and `"+3"` are info too) or the names
 * `error|warn|info|debug|trace` in any case. Anything else (`"warning"`,
 * `" info"`, `0`, `6`) is `None`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseLogLevel = (input: string | number): Option.Option<LogLevel.Severity> => {
  const key = typeof input === "number" ? String(input) : /^\+?\d+$/.test(input) ? String(Number(input)) : input
  const level = Object.hasOwn(tracingLevels, key.toLowerCase()) ? tracingLevels[key.toLowerCase()] : undefined
  return level === undefined ? Option.none() : Option.some(level)
}

const pick = <A>(camel: A | undefined, snake: A | undefined): A | undefined => camel !== undefined ? camel : snake

const normalizePath = (path: FilePath): string | undefined => {
  const value = Option.isOption(path) ? Option.getOrUndefined(path) : path
  return value === null || value === undefined || value === "" ? undefined : value
}

const configError = (detail: string): ProtocolError.ProtocolError =>
  ProtocolError.make(new ProtocolError.ConfigError({ detail }))

/**
 * Applies the defaults and checks the options: the level must parse, and
 * file output needs a path ("log_file_path must be specified when log_to_file
 * is true", as the crate's validation says). Fails with a `ConfigError`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const resolve = (input: Input): Effect.Effect<Resolved, ProtocolError.ProtocolError> =>
  Effect.suspend(() => {
    const camel: Options = input
    const snake: SnakeCaseOptions = input
    const rawLevel = pick(camel.logLevel, snake.log_level)
    let logLevel = defaults.logLevel
    if (rawLevel !== undefined) {
      const parsed = parseLogLevel(rawLevel)
      if (Option.isNone(parsed)) {
        return Effect.fail(
          configError(`Invalid log level: '${rawLevel}' (expected trace, debug, info, warn, error or 1-5)`)
        )
      }
      logLevel = parsed.value
    }
    const logToFile = pick(camel.logToFile, snake.log_to_file) ?? defaults.logToFile
    const logFilePath = normalizePath(pick(camel.logFilePath, snake.log_file_path))
    if (logToFile && logFilePath === undefined) {
      return Effect.fail(configError("log_file_path must be specified when log_to_file is true"))
    }
    return Effect.succeed({
      appName: pick(camel.appName, snake.app_name) ?? defaults.appName,
      logLevel,
      logToConsole: pick(camel.logToConsole, snake.log_to_console) ?? defaults.logToConsole,
      logToFile,
      logFilePath,
      jsonFormat: pick(camel.jsonFormat, snake.json_format) ?? defaults.jsonFormat,
      colors: camel.colors ?? defaults.colors
    })
  })

// -----------------------------------------------------------------------------
// File output
// -----------------------------------------------------------------------------

// Flush synchronously once this much is buffered within one event-loop turn.
const highWaterMark = 1024 * 1024

class FileSink {
  readonly path: string
  private fd: number | undefined
  private chunks: Array<string> = []
  private buffered = 0
  private scheduled = false
  private reported = false

  constructor(path: string, fd: number) {
    this.path = path
    this.fd = fd
    process.on("exit", this.flush)
  }

  write(line: string): void {
    if (this.fd === undefined) {
      // A fiber logging after the layer closed: append directly, nothing is lost.
      this.writeClosed(line + "\n")
      return
    }
    this.chunks.push(line)
    this.buffered += line.length + 1
    if (this.buffered >= highWaterMark) {
      this.flush()
    } else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  readonly flush = (): void => {
    this.scheduled = false
    if (this.chunks.length === 0 || this.fd === undefined) {
      return
    }
    const data = Buffer.from(this.chunks.join("\n") + "\n", "utf8")
    this.chunks = []
    this.buffered = 0
    try {
      let offset = 0
      while (offset < data.length) {
        offset += NodeFs.writeSync(this.fd, data, offset, data.length - offset)
      }
    } catch (error) {
      this.report(error)
    }
  }

  close(): void {
    this.flush()
    process.off("exit", this.flush)
    const fd = this.fd
    this.fd = undefined
    if (fd !== undefined) {
      try {
        NodeFs.closeSync(fd)
      } catch (error) {
        this.report(error)
      }
    }
  }

  private writeClosed(data: string): void {
    try {
      NodeFs.appendFileSync(this.path, data)
    } catch (error) {
      this.report(error)
    }
  }

  private report(error: unknown): void {
    if (!this.reported) {
      this.reported = true
      process.stderr.write(`network-protocol: cannot write log file '${this.path}': ${String(error)}\n`)
    }
  }
}

/**
 * Turns a string logger into one that appends its lines to a file, using
 * `node:fs` (no `FileSystem` service needed). Lines logged in one event-loop
 * turn are written together; everything buffered is written when the scope
 * closes (then the file is closed) and on process exit. Opening the file
 * fails with an `Io` error; later write failures are reported once on
 * standard error.
 *
 * @category file
 * @since 0.1.0
 */
export const toFile = <Message>(
  self: Logger.Logger<Message, string>,
  path: string
): Effect.Effect<Logger.Logger<Message, void>, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.try({
        try: () => new FileSink(path, NodeFs.openSync(path, "a")),
        catch: (cause) =>
          ProtocolError.make(
            new ProtocolError.Io({ detail: `Failed to open log file '${path}': ${String(cause)}`, cause })
          )
      }),
      (sink) => Effect.sync(() => sink.close())
    ),
    (sink) => Logger.make((options) => sink.write(self.log(options)))
  )

// -----------------------------------------------------------------------------
// Layer
// -----------------------------------------------------------------------------

/**
 * The console logger for resolved options: JSON lines or pretty output, on
 * standard output through the current `Console`.
 *
 * @category loggers
 * @since 0.1.0
 */
export const consoleLogger = (resolved: Pick<Resolved, "jsonFormat" | "colors">): Logger.Logger<unknown, void> =>
  resolved.jsonFormat ? Logger.consoleJson : Logger.consolePretty({ colors: resolved.colors })

/**
 * The string format of file output: JSON lines or logfmt.
 *
 * @category loggers
 * @since 0.1.0
 */
export const fileFormat = (resolved: Pick<Resolved, "jsonFormat">): Logger.Logger<unknown, string> =>
  resolved.jsonFormat ? Logger.formatJson : Logger.formatLogFmt

/**
 * The loggers the options ask for (none when both outputs are off). The file,
 * when there is one, is closed with the scope.
 *
 * @category loggers
 * @since 0.1.0
 */
export const loggers = (
  resolved: Resolved
): Effect.Effect<ReadonlyArray<Logger.Logger<unknown, void>>, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const out: Array<Logger.Logger<unknown, void>> = []
    if (resolved.logToConsole) {
      out.push(consoleLogger(resolved))
    }
    if (resolved.logToFile && resolved.logFilePath !== undefined) {
      out.push(yield* toFile(fileFormat(resolved), resolved.logFilePath))
    }
    return out
  })

/**
 * A layer applying the logging options: installs the console and/or file
 * loggers in place of Effect's default logger (other installed loggers are
 * kept), sets the minimum log level, and annotates every log with
 * `app_name`. With both outputs off, nothing is logged. The log file is
 * flushed and closed when the layer's scope closes.
 *
 * Fails with a `ConfigError` for an unparsable level or file output without a
 * path, and an `Io` error when the file cannot be opened.
 *
 * **Example** (Logging as JSON to the console and a file)
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Logging } from "@network-protocol/core"
 *
 * const program = Effect.logInfo("listening").pipe(
 *   Effect.provide(Logging.layer({
 *     appName: "my-server",
 *     logLevel: "debug",
 *     logToFile: true,
 *     logFilePath: "/var/log/my-server.log",
 *     jsonFormat: true
 *   }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (input: Input): Layer.Layer<never, ProtocolError.ProtocolError> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const resolved = yield* resolve(input)
      const installed = yield* loggers(resolved)
      const existing = yield* Effect.service(Logger.CurrentLoggers)
      const annotations = yield* Effect.service(References.CurrentLogAnnotations)
      const current = new Set<Logger.Logger<unknown, unknown>>()
      for (const logger of existing) {
        if (logger !== Logger.defaultLogger) {
          current.add(logger)
        }
      }
      for (const logger of installed) {
        current.add(logger)
      }
      return Context.make(Logger.CurrentLoggers, current).pipe(
        Context.add(References.MinimumLogLevel, resolved.logLevel),
        Context.add(References.CurrentLogAnnotations, { ...annotations, [appNameAnnotation]: resolved.appName })
      )
    })
  )
