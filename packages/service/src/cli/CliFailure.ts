/**
 * The one error type of the `np` commands: a message for the user and the
 * process exit code. `Command.run` prints the message (it carries
 * `CliError.userMessage`) on standard error, and `NodeRuntime.runMain` exits
 * with the code (it carries `Runtime.errorExitCode`).
 *
 * Exit codes: `1` for an operation that did not succeed (no reply, connection
 * refused, lost pings), `2` for a usage or configuration error.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as CliError from "effect/cli/CliError"
import * as ProtocolError from "@network-protocol/core/ProtocolError"

/**
 * Exit code of an operation that did not succeed.
 *
 * @category constants
 * @since 0.1.0
 */
export const EXIT_FAILURE = 1

/**
 * Exit code of a usage or configuration error.
 *
 * @category constants
 * @since 0.1.0
 */
export const EXIT_USAGE = 2

/**
 * A failed command: what to tell the user and how to exit.
 *
 * @category errors
 * @since 0.1.0
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  message: Schema.String,
  exitCode: Schema.Number
}) {
  /** Rendered by `Command.run` on standard error. */
  override readonly [CliError.userMessage] = this.message
  /** Used by `NodeRuntime.runMain` as the process exit code. */
  override readonly [Runtime.errorExitCode] = this.exitCode
}

/**
 * A failure with exit code 1.
 *
 * @category constructors
 * @since 0.1.0
 */
export const failed = (message: string): CliFailure => new CliFailure({ message, exitCode: EXIT_FAILURE })

/**
 * A usage or configuration failure, exit code 2.
 *
 * @category constructors
 * @since 0.1.0
 */
export const usage = (message: string): CliFailure => new CliFailure({ message, exitCode: EXIT_USAGE })

/**
 * Tells whether a value is a `CliFailure`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isCliFailure = (u: unknown): u is CliFailure => u instanceof CliFailure

/**
 * Turns any error into a `CliFailure`: a `CliFailure` is kept, a
 * `ProtocolError` becomes `context: message` with the given exit code
 * (default 1), anything else its string form.
 *
 * @category conversions
 * @since 0.1.0
 */
export const fromError = (error: unknown, context?: string, exitCode: number = EXIT_FAILURE): CliFailure => {
  if (isCliFailure(error)) return error
  const text = ProtocolError.isProtocolError(error)
    ? error.message
    : error instanceof Error
    ? error.message
    : String(error)
  return new CliFailure({ message: context === undefined ? text : `${context}: ${text}`, exitCode })
}

/**
 * Maps the failures of an effect to `CliFailure`s (see `fromError`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const mapFailure = (context?: string, exitCode: number = EXIT_FAILURE) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, CliFailure, R> =>
  Effect.mapError(self, (error) => fromError(error, context, exitCode))
