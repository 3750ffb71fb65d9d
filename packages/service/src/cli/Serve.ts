/**
 * `np serve`: runs the daemon until SIGINT or SIGTERM, then shuts it down
 * gracefully (new connections refused, requests already read answered for up
 * to `server.shutdown_timeout`) and exits 0.
 *
 * When the daemon is ready, one line containing `listening on <address>` is
 * printed on standard output (with port 0, the port actually bound), or with
 * `--json` one JSON object `{"event":"listening",...}`.
 *
 * The opt-in extended profile (`docs/PROTOCOL.md`, `docs/SECURITY.md`) is
 * enabled by any of `--identity`, `--require-extended`, `--trusted-client`,
 * `--require-client-auth`, `--compression`, `--cipher` (TCP and Unix sockets only);
 * without them the daemon speaks exactly the crate's profile. With
 * `--identity`, the line before the listening line gives the identity's
 * fingerprint (`identity` in the JSON object), which clients pin with
 * `np ping --server-key`.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Crypto from "@network-protocol/core/Crypto"
import type * as Identity from "@network-protocol/core/Identity"
import * as Logging from "@network-protocol/core/Logging"
import * as Tls from "@network-protocol/transport/Tls"
import * as Daemon from "../Daemon.ts"
import * as CliFailure from "./CliFailure.ts"
import * as Handlers from "./Handlers.ts"
import * as Settings from "./Settings.ts"
import * as Signals from "./Signals.ts"

const flags = {
  config: Settings.configFlag,
  address: Flag.String("address").pipe(
    Flag.withAlias("a"),
    Flag.withMetavar("HOST:PORT"),
    Flag.withDescription("listen address, ip:port (default: server.address, 127.0.0.1:9000); port 0 picks a free port"),
    Flag.optional
  ),
  uds: Flag.String("uds").pipe(
    Flag.withMetavar("PATH"),
    Flag.withDescription("listen on a Unix domain socket instead of TCP"),
    Flag.optional
  ),
  tlsCert: Flag.String("tls-cert").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("serve TLS (the crate's TLS profile) with this certificate chain (PEM)"),
    Flag.optional
  ),
  tlsKey: Flag.String("tls-key").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("the private key of --tls-cert (PEM)"),
    Flag.optional
  ),
  tlsCa: Flag.String("tls-ca").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("require client certificates issued by this CA (mutual TLS)"),
    Flag.optional
  ),
  idleTimeout: Settings.positiveInt("idle-timeout").pipe(
    Flag.withMetavar("MS"),
    Flag.withDescription("close connections with no application message for this long"),
    Flag.optional
  ),
  demoHandlers: Flag.Boolean("demo-handlers").pipe(
    Flag.withDescription("also answer the UPPER and STATS commands of `np demo`"),
    Flag.withDefault(false)
  ),
  identity: Flag.String("identity").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription(
      "extended profile: authenticate the daemon with this private key (from `np keygen`); clients pin its fingerprint"
    ),
    Flag.optional
  ),
  requireExtended: Flag.Boolean("require-extended").pipe(
    Flag.withDescription("extended profile: refuse clients that only speak the crate's profile"),
    Flag.withDefault(false)
  ),
  trustedClient: Flag.String("trusted-client").pipe(
    Flag.withMetavar("FINGERPRINT|PUBFILE"),
    Flag.withDescription(
      "extended profile: accept only clients authenticating with this identity (sha256:<hex> fingerprint, ed25519:<hex> key, or a public key file; repeatable); implies --require-client-auth"
    ),
    Flag.atLeast(0)
  ),
  requireClientAuth: Flag.Boolean("require-client-auth").pipe(
    Flag.withDescription("extended profile: require clients to authenticate with an identity (implies --require-extended)"),
    Flag.withDefault(false)
  ),
  compression: Settings.compressionFlag(
    "extended profile: accept this compression (repeatable, in order of preference)"
  ),
  cipher: Settings.cipherFlag(
    "extended profile: accept this AEAD for the data frames (repeatable, in order of preference; xchacha20-poly1305 is always accepted, and chosen when nothing listed before it is offered)"
  ),
  json: Settings.jsonFlag
}

type Flags = Command.Command.Config.Infer<typeof flags>

const usesExtended = (options: Flags): boolean =>
  Option.isSome(options.identity) || options.requireExtended || options.trustedClient.length > 0 ||
  options.requireClientAuth || options.compression.length > 0 || options.cipher.length > 0

/** The daemon's extended-profile options, or `undefined` for exactly the crate's profile. */
const resolveSecurity = Effect.fnUntraced(function*(
  options: Flags
): Effect.fn.Return<Daemon.Security | undefined, CliFailure.CliFailure, FileSystem.FileSystem> {
  if (!usesExtended(options)) return undefined
  const trusted: Array<Identity.Pin> = []
  for (const key of options.trustedClient) trusted.push(yield* Settings.keyPin("--trusted-client", key))
  const identity = Option.isSome(options.identity)
    ? yield* Settings.loadIdentity("--identity", options.identity.value)
    : undefined
  return {
    ...(identity === undefined ? {} : { identity }),
    ...(options.requireExtended ? { require: true } : {}),
    ...(trusted.length > 0 ? { trustedClients: trusted } : {}),
    ...(options.requireClientAuth ? { requireClientAuth: true } : {}),
    ...(options.compression.length > 0 ? { compression: options.compression } : {}),
    ...(options.cipher.length > 0 ? { ciphers: options.cipher } : {})
  }
})

const describeTransport = (listen: Daemon.Listen, security: Daemon.Security | undefined): string => {
  if ("tls" in listen) return "tls, plain profile inside TLS"
  const transport = "unix" in listen ? "unix" : "tcp"
  if (security === undefined) return `${transport}, secure profile`
  const required = security.require === true || security.requireClientAuth === true ||
    security.trustedClients !== undefined
  return `${transport}, extended profile${required ? " required" : ", secure profile fallback"}`
}

const resolveListen = Effect.fnUntraced(function*(
  options: Flags,
  serverAddress: string
): Effect.fn.Return<{ readonly listen: Daemon.Listen; readonly pin: string | undefined }, CliFailure.CliFailure> {
  if (Option.isSome(options.uds) && Option.isSome(options.address)) {
    return yield* CliFailure.usage("give either --address or --uds, not both")
  }
  const tls = Option.isSome(options.tlsCert) || Option.isSome(options.tlsKey) || Option.isSome(options.tlsCa)
  if (tls && Option.isSome(options.uds)) {
    return yield* CliFailure.usage("TLS runs over TCP: --uds does not go with --tls-cert/--tls-key/--tls-ca")
  }
  if (tls && usesExtended(options)) {
    return yield* CliFailure.usage(
      "the extended profile runs over TCP or a Unix socket, not TLS: --identity, --require-extended, --trusted-client, --require-client-auth, --compression and --cipher do not go with --tls-cert/--tls-key/--tls-ca"
    )
  }
  if (Option.isSome(options.uds)) return { listen: { unix: { path: options.uds.value } }, pin: undefined }
  const address = yield* Settings.serverAddress(serverAddress)
  if (!tls) return { listen: { tcp: address }, pin: undefined }
  if (Option.isNone(options.tlsCert) || Option.isNone(options.tlsKey)) {
    return yield* CliFailure.usage("TLS needs both --tls-cert and --tls-key")
  }
  const server: Tls.ServerConfig = {
    cert: Tls.file(options.tlsCert.value),
    key: Tls.file(options.tlsKey.value),
    clientCa: Option.isSome(options.tlsCa) ? Tls.file(options.tlsCa.value) : undefined
  }
  // validated before listening, so a bad certificate or key is a usage error
  const context = yield* Tls.makeServerContext(server).pipe(CliFailure.mapFailure("TLS", CliFailure.EXIT_USAGE))
  return { listen: { tls: { host: address.host, port: address.port, tls: context } }, pin: context.fingerprintSha256 }
})

const handler = Effect.fnUntraced(function*(options: Flags) {
  const config = yield* Settings.loadConfig(options.config, {
    server: Option.isSome(options.address) ? { address: options.address.value } : {}
  })
  const { listen, pin } = yield* resolveListen(options, config.server.address)
  const security = yield* resolveSecurity(options)
  const identity = security?.identity?.fingerprint
  const daemonLayer = Daemon.layer({
    security,
    listen,
    config: config.server,
    dispatcher: options.demoHandlers ? Handlers.dispatcher : undefined,
    idleTimeout: Option.isSome(options.idleTimeout) ? Duration.millis(options.idleTimeout.value) : undefined,
    maxPayloadSize: config.transport.max_payload_size
  })
  const shutdownTimeout = Duration.format(config.server.shutdown_timeout)

  const running = Effect.gen(function*() {
    const daemon = yield* Daemon.Daemon
    const crypto = yield* Crypto.Crypto
    // from here on, SIGINT / SIGTERM is the normal way to stop: exit code 0
    yield* Signals.setInterruptExitCode(0)
    if (options.json) {
      yield* Console.log(JSON.stringify({
        event: "listening",
        address: daemon.address,
        port: daemon.port ?? null,
        transport: "unix" in listen ? "unix" : "tls" in listen ? "tls" : "tcp",
        crypto: crypto.name,
        ...(pin === undefined ? {} : { pinSha256: pin }),
        ...(security === undefined ? {} : { profile: "extended" }),
        ...(identity === undefined ? {} : { identity }),
        pid: process.pid
      }))
    } else {
      if (pin !== undefined) yield* Console.log(`np serve: certificate sha256 pin ${pin}`)
      if (identity !== undefined) yield* Console.log(`np serve: identity ${identity} (clients pin it with --server-key)`)
      yield* Console.log(
        `np serve: listening on ${daemon.address} (${
          describeTransport(listen, security)
        }, crypto ${crypto.name}, pid ${process.pid})`
      )
    }
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        options.json
          ? Effect.void
          : Effect.flatMap(daemon.connections, (open) =>
            Console.log(
              `np serve: shutting down (${open} connection${open === 1 ? "" : "s"} open, draining for up to ${shutdownTimeout})`
            ))
      )
    )
  })

  yield* running.pipe(
    Effect.provide(Layer.provideMerge(daemonLayer, Crypto.layerDefault)),
    CliFailure.mapFailure("cannot start the daemon"),
    Effect.onInterrupt(() => options.json ? Console.log(JSON.stringify({ event: "stopped" })) : Console.log("np serve: stopped")),
    Effect.provide(Logging.layer(config.logging)),
    // the daemon's failures are CliFailures already; what is left is the logging set-up
    CliFailure.mapFailure("logging", CliFailure.EXIT_USAGE)
  )
})

/**
 * The `serve` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("serve", flags, handler).pipe(
  Command.withDescription(
    "Run a daemon (secure TCP by default; Unix socket with --uds; TLS with --tls-cert/--tls-key) until SIGINT/SIGTERM, then shut down gracefully"
  ),
  Command.withExamples([
    { command: "np serve --address 127.0.0.1:9000", description: "secure TCP daemon on port 9000" },
    { command: "np serve --address 127.0.0.1:0 --json", description: "pick a free port and report it as JSON" },
    {
      command: "np serve --address 127.0.0.1:9443 --tls-cert certs/cert.pem --tls-key certs/key.pem",
      description: "TLS daemon with a certificate from `np cert`"
    },
    {
      command: "np serve --address 127.0.0.1:9000 --identity keys/identity.key",
      description: "extended profile with a server identity from `np keygen` (crate clients still served)"
    },
    {
      command: "np serve --identity keys/identity.key --trusted-client keys/client.pub --compression zstd",
      description: "extended profile only, for the client whose key is keys/client.pub"
    }
  ])
)
