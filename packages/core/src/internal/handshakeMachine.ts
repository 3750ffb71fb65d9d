/**
 * What the handshake machines (the crate's, `Handshake.ts`, and the extended
 * profile's, `ExtendedHandshake.ts`, client and server) share: `pipe`, and
 * ending — a failure wipes the secrets and leaves the machine `Failed`;
 * `destroy` wipes them too and fails a machine that is not done.
 *
 * @internal
 */
import * as Pipeable from "effect/Pipeable"
import * as Result from "effect/Result"
import * as ProtocolError from "../ProtocolError.ts"

/** @internal */
export abstract class Machine<Phase extends string> {
  pipe() {
    return Pipeable.pipeArguments(this, arguments)
  }

  abstract phase: Phase | "Done" | "Failed"

  /** Wipes and drops the secrets the machine holds. */
  protected abstract wipe(): void

  readonly destroy = (): void => {
    this.wipe()
    if (this.phase !== "Done") this.phase = "Failed"
  }

  /** Fails the machine with a `HandshakeError`. */
  protected fail(detail: string): Result.Result<never, ProtocolError.ProtocolError> {
    return this.failWith(ProtocolError.make(new ProtocolError.HandshakeError({ detail })))
  }

  /** Fails the machine with `error`. */
  protected failWith(error: ProtocolError.ProtocolError): Result.Result<never, ProtocolError.ProtocolError> {
    this.wipe()
    this.phase = "Failed"
    return Result.fail(error)
  }
}
