/**
 * Long-term identity keys of the extended profile (see `ExtendedHandshake`):
 * Ed25519 key pairs, their fingerprints, pins, and the files they live in.
 *
 * - An {@link Identity} holds an Ed25519 private key (inside a `node:crypto`
 *   `KeyObject`) and its 32-byte raw public key. It signs handshake
 *   transcripts; the private key never leaves it except through
 *   {@link toPem}.
 * - The **fingerprint** of a public key is SHA-256 over its 32 raw bytes,
 *   written `sha256:` followed by 64 lowercase hex digits.
 * - A {@link Pin} is what a peer is checked against: the raw 32-byte public
 *   key, a fingerprint (`sha256:<hex>` or the 64 hex digits alone), or a
 *   public key written `ed25519:<64 hex digits>`.
 * - Files: the private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
 *   mode 0600), the public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`) —
 *   the formats `openssl genpkey -algorithm ed25519` and `openssl pkey
 *   -pubout` use, so keys can be made and inspected with OpenSSL as well as
 *   with `np keygen`.
 *
 * Parsing keys and pins never throws: malformed input is a `ProtocolError`
 * with a `ConfigError` reason (files: `Io`).
 *
 * Signing and verifying use libsodium (`sodium-native`, the optional native
 * dependency of `CryptoSodium`) when it loads — about 2× faster than
 * OpenSSL's Ed25519 here — and `node:crypto` otherwise. Ed25519 signatures
 * are deterministic (RFC 8032): both produce the same bytes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as ProtocolError from "./ProtocolError.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/Identity" as const

/**
 * Size of an Ed25519 public key and of a private key seed, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const KEY_SIZE = 32

/**
 * Size of an Ed25519 signature, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const SIGNATURE_SIZE = 64

/**
 * Size of a fingerprint (SHA-256), in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const FINGERPRINT_SIZE = 32

/**
 * A long-term Ed25519 identity.
 *
 * @category models
 * @since 0.1.0
 */
export interface Identity {
  readonly [TypeId]: typeof TypeId
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** `sha256:` + 64 hex digits: SHA-256 of {@link Identity.publicKey}. */
  readonly fingerprint: string
  /** An Ed25519 signature (64 bytes) of `data`. */
  readonly sign: (data: Uint8Array) => Uint8Array
  /** The private key, for {@link toPem}. */
  readonly privateKey: NodeCrypto.KeyObject
}

/**
 * A key a peer is checked against: its raw 32-byte public key, or a string —
 * `sha256:<64 hex>` or bare `<64 hex>` (a fingerprint), or `ed25519:<64 hex>`
 * (a public key).
 *
 * @category models
 * @since 0.1.0
 */
export type Pin = Uint8Array | string

/**
 * The PEM texts of an identity.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pem {
  /** PKCS#8 `PRIVATE KEY`. Keep it secret. */
  readonly privateKeyPem: string
  /** SPKI `PUBLIC KEY`. */
  readonly publicKeyPem: string
}

/**
 * Tells whether a value is an {@link Identity}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isIdentity = (u: unknown): u is Identity => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

// DER prefixes of Ed25519 keys (RFC 8410): SPKI and PKCS#8 with the key appended.
const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
const PKCS8_PREFIX = new Uint8Array([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20
])

const configError = (detail: string, cause?: unknown) =>
  ProtocolError.make(new ProtocolError.ConfigError(cause === undefined ? { detail } : { detail, cause }))

const errorText = (error: unknown): string => error instanceof Error ? error.message : String(error)

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

const HEX_64 = /^[0-9a-fA-F]{64}$/

const fromHex64 = (text: string): Uint8Array | undefined =>
  HEX_64.test(text) ? new Uint8Array(Buffer.from(text, "hex")) : undefined

const publicKeyObject = (publicKey: Uint8Array): NodeCrypto.KeyObject =>
  NodeCrypto.createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, publicKey)), format: "der", type: "spki" })

const rawPublicKey = (key: NodeCrypto.KeyObject): Uint8Array => {
  const der = key.export({ format: "der", type: "spki" })
  return new Uint8Array(der.subarray(der.length - KEY_SIZE))
}

/** The part of `sodium-native` used here. */
interface SodiumSign {
  readonly crypto_sign_seed_keypair: (pk: Uint8Array, sk: Uint8Array, seed: Uint8Array) => void
  readonly crypto_sign_detached: (sig: Uint8Array, m: Uint8Array, sk: Uint8Array) => void
  readonly crypto_sign_verify_detached: (sig: Uint8Array, m: Uint8Array, pk: Uint8Array) => boolean
}

const isSodiumSign = (u: unknown): u is SodiumSign =>
  Predicate.hasProperty(u, "crypto_sign_seed_keypair") && typeof u.crypto_sign_seed_keypair === "function" &&
  Predicate.hasProperty(u, "crypto_sign_detached") && typeof u.crypto_sign_detached === "function" &&
  Predicate.hasProperty(u, "crypto_sign_verify_detached") && typeof u.crypto_sign_verify_detached === "function"

let sodiumState: SodiumSign | null | undefined = undefined

/** `sodium-native`, loaded on first use; `undefined` when it does not load. */
const sodium = (): SodiumSign | undefined => {
  if (sodiumState === undefined) {
    try {
      const module: unknown = createRequire(import.meta.url)("sodium-native")
      sodiumState = isSodiumSign(module) ? module : null
    } catch {
      sodiumState = null
    }
  }
  return sodiumState ?? undefined
}

class IdentityImpl implements Identity {
  readonly [TypeId] = TypeId
  readonly publicKey: Uint8Array
  readonly fingerprint: string
  readonly privateKey: NodeCrypto.KeyObject

  /** libsodium's 64-byte secret key (seed ‖ public key), when libsodium is used. */
  private readonly sodiumKey: Uint8Array | undefined

  constructor(privateKey: NodeCrypto.KeyObject) {
    this.privateKey = privateKey
    this.publicKey = rawPublicKey(NodeCrypto.createPublicKey(privateKey))
    this.fingerprint = formatFingerprint(fingerprintOf(this.publicKey))
    const lib = sodium()
    if (lib === undefined) {
      this.sodiumKey = undefined
    } else {
      const der = privateKey.export({ format: "der", type: "pkcs8" })
      const seed = new Uint8Array(der.subarray(der.length - KEY_SIZE))
      der.fill(0)
      const publicKey = new Uint8Array(KEY_SIZE)
      this.sodiumKey = new Uint8Array(KEY_SIZE + KEY_SIZE)
      lib.crypto_sign_seed_keypair(publicKey, this.sodiumKey, seed)
      seed.fill(0)
    }
  }

  readonly sign = (data: Uint8Array): Uint8Array => {
    const lib = sodium()
    if (lib === undefined || this.sodiumKey === undefined) {
      return new Uint8Array(NodeCrypto.sign(null, data, this.privateKey))
    }
    const signature = new Uint8Array(SIGNATURE_SIZE)
    lib.crypto_sign_detached(signature, data, this.sodiumKey)
    return signature
  }

  toString(): string {
    return `Identity(${this.fingerprint})`
  }

  toJSON(): unknown {
    return { _id: "Identity", fingerprint: this.fingerprint }
  }
}

// -----------------------------------------------------------------------------
// fingerprints and verification
// -----------------------------------------------------------------------------

/**
 * The 32-byte fingerprint of a raw public key: SHA-256 of its bytes.
 *
 * @category fingerprints
 * @since 0.1.0
 */
export const fingerprintOf = (publicKey: Uint8Array): Uint8Array =>
  new Uint8Array(NodeCrypto.createHash("sha256").update(publicKey).digest())

/**
 * Writes a fingerprint as `sha256:` + 64 lowercase hex digits.
 *
 * @category fingerprints
 * @since 0.1.0
 */
export const formatFingerprint = (fingerprint: Uint8Array): string => `sha256:${toHex(fingerprint)}`

/**
 * Verifies an Ed25519 signature of `data` by the raw public key `publicKey`.
 * Never throws: a malformed key or signature is `false`.
 *
 * @category verification
 * @since 0.1.0
 */
export const verify = (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean => {
  if (publicKey.length !== KEY_SIZE || signature.length !== SIGNATURE_SIZE) return false
  try {
    const lib = sodium()
    if (lib !== undefined) return lib.crypto_sign_verify_detached(signature, data, publicKey)
    return NodeCrypto.verify(null, data, publicKeyObject(publicKey), signature)
  } catch {
    return false
  }
}

/**
 * The fingerprint a pin stands for (a public key pin is hashed), or a
 * `ConfigError` for a malformed pin.
 *
 * @category pins
 * @since 0.1.0
 */
export const pinFingerprint = (pin: Pin): Result.Result<Uint8Array, ProtocolError.ProtocolError> => {
  if (pin instanceof Uint8Array) {
    return pin.length === KEY_SIZE
      ? Result.succeed(fingerprintOf(pin))
      : Result.fail(configError(`a public key pin must be ${KEY_SIZE} bytes, got ${pin.length}`))
  }
  const text = pin.trim()
  const lower = text.toLowerCase()
  if (lower.startsWith("ed25519:")) {
    const key = fromHex64(text.slice(8))
    return key === undefined
      ? Result.fail(configError(`a public key pin is "ed25519:" followed by 64 hex digits, got "${pin}"`))
      : Result.succeed(fingerprintOf(key))
  }
  const fingerprint = fromHex64(lower.startsWith("sha256:") ? text.slice(7) : text)
  return fingerprint === undefined
    ? Result.fail(
      configError(`a pin is "sha256:<64 hex digits>", "<64 hex digits>" or "ed25519:<64 hex digits>", got "${pin}"`)
    )
    : Result.succeed(fingerprint)
}

/**
 * The fingerprints of several pins; the first malformed pin fails.
 *
 * @category pins
 * @since 0.1.0
 */
export const pinFingerprints = (
  pins: Pin | ReadonlyArray<Pin> | undefined
): Result.Result<ReadonlyArray<Uint8Array>, ProtocolError.ProtocolError> => {
  if (pins === undefined) return Result.succeed([])
  const list: ReadonlyArray<Pin> = typeof pins === "string" || pins instanceof Uint8Array ? [pins] : pins
  const out: Array<Uint8Array> = []
  for (const pin of list) {
    const fingerprint = pinFingerprint(pin)
    if (Result.isFailure(fingerprint)) return Result.fail(fingerprint.failure)
    out.push(fingerprint.success)
  }
  return Result.succeed(out)
}

/**
 * Whether a raw public key matches one of the pin fingerprints (compared in
 * constant time per pin).
 *
 * @category pins
 * @since 0.1.0
 */
export const matchesAny = (publicKey: Uint8Array, fingerprints: ReadonlyArray<Uint8Array>): boolean => {
  if (publicKey.length !== KEY_SIZE) return false
  const fingerprint = fingerprintOf(publicKey)
  let found = false
  for (const pinned of fingerprints) {
    if (pinned.length === FINGERPRINT_SIZE && NodeCrypto.timingSafeEqual(pinned, fingerprint)) found = true
  }
  return found
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * A fresh random identity.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generate = (): Identity => new IdentityImpl(NodeCrypto.generateKeyPairSync("ed25519").privateKey)

/**
 * The identity of a 32-byte Ed25519 seed (RFC 8032 private key). Fails with
 * `ConfigError` for a seed of the wrong size.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSeed = (seed: Uint8Array): Result.Result<Identity, ProtocolError.ProtocolError> => {
  if (seed.length !== KEY_SIZE) return Result.fail(configError(`an Ed25519 seed is ${KEY_SIZE} bytes, got ${seed.length}`))
  const der = Buffer.from(concat(PKCS8_PREFIX, seed))
  try {
    return Result.succeed(new IdentityImpl(NodeCrypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" })))
  } catch (cause) {
    return Result.fail(configError(`invalid Ed25519 seed: ${errorText(cause)}`, cause))
  } finally {
    der.fill(0)
  }
}

/**
 * The identity in a PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`) holding
 * an Ed25519 key. Fails with `ConfigError` for anything else.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromPem = (pem: string): Result.Result<Identity, ProtocolError.ProtocolError> => {
  let key: NodeCrypto.KeyObject
  try {
    key = NodeCrypto.createPrivateKey({ key: pem, format: "pem" })
  } catch (cause) {
    return Result.fail(configError(`not a PEM private key: ${errorText(cause)}`, cause))
  }
  if (key.asymmetricKeyType !== "ed25519") {
    return Result.fail(configError(`the private key is ${key.asymmetricKeyType ?? "unknown"}, not ed25519`))
  }
  return Result.succeed(new IdentityImpl(key))
}

/**
 * The raw 32-byte public key in an SPKI PEM text (`-----BEGIN PUBLIC KEY-----`)
 * holding an Ed25519 key. Also accepts a PKCS#8 private key PEM, whose public
 * half is returned.
 *
 * @category constructors
 * @since 0.1.0
 */
export const publicKeyFromPem = (pem: string): Result.Result<Uint8Array, ProtocolError.ProtocolError> => {
  let key: NodeCrypto.KeyObject
  try {
    key = NodeCrypto.createPublicKey({ key: pem, format: "pem" })
  } catch (cause) {
    return Result.fail(configError(`not a PEM public key: ${errorText(cause)}`, cause))
  }
  if (key.asymmetricKeyType !== "ed25519") {
    return Result.fail(configError(`the public key is ${key.asymmetricKeyType ?? "unknown"}, not ed25519`))
  }
  return Result.succeed(rawPublicKey(key))
}

/**
 * The PEM texts of an identity: PKCS#8 private key and SPKI public key.
 *
 * @category encoding
 * @since 0.1.0
 */
export const toPem = (identity: Identity): Pem => ({
  privateKeyPem: String(identity.privateKey.export({ format: "pem", type: "pkcs8" })),
  publicKeyPem: String(NodeCrypto.createPublicKey(identity.privateKey).export({ format: "pem", type: "spki" }))
})

// -----------------------------------------------------------------------------
// files
// -----------------------------------------------------------------------------

const ioError = (detail: string, cause: unknown) =>
  ProtocolError.make(new ProtocolError.Io({ detail: `${detail}: ${errorText(cause)}`, cause }))

const readText = (path: string): Effect.Effect<string, ProtocolError.ProtocolError> =>
  Effect.tryPromise({ try: () => Fs.readFile(path, "utf8"), catch: (cause) => ioError(`cannot read ${path}`, cause) })

/**
 * Loads an identity from a PKCS#8 PEM file (as written by {@link save} or
 * `np keygen`).
 *
 * @category files
 * @since 0.1.0
 */
export const load = (path: string): Effect.Effect<Identity, ProtocolError.ProtocolError> =>
  Effect.flatMap(
    readText(path),
    (pem) =>
      Effect.fromResult(fromPem(pem)).pipe(
        Effect.mapError((error) => configError(`${path}: ${error.message}`, error))
      )
  )

/**
 * Loads a raw public key from an SPKI PEM file (or the public half of a
 * PKCS#8 one), e.g. to pin it.
 *
 * @category files
 * @since 0.1.0
 */
export const loadPublicKey = (path: string): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
  Effect.flatMap(
    readText(path),
    (pem) =>
      Effect.fromResult(publicKeyFromPem(pem)).pipe(
        Effect.mapError((error) => configError(`${path}: ${error.message}`, error))
      )
  )

/**
 * Writes an identity: the private key (PKCS#8 PEM, mode 0600) and the public
 * key (SPKI PEM, mode 0644). Existing files are kept (the write fails) unless
 * `overwrite` is set.
 *
 * @category files
 * @since 0.1.0
 */
export const save = (
  identity: Identity,
  options: { readonly keyPath: string; readonly publicKeyPath: string; readonly overwrite?: boolean | undefined }
): Effect.Effect<void, ProtocolError.ProtocolError> =>
  Effect.tryPromise({
    try: async () => {
      const pem = toPem(identity)
      const flag = options.overwrite === true ? "w" : "wx"
      await Fs.writeFile(options.keyPath, pem.privateKeyPem, { flag, mode: 0o600 })
      // `mode` applies only to a new file: tighten a replaced one too.
      await Fs.chmod(options.keyPath, 0o600)
      await Fs.writeFile(options.publicKeyPath, pem.publicKeyPem, { flag, mode: 0o644 })
    },
    catch: (cause) => ioError(`cannot write ${options.keyPath} / ${options.publicKeyPath}`, cause)
  })
