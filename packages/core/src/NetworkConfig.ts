/**
 * Configuration of network-protocol servers and clients: the crate's
 * `NetworkConfig` with its four sections `server`, `client`, `transport` and
 * `logging`, read from TOML files, environment variables or any Effect
 * `ConfigProvider`, written back as TOML, and checked with the crate's own
 * validation messages.
 *
 * **Shape.** Field names are the crate's snake_case names in the type, in TOML
 * and in error messages alike, so `server.max_connections` means the same
 * thing everywhere and a crate configuration file loads unchanged. Durations
 * are `Duration` values in the type and whole milliseconds (integers) in TOML
 * and in environment variables, as in the crate. `logging.log_file_path` is an
 * `Option<string>`; in TOML an empty string (as in the crate's
 * `docs/examples/example_config.toml`) or a missing key means none.
 *
 * **Defaults.** A missing section and, unlike the crate, a missing field inside
 * a present section take their defaults (the crate requires every field of a
 * present section). `transport.compression_threshold_bytes` defaults to 512
 * everywhere (the crate uses 0 when the key is missing from TOML). Because a
 * missing key silently takes its default, an unknown key (for example a
 * misspelt one) is an error when a file is decoded, where the crate ignores it.
 *
 * **Environment.** {@link fromEnv} and {@link applyEnv} read the crate's four
 * variables (`NETWORK_PROTOCOL_SERVER_ADDRESS`,
 * `NETWORK_PROTOCOL_BACKPRESSURE_LIMIT`, `NETWORK_PROTOCOL_CONNECTION_TIMEOUT_MS`
 * for both connection timeouts, `NETWORK_PROTOCOL_HEARTBEAT_INTERVAL_MS` for
 * the server heartbeat) and the scheme the crate documents but does not
 * implement: `NETWORK_PROTOCOL_<SECTION>_<KEY>` for every field, for example
 * `NETWORK_PROTOCOL_LOGGING_LOG_LEVEL=debug` or
 * `NETWORK_PROTOCOL_CLIENT_RESPONSE_TIMEOUT=10000`. The per-field variable wins
 * over the crate's shorthand. Empty values are ignored (as in Effect's
 * `ConfigProvider.fromEnv`); a value that does not parse is an error naming the
 * variable, where the crate silently ignores it.
 *
 * **Validation.** Loading checks types only. {@link validate} returns the
 * crate's messages verbatim; {@link diagnose} splits them into errors and
 * warnings (the crate reports "Encryption is disabled" and its "recommended"
 * limits as errors); {@link validateStrict} fails like the crate's
 * `validate_strict`. Unlike the crate, a client address may be a host name
 * (`example.com:8443`, as the crate's own message suggests); a server address
 * must still be an IP socket address (`0.0.0.0:8080`, `[::1]:9000`), the
 * address the daemon binds.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as NodeFs from "node:fs"
import * as Toml from "smol-toml"
import * as internal from "./internal/networkConfig.ts"
import * as ProtocolError from "./ProtocolError.ts"

// -----------------------------------------------------------------------------
// field schemas
// -----------------------------------------------------------------------------

const WellFormedString = Schema.String.check(
  Schema.makeFilter(internal.isWellFormed, { expected: "a well-formed Unicode string" })
)

const Unsigned = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const U32 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffff_ffff }))

const I32 = Schema.Int.check(Schema.isBetween({ minimum: -0x8000_0000, maximum: 0x7fff_ffff }))

/**
 * A `Duration` written as a whole, non-negative number of milliseconds (the
 * crate's `duration_serde`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Millis = Unsigned.pipe(
  Schema.decodeTo(
    Schema.Duration.check(
      Schema.makeFilter((duration: Duration.Duration) => {
        const millis = Duration.toMillis(duration)
        return Number.isSafeInteger(millis) && millis >= 0
      }, { expected: "a finite, non-negative, whole number of milliseconds" })
    ),
    SchemaTransformation.transform({
      decode: (millis: number) => Duration.millis(millis),
      encode: (duration: Duration.Duration) => Duration.toMillis(duration)
    })
  )
)

/**
 * The five log levels of the crate (tracing's `Level`), lowercase.
 *
 * @category schemas
 * @since 0.1.0
 */
export const LogLevel = Schema.Literals(["trace", "debug", "info", "warn", "error"])

/**
 * @category models
 * @since 0.1.0
 */
export type LogLevel = typeof LogLevel.Type

const isLogLevel = Schema.is(LogLevel)

const levelByNumber: Record<string, LogLevel> = { 1: "error", 2: "warn", 3: "info", 4: "debug", 5: "trace" }

/**
 * Parses a log level like tracing's `Level::from_str`: a level name in any
 * case, or `1` (error) to `5` (trace).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseLogLevel = (input: string): Option.Option<LogLevel> => {
  if (/^\+?[0-9]+$/.test(input)) {
    const level = levelByNumber[String(Number(input))]
    return level === undefined ? Option.none() : Option.some(level)
  }
  const lower = input.toLowerCase()
  return isLogLevel(lower) && /^[a-z]+$/i.test(input) ? Option.some(lower) : Option.none()
}

/**
 * A log level read from a string with {@link parseLogLevel}, written lowercase.
 *
 * @category schemas
 * @since 0.1.0
 */
export const LogLevelFromString = Schema.String.pipe(
  Schema.decodeTo(
    LogLevel,
    SchemaTransformation.transformEffect({
      decode: (input: string, options) =>
        Option.match(parseLogLevel(input), {
          onNone: () =>
            Effect.fail(new SchemaIssue.InvalidValue({ message: `Invalid log level: ${input}` }, input, options)),
          onSome: Effect.succeed
        }),
      encode: (level: LogLevel) => Effect.succeed(level)
    })
  )
)

/**
 * Maps a crate log level to Effect's `LogLevel`.
 *
 * @category conversions
 * @since 0.1.0
 */
export const toEffectLogLevel = (level: LogLevel): "Trace" | "Debug" | "Info" | "Warn" | "Error" => {
  switch (level) {
    case "trace":
      return "Trace"
    case "debug":
      return "Debug"
    case "info":
      return "Info"
    case "warn":
      return "Warn"
    case "error":
      return "Error"
  }
}

const stringWithDefault = (value: string) =>
  WellFormedString.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(value)),
    Schema.withConstructorDefault(Effect.succeed(value))
  )

const unsignedWithDefault = (value: number) =>
  Unsigned.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(value)),
    Schema.withConstructorDefault(Effect.succeed(value))
  )

const booleanWithDefault = (value: boolean) =>
  Schema.Boolean.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(value)),
    Schema.withConstructorDefault(Effect.succeed(value))
  )

const millisWithDefault = (millis: number) =>
  Millis.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(millis)),
    Schema.withConstructorDefault(Effect.succeed(Duration.millis(millis)))
  )

const OptionalPath = Schema.optionalKey(WellFormedString).pipe(
  Schema.decodeTo(
    Schema.Option(WellFormedString),
    SchemaTransformation.transformOptional({
      decode: (path: Option.Option<string>) => Option.some(Option.filter(path, (s) => s !== "")),
      encode: (path: Option.Option<Option.Option<string>>) => Option.flatten(path)
    })
  ),
  Schema.withConstructorDefault(Effect.succeed(Option.none<string>()))
)

// -----------------------------------------------------------------------------
// sections
// -----------------------------------------------------------------------------

/**
 * The `[server]` section.
 *
 * @category models
 * @since 0.1.0
 */
export class ServerConfig extends Schema.Class<ServerConfig>("network-protocol/NetworkConfig/ServerConfig")({
  /** The listen address, `ip:port`. Default `127.0.0.1:9000`. */
  address: stringWithDefault("127.0.0.1:9000"),
  /** Messages queued per connection before reads pause. Default 32. */
  backpressure_limit: unsignedWithDefault(32),
  /** Handshake / idle timeout of a connection. Default 5 s. */
  connection_timeout: millisWithDefault(5_000),
  /** Interval between heartbeats. Default 15 s. */
  heartbeat_interval: millisWithDefault(15_000),
  /** How long a graceful shutdown waits for connections to drain. Default 30 s. */
  shutdown_timeout: millisWithDefault(30_000),
  /** Concurrent connections accepted. Default 1000. */
  max_connections: unsignedWithDefault(1_000)
}) {}

/**
 * The `[client]` section.
 *
 * @category models
 * @since 0.1.0
 */
export class ClientConfig extends Schema.Class<ClientConfig>("network-protocol/NetworkConfig/ClientConfig")({
  /** The server to connect to, `host:port`. Default `127.0.0.1:9000`. */
  address: stringWithDefault("127.0.0.1:9000"),
  /** Timeout of connecting and of the handshake. Default 5 s. */
  connection_timeout: millisWithDefault(5_000),
  /** Timeout of one send. Default 3 s. */
  operation_timeout: millisWithDefault(3_000),
  /** Timeout of waiting for a response. Default 30 s. */
  response_timeout: millisWithDefault(30_000),
  /** Interval between heartbeats. Default 15 s. */
  heartbeat_interval: millisWithDefault(15_000),
  /** Whether to reconnect after losing the connection. Default `true`. */
  auto_reconnect: booleanWithDefault(true),
  /** Reconnection attempts before giving up (u32). Default 3. */
  max_reconnect_attempts: U32.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(3)),
    Schema.withConstructorDefault(Effect.succeed(3))
  ),
  /** Delay between reconnection attempts. Default 1 s. */
  reconnect_delay: millisWithDefault(1_000)
}) {}

/**
 * The `[transport]` section.
 *
 * @category models
 * @since 0.1.0
 */
export class TransportConfig extends Schema.Class<TransportConfig>("network-protocol/NetworkConfig/TransportConfig")({
  /** Whether payloads are compressed. Default `false`. */
  compression_enabled: booleanWithDefault(false),
  /** Whether sessions are encrypted. Default `true`. */
  encryption_enabled: booleanWithDefault(true),
  /** The largest payload in bytes. Default 16 MiB. */
  max_payload_size: unsignedWithDefault(16 * 1024 * 1024),
  /** Compression level (i32; validated 1–22 when compression is on). Default 6. */
  compression_level: I32.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(6)),
    Schema.withConstructorDefault(Effect.succeed(6))
  ),
  /** Payloads smaller than this are sent uncompressed. Default 512. */
  compression_threshold_bytes: unsignedWithDefault(512)
}) {}

/**
 * The `[logging]` section.
 *
 * @category models
 * @since 0.1.0
 */
export class LoggingConfig extends Schema.Class<LoggingConfig>("network-protocol/NetworkConfig/LoggingConfig")({
  /** The application name in log records. Default `network-protocol`. */
  app_name: stringWithDefault("network-protocol"),
  /** The minimum level logged. Default `info`. */
  log_level: LogLevelFromString.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed("info")),
    Schema.withConstructorDefault(Effect.succeed<LogLevel>("info"))
  ),
  /** Whether to log to the console. Default `true`. */
  log_to_console: booleanWithDefault(true),
  /** Whether to log to a file. Default `false`. */
  log_to_file: booleanWithDefault(false),
  /** The log file, when `log_to_file` is set. Default none. */
  log_file_path: OptionalPath,
  /** Whether log records are JSON. Default `false`. */
  json_format: booleanWithDefault(false)
}) {}

/**
 * The whole configuration. Every field has a default: `new NetworkConfig({})`
 * is the crate's `NetworkConfig::default()`, and decoding fills in missing
 * sections and fields.
 *
 * @category models
 * @since 0.1.0
 */
export class NetworkConfig extends Schema.Class<NetworkConfig>("network-protocol/NetworkConfig")({
  server: ServerConfig.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({})),
    Schema.withConstructorDefault(Effect.sync(() => new ServerConfig({})))
  ),
  client: ClientConfig.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({})),
    Schema.withConstructorDefault(Effect.sync(() => new ClientConfig({})))
  ),
  transport: TransportConfig.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({})),
    Schema.withConstructorDefault(Effect.sync(() => new TransportConfig({})))
  ),
  logging: LoggingConfig.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({})),
    Schema.withConstructorDefault(Effect.sync(() => new LoggingConfig({})))
  )
}) {}

/**
 * Tells whether a value is a `NetworkConfig`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isNetworkConfig = (u: unknown): u is NetworkConfig => u instanceof NetworkConfig

/**
 * The defaults of every section (the crate's `NetworkConfig::default()`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaults: NetworkConfig = new NetworkConfig({})

// -----------------------------------------------------------------------------
// overrides
// -----------------------------------------------------------------------------

type FieldsOf<C extends { readonly fields: object }, I> = Pick<I, keyof C["fields"] & keyof I>

/**
 * Field values to change, section by section; what is left out is kept.
 *
 * @category models
 * @since 0.1.0
 */
export interface Overrides {
  readonly server?: Partial<FieldsOf<typeof ServerConfig, ServerConfig>> | undefined
  readonly client?: Partial<FieldsOf<typeof ClientConfig, ClientConfig>> | undefined
  readonly transport?: Partial<FieldsOf<typeof TransportConfig, TransportConfig>> | undefined
  readonly logging?: Partial<FieldsOf<typeof LoggingConfig, LoggingConfig>> | undefined
}

/**
 * Returns a copy of a configuration with some fields changed. Throws, like the
 * class constructors, on a value of the wrong type (a negative count, a
 * fractional number of milliseconds, an infinite duration).
 *
 * @category combinators
 * @since 0.1.0
 */
export const update: {
  (overrides: Overrides): (self: NetworkConfig) => NetworkConfig
  (self: NetworkConfig, overrides: Overrides): NetworkConfig
} = dual(2, (self: NetworkConfig, overrides: Overrides): NetworkConfig =>
  new NetworkConfig({
    server: overrides.server === undefined ? self.server : new ServerConfig({ ...self.server, ...overrides.server }),
    client: overrides.client === undefined ? self.client : new ClientConfig({ ...self.client, ...overrides.client }),
    transport: overrides.transport === undefined
      ? self.transport
      : new TransportConfig({ ...self.transport, ...overrides.transport }),
    logging: overrides.logging === undefined
      ? self.logging
      : new LoggingConfig({ ...self.logging, ...overrides.logging })
  }))

/**
 * The defaults with some fields changed (the crate's
 * `NetworkConfig::default_with_overrides`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (overrides: Overrides = {}): NetworkConfig => update(defaults, overrides)

// -----------------------------------------------------------------------------
// layout (TOML order, comments, environment variables)
// -----------------------------------------------------------------------------

type Kind = "string" | "integer" | "boolean" | "millis" | "level" | "path"

interface FieldLayout {
  readonly key: string
  readonly kind: Kind
  readonly comment: string
}

interface SectionLayout {
  readonly name: "server" | "client" | "transport" | "logging"
  readonly comment: string
  readonly fields: ReadonlyArray<FieldLayout>
}

const layout: ReadonlyArray<SectionLayout> = [
  {
    name: "server",
    comment: "Server (daemon) settings",
    fields: [
      { key: "address", kind: "string", comment: "listen address, ip:port" },
      { key: "backpressure_limit", kind: "integer", comment: "messages queued per connection before reads pause" },
      { key: "connection_timeout", kind: "millis", comment: "milliseconds, handshake and idle timeout" },
      { key: "heartbeat_interval", kind: "millis", comment: "milliseconds" },
      { key: "shutdown_timeout", kind: "millis", comment: "milliseconds, graceful shutdown drain" },
      { key: "max_connections", kind: "integer", comment: "concurrent connections accepted" }
    ]
  },
  {
    name: "client",
    comment: "Client settings",
    fields: [
      { key: "address", kind: "string", comment: "server address, host:port" },
      { key: "connection_timeout", kind: "millis", comment: "milliseconds, connect and handshake" },
      { key: "operation_timeout", kind: "millis", comment: "milliseconds, for each send" },
      { key: "response_timeout", kind: "millis", comment: "milliseconds, waiting for a response" },
      { key: "heartbeat_interval", kind: "millis", comment: "milliseconds" },
      { key: "auto_reconnect", kind: "boolean", comment: "reconnect after losing the connection" },
      { key: "max_reconnect_attempts", kind: "integer", comment: "attempts before giving up" },
      { key: "reconnect_delay", kind: "millis", comment: "milliseconds between attempts" }
    ]
  },
  {
    name: "transport",
    comment: "Transport settings",
    fields: [
      { key: "compression_enabled", kind: "boolean", comment: "compress payloads" },
      { key: "encryption_enabled", kind: "boolean", comment: "encrypt sessions" },
      { key: "max_payload_size", kind: "integer", comment: "bytes (16 MiB)" },
      { key: "compression_level", kind: "integer", comment: "1-22, used when compression is enabled" },
      { key: "compression_threshold_bytes", kind: "integer", comment: "smaller payloads are not compressed" }
    ]
  },
  {
    name: "logging",
    comment: "Logging settings",
    fields: [
      { key: "app_name", kind: "string", comment: "at most 64 bytes" },
      { key: "log_level", kind: "level", comment: "trace, debug, info, warn or error" },
      { key: "log_to_console", kind: "boolean", comment: "log to the console" },
      { key: "log_to_file", kind: "boolean", comment: "log to log_file_path" },
      { key: "log_file_path", kind: "path", comment: "log file, required when log_to_file is true" },
      { key: "json_format", kind: "boolean", comment: "JSON log records" }
    ]
  }
]

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const configError = (detail: string, cause?: unknown): ProtocolError.ProtocolError =>
  ProtocolError.make(
    new ProtocolError.ConfigError(cause === undefined ? { detail } : { detail, cause })
  )

interface IssueLine {
  readonly path: string
  readonly message: string
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => issue._tag === "UnexpectedKey" ? "unknown key" : SchemaIssue.defaultLeafHook(issue)
})

const issueLines = (issue: SchemaIssue.Issue): ReadonlyArray<IssueLine> =>
  formatIssues(issue).issues.map((item) => ({
    path: (item.path ?? []).map((segment) =>
      typeof segment === "object" && segment !== null && "key" in segment
        ? String(segment.key)
        : String(segment)
    ).join("."),
    message: item.message
  }))

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const sectionOf = (document: unknown, name: string): Readonly<Record<string, unknown>> => {
  const section = isRecord(document) ? document[name] : undefined
  return isRecord(section) ? section : {}
}

const decodeOptions = { errors: "all", onExcessProperty: "error", reportInput: true } as const

// -----------------------------------------------------------------------------
// TOML
// -----------------------------------------------------------------------------

const decodeDocument = Schema.decodeUnknownEffect(NetworkConfig)

const parseToml = (text: string, source: string | undefined) =>
  Effect.try({
    try: () => Toml.parse(text, { integersAsBigInt: "asNeeded" }),
    catch: (cause) => {
      const where = source === undefined ? "" : ` in ${source}`
      if (cause instanceof Toml.TomlError) {
        const [first, ...rest] = cause.message.split("\n")
        const reason = first.replace(/^Invalid TOML document: /, "")
        const excerpt = rest.join("\n").trimEnd()
        return configError(
          `Failed to parse TOML${where} at line ${cause.line}, column ${cause.column}: ${reason}` +
            (excerpt === "" ? "" : `\n${excerpt}`),
          cause
        )
      }
      return configError(`Failed to parse TOML${where}: ${String(cause)}`, cause)
    }
  })

/**
 * Reads a configuration from TOML text. `source` (a file name, say) is named in
 * error messages. Syntax errors give the line and column; fields of the wrong
 * type and unknown keys are all listed, each with its path
 * (`server.max_connections: Expected an integer, got 1.5`). Does not validate.
 *
 * @category loading
 * @since 0.1.0
 */
export const fromToml = (text: string, source?: string): Effect.Effect<NetworkConfig, ProtocolError.ProtocolError> =>
  parseToml(text, source).pipe(
    Effect.flatMap((document) =>
      decodeDocument(document, decodeOptions).pipe(
        Effect.mapError((error) => {
          const lines = issueLines(error.issue)
          const where = source === undefined ? "" : ` in ${source}`
          return configError(
            `Invalid configuration${where}:\n  - ${lines.map((l) => `${l.path}: ${l.message}`).join("\n  - ")}`,
            error
          )
        })
      )
    )
  )

/**
 * Reads a configuration from a TOML file with the `FileSystem` service.
 * Errors name the file.
 *
 * @category loading
 * @since 0.1.0
 */
export const fromFile: (
  path: string
) => Effect.Effect<NetworkConfig, ProtocolError.ProtocolError, FileSystem.FileSystem> = Effect.fn(
  "NetworkConfig.fromFile"
)(function*(path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path).pipe(
    Effect.mapError((cause) => configError(`Failed to read config file ${path}: ${cause.message}`, cause))
  )
  return yield* fromToml(text, path)
})

const renderValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return internal.tomlString(value)
    case "number":
    case "boolean":
      return String(value)
    default:
      return internal.tomlString(String(value))
  }
}

const encodeDocument = Schema.encodeSync(NetworkConfig)

/**
 * Options of {@link toToml}.
 *
 * @category models
 * @since 0.1.0
 */
export interface TomlOptions {
  /** Comment every section and field. Default `false`. */
  readonly comments?: boolean | undefined
}

/**
 * Writes a configuration as TOML: the four sections in the crate's order,
 * every field, durations in milliseconds, `log_file_path` left out when it is
 * none. The text reads back with {@link fromToml} to an equal configuration.
 *
 * @category encoding
 * @since 0.1.0
 */
export const toToml = (self: NetworkConfig, options?: TomlOptions): string => {
  const encoded = encodeDocument(self)
  const comments = options?.comments === true
  const blocks: Array<string> = []
  for (const section of layout) {
    const lines: Array<string> = []
    if (comments) lines.push(`# ${section.comment}`)
    lines.push(`[${section.name}]`)
    const values = sectionOf(encoded, section.name)
    for (const field of section.fields) {
      const value = values[field.key]
      if (value === undefined) continue
      if (comments) lines.push(`# ${field.comment}`)
      lines.push(`${field.key} = ${renderValue(value)}`)
    }
    blocks.push(lines.join("\n"))
  }
  return blocks.join("\n\n") + "\n"
}

/**
 * The defaults as commented TOML: all four sections, every field, durations in
 * milliseconds, `log_file_path` left out and `compression_threshold_bytes =
 * 512` (the crate's `NetworkConfig::example_config`, with comments).
 *
 * @category encoding
 * @since 0.1.0
 */
export const exampleConfig = (): string =>
  "# network-protocol configuration\n" +
  "# Every key is optional: a missing section or field takes the default shown.\n" +
  "# Durations are integers in milliseconds.\n\n" +
  toToml(defaults, { comments: true })

/**
 * Writes a configuration to a TOML file with the `FileSystem` service.
 *
 * @category encoding
 * @since 0.1.0
 */
export const saveToFile: {
  (path: string, options?: TomlOptions): (
    self: NetworkConfig
  ) => Effect.Effect<void, ProtocolError.ProtocolError, FileSystem.FileSystem>
  (
    self: NetworkConfig,
    path: string,
    options?: TomlOptions
  ): Effect.Effect<void, ProtocolError.ProtocolError, FileSystem.FileSystem>
} = dual(
  (args) => isNetworkConfig(args[0]),
  Effect.fnUntraced(function*(self: NetworkConfig, path: string, options?: TomlOptions) {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(path, toToml(self, options)).pipe(
      Effect.mapError((cause) => configError(`Failed to write config file ${path}: ${cause.message}`, cause))
    )
  })
)

// -----------------------------------------------------------------------------
// environment
// -----------------------------------------------------------------------------

/**
 * An environment: variable names to values.
 *
 * @category models
 * @since 0.1.0
 */
export type Env = Readonly<Record<string, string | undefined>>

/**
 * The prefix of every environment variable.
 *
 * @category environment
 * @since 0.1.0
 */
export const ENV_PREFIX = "NETWORK_PROTOCOL_"

/**
 * The environment variable of a field: `NETWORK_PROTOCOL_<SECTION>_<KEY>`,
 * for example `envVariable("client", "response_timeout")` is
 * `NETWORK_PROTOCOL_CLIENT_RESPONSE_TIMEOUT`.
 *
 * @category environment
 * @since 0.1.0
 */
export const envVariable = (section: string, key: string): string =>
  `${ENV_PREFIX}${section.toUpperCase()}_${key.toUpperCase()}`

/**
 * The crate's own variables (`from_env`), each with the fields it sets. The
 * per-field variable of {@link envVariable} takes precedence.
 *
 * @category environment
 * @since 0.1.0
 */
export const crateEnvVariables: ReadonlyArray<{
  readonly variable: string
  readonly section: "server" | "client"
  readonly key: string
}> = [
  { variable: "NETWORK_PROTOCOL_SERVER_ADDRESS", section: "server", key: "address" },
  { variable: "NETWORK_PROTOCOL_BACKPRESSURE_LIMIT", section: "server", key: "backpressure_limit" },
  { variable: "NETWORK_PROTOCOL_CONNECTION_TIMEOUT_MS", section: "server", key: "connection_timeout" },
  { variable: "NETWORK_PROTOCOL_CONNECTION_TIMEOUT_MS", section: "client", key: "connection_timeout" },
  { variable: "NETWORK_PROTOCOL_HEARTBEAT_INTERVAL_MS", section: "server", key: "heartbeat_interval" }
]

const trueWords = new Set(["true", "yes", "on", "1", "y"])
const falseWords = new Set(["false", "no", "off", "0", "n"])

const processEnv = (): Env => globalThis.process?.env ?? {}

interface EnvSettings {
  /** section → key → raw value, booleans normalised to `true` / `false` */
  readonly tree: Record<string, Record<string, string>>
  /** `section.key` → the variable and value it came from */
  readonly sources: Map<string, { readonly variable: string; readonly value: string }>
}

const readEnv = (env: Env): EnvSettings => {
  const tree: Record<string, Record<string, string>> = {}
  const sources = new Map<string, { readonly variable: string; readonly value: string }>()
  const set = (section: string, field: FieldLayout, variable: string, value: string) => {
    let normalised = value
    if (field.kind === "boolean") {
      const lower = value.trim().toLowerCase()
      normalised = trueWords.has(lower) ? "true" : falseWords.has(lower) ? "false" : value
    }
    ;(tree[section] ??= {})[field.key] = normalised
    sources.set(`${section}.${field.key}`, { variable, value })
  }
  for (const legacy of crateEnvVariables) {
    const value = env[legacy.variable]
    if (value === undefined || value === "") continue
    const section = layout.find((s) => s.name === legacy.section)
    const field = section?.fields.find((f) => f.key === legacy.key)
    if (field !== undefined) set(legacy.section, field, legacy.variable, value)
  }
  for (const section of layout) {
    for (const field of section.fields) {
      const variable = envVariable(section.name, field.key)
      const value = env[variable]
      if (value === undefined || value === "") continue
      set(section.name, field, variable, value)
    }
  }
  return { tree, sources }
}

const stringTree = Schema.toCodecStringTree(NetworkConfig)
const encodeStringTree = Schema.encodeSync(stringTree)
const decodeStringTree = Schema.decodeUnknownEffect(stringTree)

/**
 * Applies environment variables (default `process.env`) over a configuration:
 * the crate's four variables and `NETWORK_PROTOCOL_<SECTION>_<KEY>` for every
 * field (see the module documentation). Values are read like {@link config}
 * reads them (Effect's `Config` string decoding): numbers must be integers in
 * range (milliseconds for durations); booleans are `true`/`false`, also
 * `yes`/`no`, `on`/`off`, `y`/`n`, `1`/`0` in any case; log levels as in
 * {@link parseLogLevel}. A value that does not parse fails with an error
 * naming every such variable, its value and the field it sets.
 *
 * @category loading
 * @since 0.1.0
 */
export const applyEnv: {
  (env?: Env): (self: NetworkConfig) => Effect.Effect<NetworkConfig, ProtocolError.ProtocolError>
  (self: NetworkConfig, env?: Env): Effect.Effect<NetworkConfig, ProtocolError.ProtocolError>
} = dual(
  (args) => isNetworkConfig(args[0]),
  (self: NetworkConfig, env?: Env): Effect.Effect<NetworkConfig, ProtocolError.ProtocolError> =>
    Effect.suspend(() => {
      const { sources, tree } = readEnv(env ?? processEnv())
      if (sources.size === 0) return Effect.succeed(self)
      const base = encodeStringTree(self)
      const merged: Record<string, Record<string, unknown>> = {}
      for (const section of layout) {
        merged[section.name] = { ...sectionOf(base, section.name), ...tree[section.name] }
      }
      return decodeStringTree(merged, decodeOptions).pipe(
        Effect.mapError((error) => {
          const lines = issueLines(error.issue).map((line) => {
            const source = sources.get(line.path)
            return source === undefined
              ? `${line.path}: ${line.message}`
              : `${source.variable}=${JSON.stringify(source.value)} (${line.path}): ${line.message}`
          })
          return configError(`Invalid environment variables:\n  - ${lines.join("\n  - ")}`, error)
        })
      )
    })
)

/**
 * The defaults with environment variables applied (the crate's
 * `NetworkConfig::from_env`, plus the per-field variables, with errors for
 * values that do not parse).
 *
 * @category loading
 * @since 0.1.0
 */
export const fromEnv = (env?: Env): Effect.Effect<NetworkConfig, ProtocolError.ProtocolError> =>
  applyEnv(defaults, env)

// -----------------------------------------------------------------------------
// Config / ConfigProvider
// -----------------------------------------------------------------------------

/**
 * The configuration as an Effect `Config`, read from the current
 * `ConfigProvider` at its root: sections `server`, `client`, `transport`,
 * `logging` holding the snake_case keys. Missing sections and fields take
 * their defaults; when the provider has nothing at all, the result is
 * {@link defaults}. Use `Config.nested(NetworkConfig.config, "network")` to
 * read it from below a key.
 *
 * Providers: {@link envProvider} (the environment variables of this module),
 * {@link tomlProvider} / {@link fileProvider} (a TOML document),
 * `ConfigProvider.fromUnknown` (a plain object), or Effect's
 * `ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase, ConfigProvider.nested(["NETWORK", "PROTOCOL"]))`
 * (the per-field variables only). Combine them with `ConfigProvider.orElse`:
 * the first provider that has a field wins, field by field.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<NetworkConfig> = Config.schema(NetworkConfig).pipe(Config.withDefault(defaults))

/**
 * A `ConfigProvider` of the environment variables read by {@link applyEnv}
 * (default `process.env`), shaped for {@link config}.
 *
 * @category config
 * @since 0.1.0
 */
export const envProvider = (env?: Env): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromUnknown(readEnv(env ?? processEnv()).tree)

/**
 * A `ConfigProvider` of a TOML document, shaped for {@link config}. Fails on a
 * TOML syntax error; type errors surface when the `Config` is read.
 *
 * @category config
 * @since 0.1.0
 */
export const tomlProvider = (
  text: string,
  source?: string
): Effect.Effect<ConfigProvider.ConfigProvider, ProtocolError.ProtocolError> =>
  Effect.map(parseToml(text, source), (document) => ConfigProvider.fromUnknown(document, { preserveEmptyStrings: true }))

/**
 * A `ConfigProvider` of a TOML file, read with the `FileSystem` service.
 *
 * @category config
 * @since 0.1.0
 */
export const fileProvider = (
  path: string
): Effect.Effect<ConfigProvider.ConfigProvider, ProtocolError.ProtocolError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((cause) => configError(`Failed to read config file ${path}: ${cause.message}`, cause))
    )
    return yield* tomlProvider(text, path)
  })

// -----------------------------------------------------------------------------
// validation
// -----------------------------------------------------------------------------

/**
 * Options of validation.
 *
 * @category models
 * @since 0.1.0
 */
export interface ValidateOptions {
  /**
   * Tells whether a directory exists, for `logging.log_file_path`. Default:
   * `node:fs` `existsSync`.
   */
  readonly directoryExists?: ((path: string) => boolean) | undefined
}

interface Finding {
  readonly message: string
  readonly warning: boolean
}

const millisOf = (duration: Duration.Duration): number => Duration.toMillis(duration)
const secondsOf = (duration: Duration.Duration): number => Math.floor(Duration.toMillis(duration) / 1000)

const findings = (self: NetworkConfig, options?: ValidateOptions): ReadonlyArray<Finding> => {
  const out: Array<Finding> = []
  const error = (message: string) => out.push({ message, warning: false })
  const warning = (message: string) => out.push({ message, warning: true })

  const server = self.server
  if (server.address === "") {
    error("Server address cannot be empty")
  } else if (!internal.isSocketAddress(server.address)) {
    error(`Invalid server address format: '${server.address}' (expected format: '0.0.0.0:8080')`)
  }
  if (server.backpressure_limit === 0) {
    error("Backpressure limit must be greater than 0")
  } else if (server.backpressure_limit > 1_000_000) {
    warning(`Backpressure limit too large: ${server.backpressure_limit} (max recommended: 1,000,000)`)
  }
  if (millisOf(server.connection_timeout) < 100) {
    error("Connection timeout too short (minimum: 100ms)")
  } else if (secondsOf(server.connection_timeout) > 300) {
    error("Connection timeout too long (maximum: 300s)")
  }
  if (millisOf(server.heartbeat_interval) < 100) {
    error("Heartbeat interval too short (minimum: 100ms)")
  } else if (secondsOf(server.heartbeat_interval) > 3600) {
    error("Heartbeat interval too long (maximum: 1 hour)")
  }
  if (secondsOf(server.shutdown_timeout) < 1) {
    error("Shutdown timeout too short (minimum: 1s)")
  } else if (secondsOf(server.shutdown_timeout) > 60) {
    error("Shutdown timeout too long (maximum: 60s)")
  }
  if (server.max_connections === 0) {
    error("Max connections must be greater than 0")
  } else if (server.max_connections > 100_000) {
    warning(`Max connections very high: ${server.max_connections} (ensure system resources can support this)`)
  }

  const client = self.client
  if (client.address === "") {
    error("Client address cannot be empty")
  } else if (!internal.isHostAndPort(client.address)) {
    error(`Invalid client address format: '${client.address}' (expected format: 'example.com:8080')`)
  }
  if (millisOf(client.connection_timeout) < 100) {
    error("Connection timeout too short (minimum: 100ms)")
  }
  if (millisOf(client.operation_timeout) < 10) {
    error("Operation timeout too short (minimum: 10ms)")
  }
  if (millisOf(client.response_timeout) < 100) {
    error("Response timeout too short (minimum: 100ms)")
  }
  if (client.auto_reconnect && client.max_reconnect_attempts === 0) {
    error("Max reconnect attempts must be greater than 0 when auto_reconnect is enabled")
  }
  if (millisOf(client.reconnect_delay) < 10) {
    error("Reconnect delay too short (minimum: 10ms)")
  } else if (secondsOf(client.reconnect_delay) > 60) {
    error("Reconnect delay too long (maximum: 60s)")
  }

  const transport = self.transport
  if (transport.max_payload_size === 0) {
    error("Max payload size cannot be 0")
  } else if (transport.max_payload_size < 1024) {
    error("Max payload size too small (minimum: 1 KB)")
  } else if (transport.max_payload_size > 100 * 1024 * 1024) {
    warning(`Max payload size too large: ${transport.max_payload_size} bytes (maximum recommended: 100 MB)`)
  }
  if (transport.compression_enabled) {
    if (transport.compression_level < 1 || transport.compression_level > 22) {
      error(`Invalid compression level: ${transport.compression_level} (valid range: 1-22)`)
    }
    if (transport.compression_threshold_bytes > transport.max_payload_size) {
      error("Compression threshold cannot be larger than max payload size")
    }
  }
  if (!transport.encryption_enabled) {
    warning("WARNING: Encryption is disabled - not recommended for production")
  }

  const logging = self.logging
  const appNameBytes = internal.utf8Length(logging.app_name)
  if (appNameBytes === 0) {
    error("Application name cannot be empty")
  } else if (appNameBytes > 64) {
    error(`Application name too long: ${appNameBytes} characters (maximum: 64)`)
  }
  if (logging.log_to_file) {
    if (Option.isSome(logging.log_file_path)) {
      const parent = internal.parentDirectory(logging.log_file_path.value)
      const directoryExists = options?.directoryExists ?? NodeFs.existsSync
      if (parent !== undefined && parent !== "" && !directoryExists(parent)) {
        error(`Log file directory does not exist: ${parent}`)
      }
    } else {
      error("log_file_path must be specified when log_to_file is true")
    }
  }
  if (!logging.log_to_console && !logging.log_to_file) {
    error("At least one logging output (console or file) must be enabled")
  }
  return out
}

/**
 * Checks a configuration and returns the crate's messages, verbatim and in
 * the crate's order (server, client, transport, logging); empty when valid.
 * As in the crate, advisory findings (disabled encryption, limits above the
 * recommended ones) are in the list too; {@link diagnose} separates them.
 *
 * The rules are the crate's, with one difference: a client address may be
 * `host:port` with an RFC 1123 host name, not only an IP socket address.
 *
 * @category validation
 * @since 0.1.0
 */
export const validate = (self: NetworkConfig, options?: ValidateOptions): ReadonlyArray<string> =>
  findings(self, options).map((finding) => finding.message)

/**
 * The findings of {@link validate}, split into errors and warnings.
 *
 * @category models
 * @since 0.1.0
 */
export interface Diagnostics {
  /** Settings that cannot work. */
  readonly errors: ReadonlyArray<string>
  /**
   * Advisory findings the crate reports as errors: "WARNING: Encryption is
   * disabled…", "Backpressure limit too large…", "Max connections very
   * high…", "Max payload size too large…".
   */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Checks a configuration like {@link validate} and separates errors from
 * warnings.
 *
 * @category validation
 * @since 0.1.0
 */
export const diagnose = (self: NetworkConfig, options?: ValidateOptions): Diagnostics => {
  const all = findings(self, options)
  return {
    errors: all.filter((finding) => !finding.warning).map((finding) => finding.message),
    warnings: all.filter((finding) => finding.warning).map((finding) => finding.message)
  }
}

/**
 * Options of {@link validateStrict}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ValidateStrictOptions extends ValidateOptions {
  /** Succeed when only warnings are found. Default `false`, as in the crate. */
  readonly allowWarnings?: boolean | undefined
}

/**
 * Succeeds with the configuration when it is valid, otherwise fails with a
 * `ConfigError` whose detail is the crate's: `"Configuration validation
 * failed:\n  - "` followed by the messages joined with `"\n  - "`.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateStrict = (
  self: NetworkConfig,
  options?: ValidateStrictOptions
): Effect.Effect<NetworkConfig, ProtocolError.ProtocolError> =>
  Effect.suspend(() => {
    const all = findings(self, options)
    const failing = options?.allowWarnings === true ? all.filter((finding) => !finding.warning) : all
    return failing.length === 0
      ? Effect.succeed(self)
      : Effect.fail(
        configError(
          `Configuration validation failed:\n  - ${failing.map((finding) => finding.message).join("\n  - ")}`
        )
      )
  })
