/**
 * A self-signed ECDSA P-256 certificate for the TLS scenarios, made at bench
 * time with `node:crypto` and a tiny DER writer — no `openssl` binary and no
 * dependency needed. The certificate is valid for `localhost` and
 * `127.0.0.1`, is its own trust anchor (`CA:TRUE`), and is signed with
 * ECDSA-with-SHA256.
 *
 * @since 0.1.0
 */
import * as Crypto from "node:crypto"

/**
 * A key pair and its certificate, both PEM.
 *
 * @category models
 * @since 0.1.0
 */
export interface Material {
  readonly keyPem: string
  readonly certPem: string
}

// -----------------------------------------------------------------------------
// DER
// -----------------------------------------------------------------------------

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n])
  const bytes: Array<number> = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/**
 * One DER TLV.
 *
 * @category der
 * @since 0.1.0
 */
export const tlv = (tag: number, ...content: ReadonlyArray<Uint8Array>): Buffer => {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}

const sequence = (...items: ReadonlyArray<Uint8Array>) => tlv(0x30, ...items)
const set = (...items: ReadonlyArray<Uint8Array>) => tlv(0x31, ...items)
const explicit = (n: number, ...items: ReadonlyArray<Uint8Array>) => tlv(0xa0 + n, ...items)
const octets = (bytes: Uint8Array) => tlv(0x04, bytes)
const boolean = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]))
const bitString = (bytes: Uint8Array, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), bytes)

/** A non-negative INTEGER from big-endian magnitude bytes. */
const integer = (magnitude: Uint8Array) => {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const trimmed = magnitude.subarray(start)
  return tlv(0x02, trimmed[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

/**
 * A DER OBJECT IDENTIFIER from its dotted form.
 *
 * @category der
 * @since 0.1.0
 */
export const oid = (dotted: string): Buffer => {
  const arcs = dotted.split(".").map(Number)
  const bytes: Array<number> = [arcs[0] * 40 + arcs[1]]
  for (const arc of arcs.slice(2)) {
    const group: Array<number> = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f))
    bytes.push(...group)
  }
  return tlv(0x06, Buffer.from(bytes))
}

const utcTime = (date: Date): Buffer => {
  const two = (n: number) => String(n).padStart(2, "0")
  const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}` +
    `${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`
  return tlv(0x17, Buffer.from(text, "ascii"))
}

const commonName = (cn: string) => sequence(set(sequence(oid("2.5.4.3"), tlv(0x0c, Buffer.from(cn, "utf8")))))

const extension = (id: string, critical: boolean, value: Uint8Array) =>
  critical ? sequence(oid(id), boolean(true), octets(value)) : sequence(oid(id), octets(value))

const pem = (label: string, der: Uint8Array): string => {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

/**
 * Makes a fresh P-256 key and a self-signed certificate for `localhost` /
 * `127.0.0.1`, valid from one hour ago for `days` days.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: { readonly commonName?: string; readonly days?: number }): Material => {
  const cn = options?.commonName ?? "localhost"
  const days = options?.days ?? 7
  const { privateKey, publicKey } = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
  const spki = publicKey.export({ type: "spki", format: "der" })
  const ecdsaWithSha256 = sequence(oid("1.2.840.10045.4.3.2"))
  const serial = Crypto.randomBytes(16)
  serial[0] &= 0x7f
  serial[0] |= 0x01
  const now = Date.now()
  const name = commonName(cn)
  const extensions = sequence(
    extension("2.5.29.19", true, sequence(boolean(true))),
    // digitalSignature (bit 0) + keyCertSign (bit 5)
    extension("2.5.29.15", true, bitString(Buffer.from([0x84]), 2)),
    extension(
      "2.5.29.17",
      false,
      sequence(tlv(0x82, Buffer.from(cn, "ascii")), tlv(0x87, Buffer.from([127, 0, 0, 1])))
    )
  )
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    spki,
    explicit(3, extensions)
  )
  const signature = Crypto.sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" })
  const certificate = sequence(tbs, ecdsaWithSha256, bitString(signature))
  return {
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certPem: pem("CERTIFICATE", certificate)
  }
}
