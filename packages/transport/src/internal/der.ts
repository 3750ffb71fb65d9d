/**
 * A minimal DER (ASN.1 Distinguished Encoding Rules) writer: just what an
 * X.509 v3 certificate needs.
 *
 * @internal
 */

/** @internal */
export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = 0
  for (let i = 0; i < parts.length; i++) total += parts[i].length
  const out = new Uint8Array(total)
  let offset = 0
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], offset)
    offset += parts[i].length
  }
  return out
}

const lengthBytes = (length: number): Uint8Array => {
  if (length < 0x80) return Uint8Array.of(length)
  const bytes: Array<number> = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return Uint8Array.from([0x80 | bytes.length, ...bytes])
}

/** A tag-length-value triple. @internal */
export const tlv = (tag: number, content: Uint8Array): Uint8Array =>
  concat([Uint8Array.of(tag), lengthBytes(content.length), content])

/** @internal */
export const sequence = (...items: ReadonlyArray<Uint8Array>): Uint8Array => tlv(0x30, concat(items))

/** @internal */
export const set = (...items: ReadonlyArray<Uint8Array>): Uint8Array => tlv(0x31, concat(items))

/** A non-negative INTEGER from big-endian magnitude bytes. @internal */
export const unsignedInteger = (magnitude: Uint8Array): Uint8Array => {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const trimmed = magnitude.subarray(start)
  const content = trimmed.length === 0
    ? Uint8Array.of(0)
    : (trimmed[0] & 0x80) !== 0
    ? concat([Uint8Array.of(0), trimmed])
    : trimmed
  return tlv(0x02, content)
}

/** A small non-negative INTEGER. @internal */
export const smallInteger = (value: number): Uint8Array => {
  const bytes: Array<number> = []
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return unsignedInteger(Uint8Array.from(bytes))
}

/** @internal */
export const boolean = (value: boolean): Uint8Array => tlv(0x01, Uint8Array.of(value ? 0xff : 0x00))

/** An OBJECT IDENTIFIER from its dotted form. @internal */
export const oid = (dotted: string): Uint8Array => {
  const arcs = dotted.split(".").map((arc) => Number(arc))
  const bytes: Array<number> = [arcs[0] * 40 + arcs[1]]
  for (let i = 2; i < arcs.length; i++) {
    const arc = arcs[i]
    const chunk: Array<number> = [arc & 0x7f]
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f))
    bytes.push(...chunk)
  }
  return tlv(0x06, Uint8Array.from(bytes))
}

const textEncoder = new TextEncoder()

/** @internal */
export const utf8String = (text: string): Uint8Array => tlv(0x0c, textEncoder.encode(text))

/** @internal */
export const ia5String = (text: string): Uint8Array => tlv(0x16, textEncoder.encode(text))

/** @internal */
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes)

/** A BIT STRING with no unused bits. @internal */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(0x03, concat([Uint8Array.of(0), bytes]))

/**
 * A named-bit BIT STRING (e.g. KeyUsage): `bits` are the bit numbers set,
 * bit 0 being the most significant bit of the first byte. Trailing zero bits
 * are dropped, as DER requires.
 *
 * @internal
 */
export const namedBits = (bits: ReadonlyArray<number>): Uint8Array => {
  const highest = Math.max(...bits)
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1)
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7)
  const unused = 7 - (highest & 7)
  return tlv(0x03, concat([Uint8Array.of(unused), bytes]))
}

/** A context-specific constructed (EXPLICIT) tag. @internal */
export const explicit = (tagNumber: number, content: Uint8Array): Uint8Array => tlv(0xa0 | tagNumber, content)

/** A context-specific primitive (IMPLICIT) tag around raw content bytes. @internal */
export const implicitPrimitive = (tagNumber: number, content: Uint8Array): Uint8Array =>
  tlv(0x80 | tagNumber, content)

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). @internal */
export const time = (date: Date): Uint8Array => {
  const year = date.getUTCFullYear()
  const rest = pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) + pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + "Z"
  return year < 2050 && year >= 1950
    ? tlv(0x17, textEncoder.encode(pad(year % 100, 2) + rest))
    : tlv(0x18, textEncoder.encode(pad(year, 4) + rest))
}
