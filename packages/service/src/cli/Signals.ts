/**
 * Exit codes of `np` and how signals map to them.
 *
 * `NodeRuntime.runMain` interrupts the main fiber on SIGINT / SIGTERM, which
 * by default exits 130. For `np serve` a signal is the normal way to stop,
 * so once the daemon is ready the command sets the code of an interruption
 * to 0 (`setInterruptExitCode`), and `teardown` uses it. Command-line parse
 * errors exit 2 instead of the CLI module's 1.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import * as CliError from "effect/cli/CliError"
import * as CliFailure from "./CliFailure.ts"

let interruptExitCode = 130

/**
 * Sets the exit code of the process when its main fiber is interrupted (by
 * SIGINT or SIGTERM). Default 130.
 *
 * @category signals
 * @since 0.1.0
 */
export const setInterruptExitCode = (code: number): Effect.Effect<void> =>
  Effect.sync(() => {
    interruptExitCode = code
  })

/**
 * The teardown of `np`: `Runtime.defaultTeardown`, except that an
 * interruption exits with the code set by `setInterruptExitCode` and a
 * command-line usage error exits 2.
 *
 * @category signals
 * @since 0.1.0
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isFailure(exit)) {
    if (Cause.hasInterruptsOnly(exit.cause)) return onExit(interruptExitCode)
    const error = Cause.squash(exit.cause)
    if (CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length > 0) {
      return onExit(CliFailure.EXIT_USAGE)
    }
  }
  return Runtime.defaultTeardown(exit, onExit)
}
