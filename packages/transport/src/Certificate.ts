/**
 * Self-signed and CA-issued X.509 certificates for tests, development and the
 * `np cert` command: ECDSA P-256 keys (PKCS#8 PEM, the only key format the
 * crate loads), SHA-256 signatures, a Subject Alternative Name for every DNS
 * name and IP address given.
 *
 * Node has no X.509 builder, so the certificate is assembled here with a small
 * DER writer and signed with `node:crypto`; the result is parsed back with
 * `crypto.X509Certificate` and its signature verified before it is returned.
 * No external binary (openssl) is needed.
 *
 * ```ts
 * import * as Certificate from "@network-protocol/transport/Certificate"
 * const ca = yield* Certificate.generate({ commonName: "test CA", isCa: true })
 * const server = yield* Certificate.generate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], issuer: ca })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ProtocolError from "@network-protocol/core/ProtocolError"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Der from "./internal/der.ts"
import * as DerReader from "./internal/derReader.ts"

/**
 * A certificate with its private key, both PEM encoded.
 *
 * @category models
 * @since 0.1.0
 */
export interface Certificate {
  /** The certificate, `-----BEGIN CERTIFICATE-----`. */
  readonly certPem: string
  /** The private key as PKCS#8, `-----BEGIN PRIVATE KEY-----`. Secret. */
  readonly keyPem: string
  /** The certificate's DER bytes. */
  readonly der: Uint8Array
  /** SHA-256 of `der`, lowercase hex: the value to pin. */
  readonly fingerprintSha256: string
}

/**
 * The issuer of a certificate: a CA certificate and its private key, PEM
 * encoded. A `Certificate` made with `isCa: true` is one.
 *
 * @category models
 * @since 0.1.0
 */
export interface Issuer {
  readonly certPem: string
  readonly keyPem: string
}

/**
 * What to put in a certificate.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Subject common name. Default: the first DNS name, or `"network-protocol"`. */
  readonly commonName?: string | undefined
  /** Subject organization, omitted by default. */
  readonly organization?: string | undefined
  /** DNS names for the Subject Alternative Name. Default `["localhost"]` for a leaf, none for a CA. */
  readonly dnsNames?: ReadonlyArray<string> | undefined
  /** IPv4 or IPv6 addresses for the Subject Alternative Name. Default none. */
  readonly ipAddresses?: ReadonlyArray<string> | undefined
  /** How long the certificate is valid from now. Default 365 days. */
  readonly validity?: Duration.Input | undefined
  /** Makes a CA certificate (basicConstraints CA, keyCertSign) able to issue others. Default `false`. */
  readonly isCa?: boolean | undefined
  /** Signs with this CA instead of self-signing. */
  readonly issuer?: Issuer | undefined
}

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  ed25519: "1.3.101.112",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2"
} as const

const tlsError = (detail: string, cause?: unknown) =>
  ProtocolError.make(new ProtocolError.TlsError(cause === undefined ? { detail } : { detail, cause }))

const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

/**
 * SHA-256 of a certificate's DER bytes, lowercase hex. Accepts the DER bytes or
 * a PEM text (the first certificate in it).
 *
 * @category fingerprints
 * @since 0.1.0
 */
export const fingerprintSha256 = (certificate: Uint8Array | string): string => {
  const der = typeof certificate === "string" ? new Crypto.X509Certificate(certificate).raw : certificate
  return Crypto.createHash("sha256").update(der).digest("hex")
}

const ipv4Bytes = (text: string): Uint8Array => Uint8Array.from(text.split(".").map((part) => Number(part)))

const ipv6Bytes = (text: string): Uint8Array => {
  let address = text
  const out = new Uint8Array(16)
  // an embedded IPv4 tail, e.g. ::ffff:1.2.3.4
  const lastColon = address.lastIndexOf(":")
  const tail = address.slice(lastColon + 1)
  let tailBytes: Uint8Array | undefined
  if (Net.isIPv4(tail)) {
    tailBytes = ipv4Bytes(tail)
    address = address.slice(0, lastColon + 1) + "0:0"
  }
  const [head, rest] = address.includes("::") ? address.split("::") : [address, undefined]
  const headGroups = head === "" ? [] : head.split(":")
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":")
  const groups = rest === undefined
    ? headGroups
    : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups]
  for (let i = 0; i < 8; i++) {
    const value = parseInt(groups[i], 16)
    out[i * 2] = value >> 8
    out[i * 2 + 1] = value & 0xff
  }
  if (tailBytes !== undefined) out.set(tailBytes, 12)
  return out
}

/** @internal */
export const ipAddressBytes = (text: string): Uint8Array | undefined =>
  Net.isIPv4(text) ? ipv4Bytes(text) : Net.isIPv6(text) ? ipv6Bytes(text) : undefined

const name = (commonName: string, organization: string | undefined): Uint8Array =>
  Der.sequence(
    ...(organization === undefined
      ? []
      : [Der.set(Der.sequence(Der.oid(OID.organization), Der.utf8String(organization)))]),
    Der.set(Der.sequence(Der.oid(OID.commonName), Der.utf8String(commonName)))
  )

const extension = (id: string, critical: boolean, value: Uint8Array): Uint8Array =>
  Der.sequence(Der.oid(id), ...(critical ? [Der.boolean(true)] : []), Der.octetString(value))

/** The subjectPublicKey BIT STRING contents of an SPKI, for key identifiers. */
const subjectPublicKeyBits = (spki: Uint8Array): Uint8Array | undefined => {
  const outer = DerReader.readElement(spki, 0)
  if (outer === undefined || outer.tag !== 0x30) return undefined
  const parts = DerReader.children(spki, outer)
  if (parts === undefined || parts.length !== 2 || parts[1].tag !== 0x03) return undefined
  return spki.subarray(parts[1].start + 1, parts[1].end)
}

const keyIdentifier = (key: Crypto.KeyObject): Uint8Array | undefined => {
  const bits = subjectPublicKeyBits(new Uint8Array(key.export({ type: "spki", format: "der" })))
  return bits === undefined ? undefined : new Uint8Array(Crypto.createHash("sha1").update(bits).digest())
}

/** The subject Name element (raw DER) of a certificate. */
const subjectName = (der: Uint8Array): Uint8Array | undefined => {
  const certificate = DerReader.readElement(der, 0)
  if (certificate === undefined) return undefined
  const certificateParts = DerReader.children(der, certificate)
  if (certificateParts === undefined || certificateParts.length < 1) return undefined
  const fields = DerReader.children(der, certificateParts[0])
  if (fields === undefined) return undefined
  // [0] version?, serial, signature, issuer, validity, subject
  const offset = fields.length > 0 && fields[0].tag === 0xa0 ? 1 : 0
  const subject = fields[offset + 4]
  return subject === undefined ? undefined : der.subarray(subject.headerStart, subject.end)
}

const signatureAlgorithm = (
  key: Crypto.KeyObject
): { readonly algorithm: Uint8Array; readonly hash: string | null } | undefined => {
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === "prime256v1") return { algorithm: Der.sequence(Der.oid(OID.ecdsaWithSha256)), hash: "sha256" }
      if (curve === "secp384r1") return { algorithm: Der.sequence(Der.oid(OID.ecdsaWithSha384)), hash: "sha384" }
      return undefined
    }
    case "rsa":
      return { algorithm: Der.sequence(Der.oid(OID.sha256WithRsa), Der.tlv(0x05, new Uint8Array(0))), hash: "sha256" }
    case "ed25519":
      return { algorithm: Der.sequence(Der.oid(OID.ed25519)), hash: null }
    default:
      return undefined
  }
}

const toPem = (label: string, der: Uint8Array): string => {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64")
  const lines: Array<string> = []
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64))
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`
}

/**
 * Builds and signs a certificate at the given time. Throws on invalid input;
 * `generate` is the typed, Clock-aware entry point.
 */
const build = (options: Options, now: number): Certificate => {
  const isCa = options.isCa === true
  const dnsNames = options.dnsNames ?? (isCa ? [] : ["localhost"])
  const ipAddresses = options.ipAddresses ?? []
  const commonName = options.commonName ?? dnsNames[0] ?? "network-protocol"
  const validityMillis = Duration.toMillis(Duration.fromInputUnsafe(options.validity ?? Duration.days(365)))
  if (!(validityMillis > 0)) throw new Error("validity must be positive")

  const { privateKey, publicKey } = Crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" })
  const subjectKeyId = keyIdentifier(publicKey)
  if (subjectKeyId === undefined) throw new Error("cannot read the generated public key")

  let signingKey: Crypto.KeyObject = privateKey
  let issuerName: Uint8Array
  let authorityKeyId: Uint8Array = subjectKeyId
  const subject = name(commonName, options.organization)
  if (options.issuer !== undefined) {
    const issuerCertificate = new Crypto.X509Certificate(options.issuer.certPem)
    signingKey = Crypto.createPrivateKey(options.issuer.keyPem)
    if (!issuerCertificate.checkPrivateKey(signingKey)) {
      throw new Error("the issuer key does not match the issuer certificate")
    }
    if (!issuerCertificate.ca) throw new Error("the issuer certificate is not a CA certificate")
    const issuerSubject = subjectName(new Uint8Array(issuerCertificate.raw))
    const issuerKeyId = keyIdentifier(issuerCertificate.publicKey)
    if (issuerSubject === undefined || issuerKeyId === undefined) throw new Error("cannot parse the issuer certificate")
    issuerName = issuerSubject
    authorityKeyId = issuerKeyId
  } else {
    issuerName = subject
  }
  const signature = signatureAlgorithm(signingKey)
  if (signature === undefined) {
    throw new Error(`unsupported issuer key type: ${signingKey.asymmetricKeyType ?? "unknown"}`)
  }

  const sanEntries: Array<Uint8Array> = []
  for (const dns of dnsNames) sanEntries.push(Der.implicitPrimitive(2, new TextEncoder().encode(dns)))
  for (const ip of ipAddresses) {
    const bytes = ipAddressBytes(ip)
    if (bytes === undefined) throw new Error(`not an IP address: ${ip}`)
    sanEntries.push(Der.implicitPrimitive(7, bytes))
  }

  const extensions: Array<Uint8Array> = [
    extension(OID.basicConstraints, true, isCa ? Der.sequence(Der.boolean(true)) : Der.sequence()),
    // digitalSignature (0); a CA also signs certificates (5) and CRLs (6)
    extension(OID.keyUsage, true, Der.namedBits(isCa ? [0, 5, 6] : [0])),
    extension(OID.subjectKeyIdentifier, false, Der.octetString(subjectKeyId)),
    extension(OID.authorityKeyIdentifier, false, Der.sequence(Der.implicitPrimitive(0, authorityKeyId)))
  ]
  if (!isCa) {
    extensions.push(extension(OID.extKeyUsage, false, Der.sequence(Der.oid(OID.serverAuth), Der.oid(OID.clientAuth))))
  }
  if (sanEntries.length > 0) extensions.push(extension(OID.subjectAltName, false, Der.sequence(...sanEntries)))

  const serial = new Uint8Array(Crypto.randomBytes(16))
  serial[0] &= 0x7f
  serial[0] |= 0x01
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }))
  const tbs = Der.sequence(
    Der.explicit(0, Der.smallInteger(2)),
    Der.unsignedInteger(serial),
    signature.algorithm,
    issuerName,
    Der.sequence(Der.time(new Date(now - 60 * 60 * 1000)), Der.time(new Date(now + validityMillis))),
    subject,
    spki,
    Der.explicit(3, Der.sequence(...extensions))
  )
  const signatureBytes = new Uint8Array(Crypto.sign(signature.hash, tbs, { key: signingKey, dsaEncoding: "der" }))
  const der = Der.sequence(tbs, signature.algorithm, Der.bitString(signatureBytes))

  // parse what we built and check its signature before handing it out
  const parsed = new Crypto.X509Certificate(der)
  const verifier = options.issuer === undefined
    ? publicKey
    : new Crypto.X509Certificate(options.issuer.certPem).publicKey
  if (!parsed.verify(verifier)) throw new Error("the generated certificate does not verify")

  return {
    certPem: toPem("CERTIFICATE", der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    der,
    fingerprintSha256: toHex(new Uint8Array(Crypto.createHash("sha256").update(der).digest()))
  }
}

/**
 * Generates a key pair and a certificate for it: self-signed, or issued by
 * `options.issuer`. The validity period starts one hour before the current
 * `Clock` time (to tolerate clock skew) and lasts `options.validity`.
 *
 * Fails with a `TlsError` reason for an invalid IP address, a non-positive
 * validity, or an issuer whose key is unusable or does not match its
 * certificate.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generate = (options: Options = {}): Effect.Effect<Certificate, ProtocolError.ProtocolError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.try({
      try: () => build(options, now),
      catch: (cause) =>
        tlsError(`cannot generate a certificate: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
    }))

/**
 * Writes a certificate and its key to PEM files, the key with mode `0600`.
 * Refuses to replace existing files unless `overwrite` is set (the crate's
 * generator overwrites blindly).
 *
 * @category files
 * @since 0.1.0
 */
export const writeFiles = (
  certificate: Certificate,
  options: { readonly certPath: string; readonly keyPath: string; readonly overwrite?: boolean | undefined }
): Effect.Effect<void, ProtocolError.ProtocolError> =>
  Effect.tryPromise({
    try: async () => {
      const flag = options.overwrite === true ? "w" : "wx"
      await Fs.writeFile(options.certPath, certificate.certPem, { flag, mode: 0o644 })
      await Fs.writeFile(options.keyPath, certificate.keyPem, { flag, mode: 0o600 })
    },
    catch: (cause) =>
      ProtocolError.make(
        new ProtocolError.Io({
          detail: `cannot write ${options.certPath} / ${options.keyPath}: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
          cause
        })
      )
  })
