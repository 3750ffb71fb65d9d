/**
 * Framed connections over TLS (`node:tls`, TLS 1.2 minimum, 1.3 by default),
 * with mutual TLS, certificate pinning and session resumption.
 *
 * **Server** (`listen`): a certificate chain and its private key; optionally
 * a CA whose certificates clients must present (mTLS: a client without a
 * certificate that CA issued is dropped right after the handshake and never
 * reaches the handler; `requireClientCertificate: false` makes presenting one
 * optional, which the crate's flag of that name promises but does not do);
 * ALPN `["h2", "http/1.1"]` by default, like the crate. TLS versions and
 * cipher suites are honoured (the crate ignores them, SPEC §15.1 #7).
 *
 * **Client** (`connect`): the server name (SNI and the identity checked),
 * trusted CAs (Node's root store by default), an optional client certificate,
 * and a verification mode:
 *
 * - `"full"` (default): the chain must verify and the name must match; pins,
 *   if given, are checked **in addition**.
 * - `"pin-only"`: for self-signed servers. The chain and name are not
 *   checked; the server's end-entity certificate must match a pin (SHA-256 of
 *   its DER). OpenSSL still verifies the handshake signature with that
 *   certificate's key, so only the holder of the private key can present it
 *   — unlike the crate, whose pinning verifier skips that check (SPEC §15.1 #6).
 * - `"none"`: accepts any server (logs a warning). Testing only.
 *
 * Certificates and keys are read and validated when a `ServerContext` /
 * `ClientContext` is made (`makeServerContext`, `makeClientContext`, or
 * implicitly by `listen` / `connect`). Problems are `TlsError` reasons whose
 * `cause` is a `TlsConfigError` naming the file and what is wrong with it.
 *
 * @since 0.1.0
 */
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as NodeTls from "node:tls"
import type * as Connection from "./Connection.ts"
import * as Connect from "./internal/connect.ts"
import * as InternalConnection from "./internal/connection.ts"
import * as Errors from "./internal/errors.ts"
import * as InternalServer from "./internal/server.ts"
import type * as Server from "./Server.ts"
import * as SessionCache from "./SessionCache.ts"

// -----------------------------------------------------------------------------
// PEM sources and configuration errors
// -----------------------------------------------------------------------------

/**
 * Where PEM text comes from: a file, or the text itself.
 *
 * @category models
 * @since 0.1.0
 */
export type PemSource =
  | { readonly _tag: "File"; readonly path: string }
  | {
    readonly _tag: "Pem"
    readonly pem: string | Uint8Array | Redacted.Redacted<string>
    readonly name?: string | undefined
  }

/**
 * PEM text read from a file.
 *
 * @category constructors
 * @since 0.1.0
 */
export const file = (path: string): PemSource => ({ _tag: "File", path })

/**
 * PEM text given directly. `name` is used in error messages (default
 * `"inline PEM"`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const pem = (text: string | Uint8Array | Redacted.Redacted<string>, name?: string): PemSource => ({
  _tag: "Pem",
  pem: text,
  name
})

/**
 * What a configuration problem is about.
 *
 * @category errors
 * @since 0.1.0
 */
export const TlsConfigErrorKind = Schema.Literals([
  "FileNotFound",
  "FileUnreadable",
  "MalformedPem",
  "NoCertificate",
  "NotAPrivateKey",
  "UnsupportedKeyType",
  "KeyMismatch",
  "InvalidPin",
  "InvalidOption"
])

/**
 * A certificate, key or option that cannot be used. It is the `cause` of the
 * `TlsError` reason that `listen`, `connect` and the context constructors fail
 * with; `configError` extracts it.
 *
 * @category errors
 * @since 0.1.0
 */
export class TlsConfigError extends Schema.Error<TlsConfigError>("network-protocol/transport/Tls/TlsConfigError")({
  _tag: Schema.tag("TlsConfigError"),
  kind: TlsConfigErrorKind,
  /** `"certificate"`, `"private key"`, `"CA certificate"`, `"client certificate"`, `"pin"`, … */
  subject: Schema.String,
  /** The file path, or the name of the inline PEM. */
  source: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.subject} ${this.source}: ${this.detail}`
  }
}

/**
 * The `TlsConfigError` behind a `ProtocolError`, if that is what it is.
 *
 * @category errors
 * @since 0.1.0
 */
export const configError = (error: unknown): TlsConfigError | undefined => {
  if (!ProtocolError.isProtocolError(error) || error.reason._tag !== "TlsError") return undefined
  const cause = error.reason.cause
  return cause instanceof TlsConfigError ? cause : undefined
}

const fail = (
  kind: TlsConfigError["kind"],
  subject: string,
  source: string,
  detail: string,
  cause?: unknown
): Effect.Effect<never, ProtocolError.ProtocolError> => {
  const error = new TlsConfigError(
    cause === undefined ? { kind, subject, source, detail } : { kind, subject, source, detail, cause }
  )
  return Effect.fail(ProtocolError.make(new ProtocolError.TlsError({ detail: error.message, cause: error })))
}

const sourceName = (source: PemSource): string =>
  source._tag === "File" ? source.path : source.name ?? "inline PEM"

const readSource = (source: PemSource, subject: string): Effect.Effect<string, ProtocolError.ProtocolError> => {
  if (source._tag === "Pem") {
    const value = Redacted.isRedacted(source.pem) ? Redacted.value(source.pem) : source.pem
    return Effect.succeed(typeof value === "string" ? value : new TextDecoder().decode(value))
  }
  return Effect.callback((resume) => {
    Fs.readFile(source.path, "utf8", (error, text) => {
      if (error === null) return resume(Effect.succeed(text))
      resume(
        error.code === "ENOENT"
          ? fail("FileNotFound", subject, source.path, "file not found", error)
          : fail("FileUnreadable", subject, source.path, `cannot read the file: ${error.message}`, error)
      )
    })
  })
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

const pemBlocks = (text: string): Array<{ readonly label: string; readonly text: string }> =>
  Array.from(text.matchAll(blockPattern), (match) => ({ label: match[1], text: match[0] }))

const loadCertificates = Effect.fnUntraced(function*(source: PemSource, subject: string) {
  const text = yield* readSource(source, subject)
  const blocks = pemBlocks(text).filter((block) => block.label === "CERTIFICATE")
  if (blocks.length === 0) {
    const labels = pemBlocks(text).map((block) => block.label)
    return yield* fail(
      labels.length === 0 ? "MalformedPem" : "NoCertificate",
      subject,
      sourceName(source),
      labels.length === 0 ? "no PEM data found" : `no certificates found (found ${labels.join(", ")})`
    )
  }
  const certificates: Array<Crypto.X509Certificate> = []
  for (let i = 0; i < blocks.length; i++) {
    try {
      certificates.push(new Crypto.X509Certificate(blocks[i].text))
    } catch (cause) {
      return yield* fail("MalformedPem", subject, sourceName(source), `certificate #${i + 1} cannot be parsed`, cause)
    }
  }
  return { pem: blocks.map((block) => block.text).join("\n") + "\n", certificates }
})

const supportedKeyTypes = new Set(["rsa", "rsa-pss", "ec", "ed25519", "ed448"])

const loadPrivateKey = Effect.fnUntraced(function*(source: PemSource, subject: string) {
  const text = yield* readSource(source, subject)
  const blocks = pemBlocks(text)
  const keyBlock = blocks.find((block) => block.label.endsWith("PRIVATE KEY"))
  if (keyBlock === undefined) {
    return yield* fail(
      blocks.length === 0 ? "MalformedPem" : "NotAPrivateKey",
      subject,
      sourceName(source),
      blocks.length === 0
        ? "no PEM data found"
        : `no private key found (found ${blocks.map((block) => block.label).join(", ")})`
    )
  }
  let key: Crypto.KeyObject
  try {
    key = Crypto.createPrivateKey({ key: keyBlock.text, format: "pem" })
  } catch (cause) {
    const code = Errors.codeOf(cause)
    return yield* fail(
      "MalformedPem",
      subject,
      sourceName(source),
      code === "ERR_MISSING_PASSPHRASE"
        ? "the private key is encrypted (passphrases are not supported)"
        : `the ${keyBlock.label} block cannot be parsed`,
      cause
    )
  }
  const type = key.asymmetricKeyType ?? "unknown"
  if (!supportedKeyTypes.has(type)) {
    return yield* fail(
      "UnsupportedKeyType",
      subject,
      sourceName(source),
      `a ${type} key cannot sign TLS handshakes (use ECDSA, RSA or Ed25519)`
    )
  }
  return { pem: keyBlock.text + "\n", key }
})

const loadIdentity = Effect.fnUntraced(function*(certSource: PemSource, keySource: PemSource, subject: string) {
  const chain = yield* loadCertificates(certSource, subject)
  const key = yield* loadPrivateKey(keySource, "private key")
  if (!chain.certificates[0].checkPrivateKey(key.key)) {
    return yield* fail(
      "KeyMismatch",
      "private key",
      sourceName(keySource),
      `does not match the ${subject} in ${sourceName(certSource)}`
    )
  }
  return { cert: chain.pem, key: Redacted.make(key.pem), certificates: chain.certificates }
})

/**
 * A TLS protocol version.
 *
 * @category models
 * @since 0.1.0
 */
export type Version = "TLSv1.2" | "TLSv1.3"

const checkCiphers = (ciphers: string | undefined): Effect.Effect<string | undefined, ProtocolError.ProtocolError> => {
  if (ciphers === undefined) return Effect.succeed(undefined)
  try {
    NodeTls.createSecureContext({ ciphers })
    return Effect.succeed(ciphers)
  } catch (cause) {
    const detail = `OpenSSL accepts none of ${JSON.stringify(ciphers)}`
    return fail("InvalidOption", "ciphers", "configuration", detail, cause)
  }
}

const checkVersions = (
  minVersion: Version | undefined,
  maxVersion: Version | undefined
): Effect.Effect<{ readonly minVersion: Version; readonly maxVersion: Version }, ProtocolError.ProtocolError> => {
  const min = minVersion ?? "TLSv1.2"
  const max = maxVersion ?? "TLSv1.3"
  const valid = (version: string) => version === "TLSv1.2" || version === "TLSv1.3"
  if (!valid(min) || !valid(max) || (min === "TLSv1.3" && max === "TLSv1.2")) {
    return fail("InvalidOption", "TLS versions", "configuration", `invalid range ${min}..${max} (TLS 1.2 minimum)`)
  }
  return Effect.succeed({ minVersion: min, maxVersion: max })
}

// -----------------------------------------------------------------------------
// Server
// -----------------------------------------------------------------------------

/**
 * The TLS configuration of a server.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerConfig {
  /** The certificate chain, end-entity certificate first. */
  readonly cert: PemSource
  /** Its private key (PKCS#8, SEC1 or PKCS#1 PEM; ECDSA, RSA or Ed25519). */
  readonly key: PemSource
  /** Verify client certificates against these CAs (mTLS). */
  readonly clientCa?: PemSource | undefined
  /**
   * With `clientCa`: whether a client must present a certificate. Default
   * `true`. With `false`, a client without one is served (unauthenticated);
   * a client presenting one that does not verify is still refused.
   */
  readonly requireClientCertificate?: boolean | undefined
  /** OpenSSL cipher list (TLS 1.2 and 1.3 suite names). Default: Node's. */
  readonly ciphers?: string | undefined
  /** ALPN protocols offered. Default `["h2", "http/1.1"]` (the crate's default); `[]` for none. */
  readonly alpnProtocols?: ReadonlyArray<string> | undefined
  /** Default `"TLSv1.2"`. */
  readonly minVersion?: Version | undefined
  /** Default `"TLSv1.3"`. */
  readonly maxVersion?: Version | undefined
  /** A connection that has not completed its handshake by then is dropped. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.Input | undefined
}

const ServerContextTypeId = "~network-protocol/transport/Tls/ServerContext" as const

/**
 * A validated server configuration, ready to listen with.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerContext {
  readonly [ServerContextTypeId]: typeof ServerContextTypeId
  /** The certificate chain, PEM. */
  readonly cert: string
  readonly key: Redacted.Redacted<string>
  /** mTLS: the CAs whose client certificates are accepted, PEM. */
  readonly clientCa: string | undefined
  readonly requireClientCertificate: boolean
  readonly ciphers: string | undefined
  readonly alpnProtocols: ReadonlyArray<string>
  readonly minVersion: Version
  readonly maxVersion: Version
  readonly handshakeTimeout: Duration.Duration
  /** SHA-256 of the server's end-entity certificate: the pin clients use. */
  readonly fingerprintSha256: string
}

/**
 * Reads and validates a server configuration.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServerContext: (config: ServerConfig) => Effect.Effect<ServerContext, ProtocolError.ProtocolError> =
  Effect.fnUntraced(function*(config: ServerConfig) {
    const identity = yield* loadIdentity(config.cert, config.key, "certificate")
    const clientCa = config.clientCa === undefined
      ? undefined
      : yield* loadCertificates(config.clientCa, "client CA certificate")
    const versions = yield* checkVersions(config.minVersion, config.maxVersion)
    return {
      [ServerContextTypeId]: ServerContextTypeId,
      cert: identity.cert,
      key: identity.key,
      clientCa: clientCa?.pem,
      requireClientCertificate: config.requireClientCertificate ?? true,
      ciphers: yield* checkCiphers(config.ciphers),
      alpnProtocols: config.alpnProtocols ?? ["h2", "http/1.1"],
      minVersion: versions.minVersion,
      maxVersion: versions.maxVersion,
      handshakeTimeout: Duration.fromInputUnsafe(config.handshakeTimeout ?? Duration.seconds(10)),
      fingerprintSha256: Crypto.createHash("sha256").update(identity.certificates[0].raw).digest("hex")
    }
  })

const serverOptions = (context: ServerContext): NodeTls.TlsOptions => ({
  cert: context.cert,
  key: Redacted.value(context.key),
  minVersion: context.minVersion,
  maxVersion: context.maxVersion,
  handshakeTimeout: Duration.toMillis(context.handshakeTimeout),
  ...(context.ciphers === undefined ? {} : { ciphers: context.ciphers }),
  ...(context.alpnProtocols.length === 0 ? {} : { ALPNProtocols: [...context.alpnProtocols] }),
  // Node checks the client's chain after the handshake and, with
  // rejectUnauthorized, drops a client it rejects without a word; `listen`
  // does that check itself so that it can report it (`onHandshakeError`)
  ...(context.clientCa === undefined ? {} : { ca: context.clientCa, requestCert: true, rejectUnauthorized: false })
})

/**
 * Options of `listen`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ListenOptions extends Connection.Options {
  /** Default `"127.0.0.1"`. */
  readonly host?: string | undefined
  /** `0` picks a free port. */
  readonly port: number
  readonly tls: ServerConfig | ServerContext
  readonly maxConnections?: number | undefined
  readonly backlog?: number | undefined
  /**
   * Called (synchronously, from the socket event) when a client is refused:
   * its handshake failed (protocol mismatch, …) or, with mTLS, it presented
   * no certificate or one the client CA did not issue. The connection is
   * dropped either way.
   */
  readonly onHandshakeError?: ((error: ProtocolError.ProtocolError) => void) | undefined
}

/**
 * A listening TLS server.
 *
 * @category models
 * @since 0.1.0
 */
export interface TlsServer extends Server.Server {
  readonly host: string
  readonly port: number
  /** SHA-256 of the server's end-entity certificate, lowercase hex. */
  readonly fingerprintSha256: string
}

const isServerContext = (u: unknown): u is ServerContext => Predicate.hasProperty(u, ServerContextTypeId)

/**
 * Listens for TLS connections on a TCP address. Connections reach the
 * handler after a successful handshake; see `Server`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = (options: ListenOptions): Effect.Effect<TlsServer, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const context = isServerContext(options.tls) ? options.tls : yield* makeServerContext(options.tls)
    const host = options.host ?? "127.0.0.1"
    const server = NodeTls.createServer({ ...serverOptions(context), noDelay: true })
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections
    const onHandshakeError = options.onHandshakeError
    server.on("tlsClientError", (error, socket) => {
      socket.destroy()
      if (onHandshakeError !== undefined) {
        onHandshakeError(
          (error as Errors.NodeError).syscall === undefined
            ? Errors.tls("TLS handshake failed", error)
            : Errors.io("TLS handshake failed", error)
        )
      }
    })
    const admit = context.clientCa !== undefined
      ? (socket: Net.Socket) => {
        const tlsSocket = socket as NodeTls.TLSSocket
        if (tlsSocket.authorized) return undefined
        const presented = InternalConnection.peerFingerprint(tlsSocket) !== undefined
        if (!presented && !context.requireClientCertificate) return undefined
        const reason = String(tlsSocket.authorizationError)
        return Errors.tls(
          `client certificate rejected: ${presented ? reason : "none presented"}`,
          Object.assign(new Error(reason), { code: reason })
        )
      }
      : undefined
    const made = yield* InternalServer.make({
      server,
      readyEvent: "secureConnection",
      listen: { host, port: options.port, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) },
      label: InternalServer.formatHostPort(host, options.port),
      noDelay: true,
      describe: (socket) => InternalConnection.describe(socket, "tls"),
      connection: { maxPayloadSize: options.maxPayloadSize, closeTimeout: options.closeTimeout },
      admit,
      onRejected: onHandshakeError
    })
    const inet = yield* InternalServer.inetServer(made, server)
    return { ...inet, fingerprintSha256: context.fingerprintSha256 }
  })

// -----------------------------------------------------------------------------
// Client
// -----------------------------------------------------------------------------

/**
 * How a client checks the server. See the module notes.
 *
 * @category models
 * @since 0.1.0
 */
export type Verification = "full" | "pin-only" | "none"

/**
 * The TLS configuration of a client.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientConfig {
  /** The name sent as SNI and checked against the certificate. Default: the host connected to. */
  readonly serverName?: string | undefined
  /** Trusted CAs. Default: Node's root store. */
  readonly ca?: PemSource | undefined
  /** A client certificate, for servers that require one (mTLS). */
  readonly cert?: PemSource | undefined
  /** The client certificate's private key. */
  readonly key?: PemSource | undefined
  /** Default `"full"`. */
  readonly verify?: Verification | undefined
  /**
   * SHA-256 of accepted server end-entity certificates (DER): hex (colons
   * allowed) or 32 bytes. Required with `"pin-only"`, an extra check with
   * `"full"`.
   */
  readonly pins?: ReadonlyArray<string | Uint8Array> | undefined
  /** ALPN protocols offered. Default none (like the crate's client). */
  readonly alpnProtocols?: ReadonlyArray<string> | undefined
  /** OpenSSL cipher list (TLS 1.2 and 1.3 suite names). Default: Node's. */
  readonly ciphers?: string | undefined
  /** Default `"TLSv1.2"`. */
  readonly minVersion?: Version | undefined
  /** Default `"TLSv1.3"`. */
  readonly maxVersion?: Version | undefined
  /** Resume sessions through this cache (see `SessionCache`). */
  readonly sessionCache?: SessionCache.SessionCache | undefined
}

const ClientContextTypeId = "~network-protocol/transport/Tls/ClientContext" as const

/**
 * A validated client configuration, ready to connect with. Making it once and
 * reusing it avoids reading files and building the OpenSSL context on every
 * connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientContext {
  readonly [ClientContextTypeId]: typeof ClientContextTypeId
  readonly secureContext: NodeTls.SecureContext
  readonly serverName: string | undefined
  readonly verify: Verification
  /** Lowercase hex. */
  readonly pins: ReadonlySet<string>
  readonly alpnProtocols: ReadonlyArray<string> | undefined
  readonly sessionCache: SessionCache.SessionCache | undefined
}

const parsePin = (pin: string | Uint8Array): string | undefined => {
  if (typeof pin !== "string") return pin.length === 32 ? Buffer.from(pin).toString("hex") : undefined
  const hex = pin.replace(/:/g, "").toLowerCase()
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined
}

/**
 * Reads and validates a client configuration.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClientContext: (config: ClientConfig) => Effect.Effect<ClientContext, ProtocolError.ProtocolError> =
  Effect.fnUntraced(function*(config: ClientConfig) {
    const verify = config.verify ?? "full"
    if (verify !== "full" && verify !== "pin-only" && verify !== "none") {
      return yield* fail("InvalidOption", "verify", "configuration", `unknown verification mode ${String(verify)}`)
    }
    const pins = new Set<string>()
    for (const pin of config.pins ?? []) {
      const parsed = parsePin(pin)
      if (parsed === undefined) {
        return yield* fail(
          "InvalidPin",
          "pin",
          "configuration",
          "a pin is the SHA-256 of a certificate: 64 hex digits or 32 bytes"
        )
      }
      pins.add(parsed)
    }
    if (verify === "pin-only" && pins.size === 0) {
      return yield* fail("InvalidOption", "verify", "configuration", "\"pin-only\" needs at least one pin")
    }
    if (verify === "none" && pins.size > 0) {
      return yield* fail("InvalidOption", "verify", "configuration", "pins need \"full\" or \"pin-only\", not \"none\"")
    }
    if ((config.cert === undefined) !== (config.key === undefined)) {
      return yield* fail("InvalidOption", "client certificate", "configuration", "cert and key go together")
    }
    const ca = config.ca === undefined ? undefined : yield* loadCertificates(config.ca, "CA certificate")
    const identity = config.cert !== undefined && config.key !== undefined
      ? yield* loadIdentity(config.cert, config.key, "client certificate")
      : undefined
    const versions = yield* checkVersions(config.minVersion, config.maxVersion)
    const ciphers = yield* checkCiphers(config.ciphers)
    let secureContext: NodeTls.SecureContext
    try {
      secureContext = NodeTls.createSecureContext({
        minVersion: versions.minVersion,
        maxVersion: versions.maxVersion,
        ...(ciphers === undefined ? {} : { ciphers }),
        ...(ca === undefined ? {} : { ca: ca.pem }),
        ...(identity === undefined ? {} : { cert: identity.cert, key: Redacted.value(identity.key) })
      })
    } catch (cause) {
      return yield* fail("InvalidOption", "TLS context", "configuration", "OpenSSL rejected the configuration", cause)
    }
    if (verify === "none") {
      yield* Effect.logWarning("TLS client configured with verify: \"none\": any server is accepted")
    }
    return {
      [ClientContextTypeId]: ClientContextTypeId,
      secureContext,
      serverName: config.serverName,
      verify,
      pins,
      alpnProtocols: config.alpnProtocols,
      sessionCache: config.sessionCache
    }
  })

/**
 * Options of `connect`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectOptions extends Connection.Options {
  readonly host: string
  readonly port: number
  readonly tls: ClientConfig | ClientContext
  /** Bounds the TCP connect, the handshake and the verification. Default 10 seconds (a `Timeout` reason). */
  readonly connectTimeout?: Duration.Input | undefined
}

const isClientContext = (u: unknown): u is ClientContext => Predicate.hasProperty(u, ClientContextTypeId)

/**
 * The end-entity certificate fingerprints of the sessions this module put in
 * session caches: a resumed TLS 1.3 session carries no certificate, so the
 * pin is checked against the one the session was first established with.
 */
const sessionFingerprints = new WeakMap<Uint8Array, string>()

const verifyPeer = (
  context: ClientContext,
  socket: NodeTls.TLSSocket,
  session: Uint8Array | undefined
): { readonly fingerprint: string | undefined; readonly failure: ProtocolError.ProtocolError | undefined } => {
  const presented = InternalConnection.peerFingerprint(socket)
  const fingerprint = presented ?? (socket.isSessionReused() && session !== undefined
    ? sessionFingerprints.get(session)
    : undefined)
  if (context.pins.size === 0) return { fingerprint, failure: undefined }
  if (fingerprint === undefined) {
    return { fingerprint, failure: Errors.tls("certificate pinning: the server presented no certificate") }
  }
  if (!context.pins.has(fingerprint)) {
    return {
      fingerprint,
      failure: Errors.tls(`certificate pinning: the server certificate (sha256 ${fingerprint}) matches no pin`)
    }
  }
  return { fingerprint, failure: undefined }
}

/**
 * Connects to a TLS server, completes and verifies the handshake, and frames
 * the connection, which belongs to the current scope.
 *
 * **Details**
 *
 * A verification failure (untrusted chain, wrong name, pin mismatch) or a
 * handshake refused by the server is a `TlsError` reason; socket errors are
 * `Io` reasons as with `Tcp.connect`.
 *
 * **Gotchas**
 *
 * With TLS 1.3 a server refuses a client certificate only after the client
 * has finished its handshake, so `connect` succeeds and the refusal surfaces
 * on the first `receive`: a `TlsError` when the server sent an alert (a rustls
 * server does), `ConnectionClosed` when it just closed (a Node server does).
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (
  options: ConnectOptions
): Effect.Effect<Connection.Connection, ProtocolError.ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const context = isClientContext(options.tls) ? options.tls : yield* makeClientContext(options.tls)
    const identity = context.serverName ?? options.host
    const sni = Net.isIP(identity) === 0 ? identity : undefined
    const cache = context.sessionCache
    const cacheKey = SessionCache.key(options.host, options.port, context.serverName)
    const session = cache?.getUnsafe(cacheKey)
    let verified: string | undefined
    let peerFingerprint: string | undefined
    let latestSession: Buffer | undefined
    const store = (issued: Buffer) => {
      if (cache === undefined || verified === undefined) return
      const stored = new Uint8Array(issued)
      if (verified !== "") sessionFingerprints.set(stored, verified)
      cache.setUnsafe(cacheKey, stored)
    }
    return yield* Connect.connect<NodeTls.TLSSocket>({
      create: () => {
        const socket = NodeTls.connect({
          host: options.host,
          port: options.port,
          secureContext: context.secureContext,
          rejectUnauthorized: context.verify === "full",
          checkServerIdentity: context.verify === "full"
            ? (_host, certificate) => NodeTls.checkServerIdentity(identity, certificate)
            : () => undefined,
          ...(sni === undefined ? {} : { servername: sni }),
          ...(context.alpnProtocols === undefined ? {} : { ALPNProtocols: [...context.alpnProtocols] }),
          ...(session === undefined
            ? {}
            : { session: Buffer.from(session.buffer, session.byteOffset, session.byteLength) })
        })
        socket.setNoDelay(true)
        if (cache !== undefined) {
          socket.on("session", (issued: Buffer) => {
            if (verified !== undefined) store(issued)
            else latestSession = issued
          })
        }
        return socket
      },
      readyEvent: "secureConnect",
      label: InternalServer.formatHostPort(options.host, options.port),
      tls: true,
      verify: (socket) => {
        const { failure, fingerprint } = verifyPeer(context, socket, session)
        if (failure !== undefined) {
          cache?.invalidateUnsafe(cacheKey)
          return failure
        }
        verified = fingerprint ?? ""
        peerFingerprint = fingerprint
        if (latestSession !== undefined) store(latestSession)
        return undefined
      },
      connectTimeout: options.connectTimeout,
      maxPayloadSize: options.maxPayloadSize,
      closeTimeout: options.closeTimeout,
      describe: (socket) => InternalConnection.describe(socket, "tls", undefined, peerFingerprint)
    }).pipe(Effect.tapError(() => Effect.sync(() => cache?.invalidateUnsafe(cacheKey))))
  })
