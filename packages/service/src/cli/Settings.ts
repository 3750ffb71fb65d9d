/**
 * What the `np` commands share: the effective configuration (TOML file, then
 * environment variables, then command-line flags, then validation), address
 * parsing, and the client flags (`--address`, `--uds`, `--tls`, `--ca`,
 * `--pin`, ...) turned into `Client` options, with the extended-profile flags
 * (`--server-key`, `--require-extended`, `--identity`, `--compression`,
 * `--cipher`) turned into `Client.Options.security`.
 *
 * `--pin` is the TLS certificate pin only; the extended profile's server
 * identity pin is `--server-key`.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Flag from "effect/cli/Flag"
import type * as Compression from "@network-protocol/core/Compression"
import * as Identity from "@network-protocol/core/Identity"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import type * as ProtocolError from "@network-protocol/core/ProtocolError"
import type * as SecureEnvelope from "@network-protocol/core/SecureEnvelope"
import * as Tls from "@network-protocol/transport/Tls"
import type * as Client from "../Client.ts"
import * as CliFailure from "./CliFailure.ts"

// -----------------------------------------------------------------------------
// configuration
// -----------------------------------------------------------------------------

/**
 * Loads the effective configuration: the TOML file when given (else the
 * defaults), the `NETWORK_PROTOCOL_*` environment variables over it, then the
 * overrides from command-line flags, then validation (`validateStrict` with
 * warnings allowed; warnings are printed on standard error). Any problem is a
 * `CliFailure` with exit code 2.
 *
 * @category configuration
 * @since 0.1.0
 */
export const loadConfig = Effect.fnUntraced(function*(
  file: Option.Option<string>,
  overrides: NetworkConfig.Overrides = {}
): Effect.fn.Return<NetworkConfig.NetworkConfig, CliFailure.CliFailure | ProtocolError.ProtocolError, FileSystem.FileSystem> {
  const base = Option.isSome(file) ? yield* NetworkConfig.fromFile(file.value) : NetworkConfig.defaults
  const withEnv = yield* NetworkConfig.applyEnv(base)
  const config = yield* Effect.try({
    try: () => NetworkConfig.update(withEnv, overrides),
    catch: (cause) => CliFailure.usage(`invalid option: ${cause instanceof Error ? cause.message : String(cause)}`)
  })
  yield* NetworkConfig.validateStrict(config, { allowWarnings: true })
  for (const warning of NetworkConfig.diagnose(config).warnings) {
    yield* Console.error(`np: warning: ${warning.replace(/^WARNING: /, "")}`)
  }
  return config
}, CliFailure.mapFailure(undefined, CliFailure.EXIT_USAGE))

// -----------------------------------------------------------------------------
// addresses
// -----------------------------------------------------------------------------

/**
 * A TCP address.
 *
 * @category models
 * @since 0.1.0
 */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/**
 * Parses `host:port`, `ip:port` or `[ipv6]:port`; the port is 0 to 65535.
 *
 * @category addresses
 * @since 0.1.0
 */
export const parseHostPort = (text: string): Option.Option<HostPort> => {
  const colon = text.lastIndexOf(":")
  if (colon <= 0) return Option.none()
  const rawHost = text.slice(0, colon)
  const host = rawHost.startsWith("[") && rawHost.endsWith("]") ? rawHost.slice(1, -1) : rawHost
  const portText = text.slice(colon + 1)
  if (host === "" || !/^[0-9]{1,5}$/.test(portText)) return Option.none()
  const port = Number(portText)
  return port > 65535 ? Option.none() : Option.some({ host, port })
}

/**
 * Formats a TCP address, bracketing IPv6 hosts.
 *
 * @category addresses
 * @since 0.1.0
 */
export const formatHostPort = (address: HostPort): string =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

const hostPortOrFail = (text: string, flag: string): Effect.Effect<HostPort, CliFailure.CliFailure> =>
  Option.match(parseHostPort(text), {
    onNone: () => Effect.fail(CliFailure.usage(`${flag}: expected host:port, got '${text}'`)),
    onSome: Effect.succeed
  })

// -----------------------------------------------------------------------------
// flags
// -----------------------------------------------------------------------------

/**
 * `--config FILE`: a TOML configuration file.
 *
 * @category flags
 * @since 0.1.0
 */
export const configFlag: Flag.Flag<Option.Option<string>> = Flag.String("config").pipe(
  Flag.withMetavar("FILE"),
  Flag.withDescription("TOML configuration file (NETWORK_PROTOCOL_* environment variables apply on top)"),
  Flag.optional
)

/**
 * `--json`: machine-readable output.
 *
 * @category flags
 * @since 0.1.0
 */
export const jsonFlag: Flag.Flag<boolean> = Flag.Boolean("json").pipe(
  Flag.withDescription("print one JSON document instead of text"),
  Flag.withDefault(false)
)

/**
 * A non-negative integer flag.
 *
 * @category flags
 * @since 0.1.0
 */
export const nonNegativeInt = (name: string): Flag.Flag<number> =>
  Flag.Int(name).pipe(
    Flag.filterMap(
      (n) => Number.isSafeInteger(n) && n >= 0 ? Option.some(n) : Option.none(),
      (n) => `--${name}: expected a non-negative integer, got ${n}`
    )
  )

/**
 * A positive integer flag.
 *
 * @category flags
 * @since 0.1.0
 */
export const positiveInt = (name: string): Flag.Flag<number> =>
  Flag.Int(name).pipe(
    Flag.filterMap(
      (n) => Number.isSafeInteger(n) && n > 0 ? Option.some(n) : Option.none(),
      (n) => `--${name}: expected a positive integer, got ${n}`
    )
  )

/**
 * `--compression lz4|zstd` (repeatable, in order of preference): the
 * compression of the extended profile.
 *
 * @category flags
 * @since 0.1.0
 */
export const compressionFlag = (description: string): Flag.Flag<ReadonlyArray<Compression.Kind>> =>
  Flag.Literals("compression", ["lz4", "zstd"]).pipe(
    Flag.withMetavar("lz4|zstd"),
    Flag.withDescription(description),
    Flag.atLeast(0)
  )

/**
 * `--cipher xchacha20-poly1305|aes-256-gcm` (repeatable, in order of
 * preference): the AEAD of the extended profile's data frames.
 * XChaCha20-Poly1305 is always accepted; AES-256-GCM only when listed.
 *
 * @category flags
 * @since 0.1.0
 */
export const cipherFlag = (description: string): Flag.Flag<ReadonlyArray<SecureEnvelope.Cipher>> =>
  Flag.Literals("cipher", ["xchacha20-poly1305", "aes-256-gcm"]).pipe(
    Flag.withMetavar("xchacha20-poly1305|aes-256-gcm"),
    Flag.withDescription(description),
    Flag.atLeast(0)
  )

/**
 * The flags that say where and how a client connects.
 *
 * @category flags
 * @since 0.1.0
 */
export const clientFlags = {
  config: configFlag,
  address: Flag.String("address").pipe(
    Flag.withAlias("a"),
    Flag.withMetavar("HOST:PORT"),
    Flag.withDescription("daemon address (default: client.address of the configuration, 127.0.0.1:9000)"),
    Flag.optional
  ),
  uds: Flag.String("uds").pipe(
    Flag.withMetavar("PATH"),
    Flag.withDescription("connect to a Unix domain socket instead of TCP"),
    Flag.optional
  ),
  timeout: positiveInt("timeout").pipe(
    Flag.withMetavar("MS"),
    Flag.withDescription("response timeout in milliseconds (default: client.response_timeout, 30000)"),
    Flag.optional
  ),
  tls: Flag.Boolean("tls").pipe(
    Flag.withDescription("connect over TLS (the crate's TLS profile); implied by --ca, --pin, --insecure"),
    Flag.withDefault(false)
  ),
  ca: Flag.String("ca").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("TLS: trust this CA certificate (PEM) instead of the system roots"),
    Flag.optional
  ),
  pin: Flag.String("pin").pipe(
    Flag.withMetavar("SHA256"),
    Flag.withDescription("TLS: accept a server certificate with this SHA-256 fingerprint (repeatable; alone, it replaces chain checks)"),
    Flag.atLeast(0)
  ),
  insecure: Flag.Boolean("insecure").pipe(
    Flag.withDescription("TLS: accept any server certificate (testing only)"),
    Flag.withDefault(false)
  ),
  serverName: Flag.String("server-name").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("TLS: the name sent as SNI and checked against the certificate (default: the host)"),
    Flag.optional
  ),
  serverKey: Flag.String("server-key").pipe(
    Flag.withMetavar("FINGERPRINT|PUBFILE"),
    Flag.withDescription(
      "extended profile: accept only a server with this identity (sha256:<hex> fingerprint, ed25519:<hex> key, or a public key file from `np keygen`; repeatable); implies --require-extended"
    ),
    Flag.atLeast(0)
  ),
  requireExtended: Flag.Boolean("require-extended").pipe(
    Flag.withDescription("extended profile: refuse a server that only speaks the crate's profile"),
    Flag.withDefault(false)
  ),
  identity: Flag.String("identity").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("extended profile: authenticate with this private key (from `np keygen`) when the server asks"),
    Flag.optional
  ),
  compression: compressionFlag("extended profile: offer this compression (repeatable, in order of preference)"),
  cipher: cipherFlag(
    "extended profile: offer this AEAD for the data frames (repeatable, in order of preference; xchacha20-poly1305 is always accepted)"
  )
}

/**
 * The values of `clientFlags`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientFlags {
  readonly config: Option.Option<string>
  readonly address: Option.Option<string>
  readonly uds: Option.Option<string>
  readonly timeout: Option.Option<number>
  readonly tls: boolean
  readonly ca: Option.Option<string>
  readonly pin: ReadonlyArray<string>
  readonly insecure: boolean
  readonly serverName: Option.Option<string>
  readonly serverKey: ReadonlyArray<string>
  readonly requireExtended: boolean
  readonly identity: Option.Option<string>
  readonly compression: ReadonlyArray<Compression.Kind>
  readonly cipher: ReadonlyArray<SecureEnvelope.Cipher>
}

/**
 * Where a client connects, resolved from its flags and the configuration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Target {
  /** Options for `Client.make`. */
  readonly options: Client.Options
  /** The address as shown to the user. */
  readonly label: string
  /** The effective configuration. */
  readonly config: NetworkConfig.NetworkConfig
}

const tlsClientConfig = (flags: ClientFlags): Effect.Effect<Tls.ClientConfig, CliFailure.CliFailure> => {
  if (flags.insecure && flags.pin.length > 0) {
    return Effect.fail(CliFailure.usage("--insecure and --pin do not go together"))
  }
  const verify: Tls.Verification = flags.insecure
    ? "none"
    : flags.pin.length > 0 && Option.isNone(flags.ca)
    ? "pin-only"
    : "full"
  return Effect.succeed({
    verify,
    pins: flags.pin,
    ca: Option.isSome(flags.ca) ? Tls.file(flags.ca.value) : undefined,
    serverName: Option.getOrUndefined(flags.serverName)
  })
}

// -----------------------------------------------------------------------------
// extended profile
// -----------------------------------------------------------------------------

/**
 * Reads an identity key argument: a fingerprint (`sha256:<64 hex digits>` or
 * `<64 hex digits>`) or a public key (`ed25519:<64 hex digits>`) is used as
 * it is; anything else is the path of a key file (SPKI or PKCS#8 PEM, as
 * written by `np keygen`), whose public key is used. A malformed value or an
 * unreadable file is a usage error (exit code 2).
 *
 * @category extended profile
 * @since 0.1.0
 */
export const keyPin = Effect.fnUntraced(function*(
  flag: string,
  text: string
): Effect.fn.Return<Identity.Pin, CliFailure.CliFailure, FileSystem.FileSystem> {
  if (Result.isSuccess(Identity.pinFingerprint(text))) return text.trim()
  const fs = yield* FileSystem.FileSystem
  const exists = yield* fs.exists(text).pipe(Effect.orElseSucceed(() => false))
  if (!exists) {
    return yield* CliFailure.usage(
      `${flag}: "${text}" is neither a fingerprint (sha256:<64 hex digits>, ed25519:<64 hex digits>) nor a key file`
    )
  }
  return yield* Identity.loadPublicKey(text).pipe(CliFailure.mapFailure(flag, CliFailure.EXIT_USAGE))
})

/**
 * Loads a private identity key file (`--identity`); a missing or invalid file
 * is a usage error (exit code 2).
 *
 * @category extended profile
 * @since 0.1.0
 */
export const loadIdentity = (flag: string, path: string): Effect.Effect<Identity.Identity, CliFailure.CliFailure> =>
  Identity.load(path).pipe(CliFailure.mapFailure(flag, CliFailure.EXIT_USAGE))

const usesExtended = (flags: ClientFlags): boolean =>
  flags.serverKey.length > 0 || flags.requireExtended || Option.isSome(flags.identity) || flags.compression.length > 0 ||
  flags.cipher.length > 0

/**
 * The client's extended-profile options from its flags, or `undefined` when
 * none of `--server-key`, `--require-extended`, `--identity`, `--compression`,
 * `--cipher` is given (the crate's handshake, byte for byte).
 *
 * @category extended profile
 * @since 0.1.0
 */
export const clientSecurity = Effect.fnUntraced(function*(
  flags: ClientFlags
): Effect.fn.Return<Client.Security | undefined, CliFailure.CliFailure, FileSystem.FileSystem> {
  if (!usesExtended(flags)) return undefined
  const pins: Array<Identity.Pin> = []
  for (const key of flags.serverKey) pins.push(yield* keyPin("--server-key", key))
  const identity = Option.isSome(flags.identity) ? yield* loadIdentity("--identity", flags.identity.value) : undefined
  return {
    ...(pins.length > 0 ? { pin: pins } : {}),
    ...(flags.requireExtended ? { require: true } : {}),
    ...(identity === undefined ? {} : { identity }),
    ...(flags.compression.length > 0 ? { compression: flags.compression } : {}),
    ...(flags.cipher.length > 0 ? { ciphers: flags.cipher } : {})
  }
})

/**
 * Resolves the client flags: loads the configuration (with `--address` and
 * `--timeout` applied to its `[client]` section, and reconnection off: `np`
 * commands are one-shot), then builds the `Client` options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolveTarget = Effect.fnUntraced(function*(
  flags: ClientFlags
): Effect.fn.Return<Target, CliFailure.CliFailure, FileSystem.FileSystem> {
  if (Option.isSome(flags.address) && Option.isSome(flags.uds)) {
    return yield* CliFailure.usage("give either --address or --uds, not both")
  }
  const useTls = flags.tls || flags.insecure || flags.pin.length > 0 || Option.isSome(flags.ca)
  if (useTls && Option.isSome(flags.uds)) {
    return yield* CliFailure.usage("TLS runs over TCP: --uds does not go with --tls, --ca, --pin or --insecure")
  }
  if (useTls && usesExtended(flags)) {
    return yield* CliFailure.usage(
      "the extended profile runs over TCP or a Unix socket, not TLS: --server-key, --require-extended, --identity, --compression and --cipher do not go with --tls, --ca, --pin or --insecure"
    )
  }
  const security = yield* clientSecurity(flags)
  const config = yield* loadConfig(flags.config, {
    client: {
      auto_reconnect: false,
      ...(Option.isSome(flags.address) ? { address: flags.address.value } : {}),
      ...(Option.isSome(flags.timeout) ? { response_timeout: Duration.millis(flags.timeout.value) } : {})
    }
  })
  const maxPayloadSize = config.transport.max_payload_size
  if (Option.isSome(flags.uds)) {
    return {
      options: { connect: { unix: { path: flags.uds.value } }, config: config.client, maxPayloadSize, security },
      label: flags.uds.value,
      config
    }
  }
  const address = yield* hostPortOrFail(config.client.address, "--address")
  const label = formatHostPort(address)
  if (useTls) {
    const tls = yield* tlsClientConfig(flags)
    return {
      options: { connect: { tls: { host: address.host, port: address.port, tls } }, config: config.client, maxPayloadSize },
      label,
      config
    }
  }
  return {
    options: { connect: { tcp: address }, config: config.client, maxPayloadSize, security },
    label,
    config
  }
})

/**
 * Parses `--address` of the server side.
 *
 * @category addresses
 * @since 0.1.0
 */
export const serverAddress = (text: string): Effect.Effect<HostPort, CliFailure.CliFailure> =>
  hostPortOrFail(text, "server address")
