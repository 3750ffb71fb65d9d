/**
 * A minimal DER reader: walks TLVs, enough to pull the subject name and the
 * public key bits out of a certificate.
 *
 * @internal
 */

/** @internal */
export interface Element {
  readonly tag: number
  /** Offset of the first content byte. */
  readonly start: number
  /** Offset just past the last content byte. */
  readonly end: number
  /** Offset of the tag byte. */
  readonly headerStart: number
}

/** Reads the element at `offset`; `undefined` when the bytes are not valid DER. @internal */
export const readElement = (bytes: Uint8Array, offset: number, limit: number = bytes.length): Element | undefined => {
  if (offset + 2 > limit) return undefined
  const tag = bytes[offset]
  if ((tag & 0x1f) === 0x1f) return undefined
  let length = bytes[offset + 1]
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > limit) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]
    start += count
  }
  const end = start + length
  if (end > limit) return undefined
  return { tag, start, end, headerStart: offset }
}

/** The children of a constructed element. @internal */
export const children = (bytes: Uint8Array, parent: Element): Array<Element> | undefined => {
  const out: Array<Element> = []
  let offset = parent.start
  while (offset < parent.end) {
    const element = readElement(bytes, offset, parent.end)
    if (element === undefined) return undefined
    out.push(element)
    offset = element.end
  }
  return out
}
