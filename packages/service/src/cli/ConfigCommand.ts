/**
 * `np config`: the configuration file tools.
 *
 * - `np config example`: the defaults as commented TOML (every key optional);
 * - `np config validate FILE`: reads a file and lists its errors and warnings
 *   (the crate's validation messages; type errors and unknown keys name the
 *   field, e.g. `server.max_connections`); exits 1 when there are errors;
 * - `np config show [--config FILE]`: the effective configuration (file, then
 *   `NETWORK_PROTOCOL_*` environment variables) as TOML.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as CliFailure from "./CliFailure.ts"
import * as Settings from "./Settings.ts"

/**
 * `np config example`.
 *
 * @category commands
 * @since 0.1.0
 */
export const example = Command.make("example", {}, () => Console.log(NetworkConfig.exampleConfig().trimEnd())).pipe(
  Command.withDescription("Print an example configuration file (the defaults, commented)")
)

const validateFlags = {
  file: Argument.String("file").pipe(Argument.withDescription("the TOML file to check")),
  env: Flag.Boolean("env").pipe(
    Flag.withDescription("apply the NETWORK_PROTOCOL_* environment variables before checking"),
    Flag.withDefault(false)
  ),
  json: Settings.jsonFlag
}

/**
 * The problems in a load error: one per listed field (`server.bogus: unknown
 * key`), or the whole message (a syntax error, a missing file).
 */
const loadErrors = (message: string): ReadonlyArray<string> => {
  const text = message.replace(/^Configuration error: /, "")
  const [header, ...items] = text.split("\n  - ")
  return items.length > 0 && /^Invalid (configuration|environment variables)/.test(header) ? items : [text]
}

/** The crate's warnings start with "WARNING: "; the output labels them already. */
const stripWarning = (message: string): string => message.replace(/^WARNING: /, "")

const validateHandler = Effect.fnUntraced(function*(options: Command.Command.Config.Infer<typeof validateFlags>) {
  const loaded = yield* NetworkConfig.fromFile(options.file).pipe(
    Effect.flatMap((config) => options.env ? NetworkConfig.applyEnv(config) : Effect.succeed(config)),
    Effect.result
  )
  const report = loaded._tag === "Failure"
    ? { errors: loadErrors(loaded.failure.message), warnings: [] }
    : NetworkConfig.diagnose(loaded.success)
  const valid = report.errors.length === 0
  if (options.json) {
    yield* Console.log(JSON.stringify({ file: options.file, valid, errors: report.errors, warnings: report.warnings }))
  } else {
    for (const error of report.errors) yield* Console.log(`error: ${error}`)
    for (const warning of report.warnings) yield* Console.log(`warning: ${stripWarning(warning)}`)
    if (valid) {
      const suffix = report.warnings.length === 0
        ? ""
        : ` (${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"})`
      yield* Console.log(`${options.file}: valid${suffix}`)
    }
  }
  if (!valid) {
    return yield* CliFailure.failed(
      `${options.file}: invalid (${report.errors.length} error${report.errors.length === 1 ? "" : "s"})`
    )
  }
})

/**
 * `np config validate FILE`.
 *
 * @category commands
 * @since 0.1.0
 */
export const validate = Command.make("validate", validateFlags, validateHandler).pipe(
  Command.withDescription("Check a configuration file; exit 1 if it has errors (warnings are only reported)")
)

/**
 * `np config show`.
 *
 * @category commands
 * @since 0.1.0
 */
export const show = Command.make(
  "show",
  { config: Settings.configFlag },
  Effect.fnUntraced(function*(options) {
    const config = yield* Settings.loadConfig(options.config)
    yield* Console.log(NetworkConfig.toToml(config).trimEnd())
  })
).pipe(
  Command.withDescription("Print the effective configuration (file, then NETWORK_PROTOCOL_* variables) as TOML")
)

/**
 * The `config` command group.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("config").pipe(
  Command.withDescription("Configuration file tools"),
  Command.withSubcommands([example, validate, show])
)
