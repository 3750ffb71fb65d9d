/**
 * Mapping Node socket errors to `ProtocolError`s.
 *
 * @internal
 */
import * as ProtocolError from "@network-protocol/core/ProtocolError"

/** @internal */
export interface NodeError extends Error {
  readonly code?: string | undefined
  readonly syscall?: string | undefined
  readonly errno?: number | undefined
  readonly library?: string | undefined
}

/** @internal */
export const isNodeError = (u: unknown): u is NodeError => u instanceof Error

/** @internal */
export const codeOf = (u: unknown): string | undefined =>
  isNodeError(u) && typeof u.code === "string" ? u.code : undefined

const describeCode: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EPIPE: "broken pipe",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTSOCK: "not a socket",
  EEXIST: "file exists"
}

const messageOf = (cause: unknown): string => {
  if (!isNodeError(cause)) return String(cause)
  const code = cause.code
  if (code !== undefined && describeCode[code] !== undefined) return `${describeCode[code]} (${code})`
  return code !== undefined && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message
}

/**
 * Whether an error comes from TLS (OpenSSL, certificate verification or
 * Node's TLS layer) rather than from the socket itself. Errors with a
 * `syscall` are socket errors.
 *
 * @internal
 */
export const isTlsFailure = (cause: unknown): boolean => {
  if (!isNodeError(cause) || cause.syscall !== undefined) return false
  const code = cause.code ?? ""
  return code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || cause.library !== undefined ||
    // OpenSSL certificate verification codes (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, …)
    (/^[A-Z][A-Z0-9_]+$/.test(code) && !code.startsWith("E") && !code.startsWith("ERR_")) ||
    code === "EE_KEY_TOO_SMALL"
}

/** An `Io` reason for a Node error, `context` saying what was being done. @internal */
export const io = (context: string, cause: unknown): ProtocolError.ProtocolError =>
  ProtocolError.make(new ProtocolError.Io({ detail: `${context}: ${messageOf(cause)}`, cause }))

/** A `TlsError` reason. @internal */
export const tls = (context: string, cause?: unknown): ProtocolError.ProtocolError =>
  ProtocolError.make(
    new ProtocolError.TlsError(
      cause === undefined ? { detail: context } : { detail: `${context}: ${messageOf(cause)}`, cause }
    )
  )

/** `TlsError` for TLS failures, `Io` for everything else. @internal */
export const fromNode = (context: string, cause: unknown): ProtocolError.ProtocolError =>
  isTlsFailure(cause) ? tls(context, cause) : io(context, cause)

/** @internal */
export const connectionClosed: ProtocolError.ProtocolError = ProtocolError.make(new ProtocolError.ConnectionClosed())

/** @internal */
export const timeout = (detail: string): ProtocolError.ProtocolError =>
  ProtocolError.make(new ProtocolError.Timeout({ detail }))

/** @internal */
export const truncated = (buffered: number): ProtocolError.ProtocolError =>
  ProtocolError.make(
    new ProtocolError.Io({ detail: `stream ended in the middle of a frame (${buffered} bytes remaining on stream)` })
  )
