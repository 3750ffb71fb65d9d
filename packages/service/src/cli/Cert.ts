/**
 * `np cert`: a self-signed ECDSA P-256 certificate and its PKCS#8 private key
 * for `np serve --tls-cert/--tls-key`, written as `cert.pem` and `key.pem`
 * (mode 0600) in `--out`, and the SHA-256 pin clients pass to `--pin`.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Certificate from "@network-protocol/transport/Certificate"
import * as Net from "node:net"
import * as CliFailure from "./CliFailure.ts"
import * as Settings from "./Settings.ts"

const flags = {
  cn: Flag.String("cn").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("subject common name (also the SAN when no --san is given)")
  ),
  out: Flag.String("out").pipe(
    Flag.withMetavar("DIR"),
    Flag.withDescription("directory for cert.pem and key.pem (created if missing)")
  ),
  san: Flag.String("san").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("subject alternative name, a DNS name or an IP address (repeatable)"),
    Flag.atLeast(0)
  ),
  days: Settings.positiveInt("days").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("validity in days (default 365)"),
    Flag.withDefault(365)
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("replace existing files"),
    Flag.withDefault(false)
  ),
  json: Settings.jsonFlag
}

const handler = Effect.fnUntraced(function*(options: Command.Command.Config.Infer<typeof flags>) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = options.san.length > 0 ? options.san : [options.cn]
  const ipAddresses = names.filter((name) => Net.isIP(name) !== 0)
  const dnsNames = names.filter((name) => Net.isIP(name) === 0)
  const certificate = yield* Certificate.generate({
    commonName: options.cn,
    dnsNames,
    ipAddresses,
    validity: Duration.days(options.days)
  }).pipe(CliFailure.mapFailure(undefined, CliFailure.EXIT_USAGE))
  const directory = path.resolve(options.out)
  yield* fs.makeDirectory(directory, { recursive: true }).pipe(CliFailure.mapFailure(`cannot create ${directory}`))
  const certPath = path.join(directory, "cert.pem")
  const keyPath = path.join(directory, "key.pem")
  yield* Certificate.writeFiles(certificate, { certPath, keyPath, overwrite: options.force }).pipe(
    CliFailure.mapFailure(options.force ? undefined : "cannot write the files (--force replaces existing ones)")
  )
  const san = [...dnsNames.map((name) => `DNS:${name}`), ...ipAddresses.map((ip) => `IP:${ip}`)]
  if (options.json) {
    yield* Console.log(JSON.stringify({
      cert: certPath,
      key: keyPath,
      commonName: options.cn,
      subjectAltNames: san,
      days: options.days,
      pinSha256: certificate.fingerprintSha256
    }))
  } else {
    yield* Console.log(`certificate  ${certPath}  (ECDSA P-256, CN=${options.cn}, ${san.join(", ")}, ${options.days} days)`)
    yield* Console.log(`private key  ${keyPath}  (PKCS#8, mode 0600)`)
    yield* Console.log(`sha256 pin   ${certificate.fingerprintSha256}`)
  }
})

/**
 * The `cert` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("cert", flags, handler).pipe(
  Command.withDescription("Generate a self-signed ECDSA P-256 certificate and PKCS#8 key, and print its SHA-256 pin"),
  Command.withExamples([
    {
      command: "np cert --cn localhost --san localhost --san 127.0.0.1 --out certs",
      description: "then: np serve --tls-cert certs/cert.pem --tls-key certs/key.pem"
    }
  ])
)
