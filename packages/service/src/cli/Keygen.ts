/**
 * `np keygen`: an Ed25519 identity for the extended profile (`docs/SECURITY.md`):
 * the private key as PKCS#8 PEM (`<name>.key`, mode 0600) and the public key
 * as SPKI PEM (`<name>.pub`) in `--out`, and the fingerprint clients pin
 * (`Client.Options.security.pin`). `--show FILE` prints the fingerprint of an
 * existing key file (public or private) instead.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Identity from "@network-protocol/core/Identity"
import * as CliFailure from "./CliFailure.ts"
import * as Settings from "./Settings.ts"

const flags = {
  out: Flag.String("out").pipe(
    Flag.withMetavar("DIR"),
    Flag.withDescription("directory for <name>.key and <name>.pub (created if missing)"),
    Flag.optional
  ),
  name: Flag.String("name").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("base name of the files (default: identity)"),
    Flag.withDefault("identity")
  ),
  show: Flag.String("show").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("print the fingerprint of an existing key file (public or private PEM) instead"),
    Flag.optional
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("replace existing files"),
    Flag.withDefault(false)
  ),
  json: Settings.jsonFlag
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

const report = Effect.fnUntraced(function*(
  json: boolean,
  publicKey: Uint8Array,
  files: { readonly keyFile?: string | undefined; readonly publicKeyFile?: string | undefined; readonly shown?: string }
) {
  const fingerprint = Identity.formatFingerprint(Identity.fingerprintOf(publicKey))
  if (json) {
    return yield* Console.log(JSON.stringify({ ...files, fingerprint, publicKey: `ed25519:${toHex(publicKey)}` }))
  }
  if (files.keyFile !== undefined) yield* Console.log(`private key  ${files.keyFile}  (Ed25519, PKCS#8 PEM, mode 0600)`)
  if (files.publicKeyFile !== undefined) yield* Console.log(`public key   ${files.publicKeyFile}  (SPKI PEM)`)
  if (files.shown !== undefined) yield* Console.log(`key file     ${files.shown}`)
  yield* Console.log(`fingerprint  ${fingerprint}`)
})

const handler = Effect.fnUntraced(function*(options: Command.Command.Config.Infer<typeof flags>) {
  if (Option.isSome(options.show)) {
    if (Option.isSome(options.out)) return yield* CliFailure.usage("give either --out or --show, not both")
    const publicKey = yield* Identity.loadPublicKey(options.show.value).pipe(
      CliFailure.mapFailure(undefined, CliFailure.EXIT_USAGE)
    )
    return yield* report(options.json, publicKey, { shown: options.show.value })
  }
  if (Option.isNone(options.out)) return yield* CliFailure.usage("--out DIR is required (or --show FILE)")
  if (!/^[A-Za-z0-9._-]+$/.test(options.name)) {
    return yield* CliFailure.usage(`--name must be a plain file name, got "${options.name}"`)
  }
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const directory = path.resolve(options.out.value)
  yield* fs.makeDirectory(directory, { recursive: true }).pipe(CliFailure.mapFailure(`cannot create ${directory}`))
  const keyPath = path.join(directory, `${options.name}.key`)
  const publicKeyPath = path.join(directory, `${options.name}.pub`)
  const identity = Identity.generate()
  yield* Identity.save(identity, { keyPath, publicKeyPath, overwrite: options.force }).pipe(
    CliFailure.mapFailure(options.force ? undefined : "cannot write the files (--force replaces existing ones)")
  )
  yield* report(options.json, identity.publicKey, { keyFile: keyPath, publicKeyFile: publicKeyPath })
})

/**
 * The `keygen` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("keygen", flags, handler).pipe(
  Command.withDescription(
    "Generate an Ed25519 identity for the extended profile (server or client authentication) and print its fingerprint"
  ),
  Command.withExamples([
    {
      command: "np keygen --out keys",
      description: "writes keys/identity.key (keep secret) and keys/identity.pub; clients pin the printed fingerprint"
    },
    { command: "np keygen --show keys/identity.pub", description: "prints the fingerprint of an existing key" }
  ])
)
