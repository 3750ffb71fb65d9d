/**
 * Telling transport failures apart. Socket failures are `ProtocolError`s with
 * an `Io` reason (or `TlsError` for TLS) whose `cause` is the Node error; its
 * `code` is the errno name (`ECONNREFUSED`, `EADDRINUSE`, `EACCES`, …), which
 * is also quoted in the reason's `detail`.
 *
 * ```ts
 * import * as ErrorCode from "@network-protocol/transport/ErrorCode"
 * Tcp.connect({ host: "127.0.0.1", port }).pipe(
 *   Effect.catchIf(ErrorCode.isConnectionRefused, () => Effect.succeed(undefined))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Errors from "./internal/errors.ts"

/**
 * The Node error code (errno name such as `ECONNREFUSED`, or a TLS code such
 * as `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`) behind a transport error,
 * if there is one.
 *
 * @category accessors
 * @since 0.1.0
 */
export const get = (error: unknown): string | undefined => {
  if (!ProtocolError.isProtocolError(error)) return Errors.codeOf(error)
  const reason = error.reason
  return "cause" in reason ? Errors.codeOf(reason.cause) : undefined
}

/**
 * The peer refused the connection (`ECONNREFUSED`): nothing listens there, or
 * a Unix socket file is stale.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isConnectionRefused = (error: unknown): boolean => get(error) === "ECONNREFUSED"

/**
 * The listen address is taken (`EADDRINUSE`), including a Unix socket path
 * where a live server listens.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isAddressInUse = (error: unknown): boolean => get(error) === "EADDRINUSE"

/**
 * The operating system denied the operation (`EACCES` or `EPERM`): a
 * privileged port, or a Unix socket path in a directory that is not writable.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isPermissionDenied = (error: unknown): boolean => {
  const code = get(error)
  return code === "EACCES" || code === "EPERM"
}

/**
 * The peer reset the connection (`ECONNRESET`) or it broke while writing
 * (`EPIPE`).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isConnectionReset = (error: unknown): boolean => {
  const code = get(error)
  return code === "ECONNRESET" || code === "EPIPE"
}
