/**
 * The `np` command line: the command tree and how it runs.
 *
 * ```
 * np serve | ping | echo | send | cert | keygen | config example|validate|show | demo
 * ```
 *
 * Every command has `--help`. Output for humans goes to standard output,
 * diagnostics to standard error; `--json` (where offered) prints one JSON
 * document on standard output. Exit codes: 0 success, 1 an operation that did
 * not succeed, 2 a usage or configuration error, 130 interrupted (except
 * `np serve`, for which SIGINT / SIGTERM is a normal stop: 0).
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CliConfig from "effect/cli/CliConfig"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cert from "./Cert.ts"
import * as ConfigCommand from "./ConfigCommand.ts"
import * as Demo from "./Demo.ts"
import * as Keygen from "./Keygen.ts"
import * as Ping from "./Ping.ts"
import * as Request from "./Request.ts"
import * as Serve from "./Serve.ts"

/**
 * The version `np --version` prints.
 *
 * @category constants
 * @since 0.1.0
 */
export const version = "0.1.0"

/**
 * The root command.
 *
 * @category commands
 * @since 0.1.0
 */
export const np = Command.make("np").pipe(
  Command.withDescription(
    "network-protocol: a secure, framed message protocol (wire-compatible with the Rust crate network-protocol 1.2.1)"
  ),
  Command.withSubcommands([
    Serve.command,
    Ping.command,
    Request.echo,
    Request.send,
    Cert.command,
    Keygen.command,
    ConfigCommand.command,
    Demo.command
  ])
)

const formatter = (): CliOutput.Formatter => {
  const base = CliOutput.defaultFormatter({ globalFlags: "summary" })
  return {
    ...base,
    formatError: (error) => `np: ${error.message}`,
    formatErrors: (errors) => errors.map((error) => `np: ${error.message}`).join("\n")
  }
}

/**
 * Help on standard output; usage errors on standard error, with a pointer to
 * `--help` rather than the whole help text.
 *
 * @category output
 * @since 0.1.0
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.flatMap(Effect.service(CliOutput.Formatter), (format) => {
      switch (event._tag) {
        case "Help":
          return Console.log(format.formatHelpDoc(event.helpDoc))
        case "InvalidInvocation":
          return Console.error(
            `${format.formatErrors(event.errors)}\nRun '${event.commandPath.join(" ")} --help' for usage.`
          )
        case "Version":
          return Console.log(format.formatVersion(event.name, event.version))
      }
    })
}

/**
 * What the commands need: Node's platform services, and the CLI settings of
 * `np` (built-in flags `--help` and `--version` only, its output format).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<NodeServices.NodeServices> = Layer.mergeAll(
  NodeServices.layer,
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
  CliOutput.layer(formatter()),
  CliOutput.layerPresenter(presenter)
)

/**
 * Runs `np` with the process arguments.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Command.run(np, { version }).pipe(Effect.provide(layer))
