/**
 * What the envelope tests share: the two sides' keys of a handshake, and
 * reading `Result`s.
 */
import { assert } from "@effect/vitest"
import * as Result from "effect/Result"
import type * as ExtendedHandshake from "../src/ExtendedHandshake.ts"
import type * as ProtocolError from "../src/ProtocolError.ts"
import * as SecureEnvelope from "../src/SecureEnvelope.ts"

/** The client's and the server's keys from the client→server and server→client keys and IVs. */
export const sidesOf = (c2sKey: Uint8Array, s2cKey: Uint8Array, c2sIv: Uint8Array, s2cIv: Uint8Array) => ({
  clientKeys: { sendKey: c2sKey, receiveKey: s2cKey, sendIv: c2sIv, receiveIv: s2cIv } satisfies ExtendedHandshake.SessionKeys,
  serverKeys: { sendKey: s2cKey, receiveKey: c2sKey, sendIv: s2cIv, receiveIv: c2sIv } satisfies ExtendedHandshake.SessionKeys
})

/** The success, or a test failure. */
export const ok = <A>(result: Result.Result<A, ProtocolError.ProtocolError>): A => {
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

/** The failure, or a test failure. */
export const failure = (result: Result.Result<unknown, ProtocolError.ProtocolError>): ProtocolError.ProtocolError => {
  if (Result.isSuccess(result)) return assert.fail("expected a failure")
  return result.failure
}

/** The integrity violation of a failure, or a test failure. */
export const violationOf = (result: Result.Result<unknown, ProtocolError.ProtocolError>) => {
  const violation = SecureEnvelope.integrityViolation(failure(result))
  if (violation === undefined) return assert.fail(`expected an integrity violation, got ${failure(result).message}`)
  return { kind: violation.kind, expected: violation.expected, received: violation.received }
}
