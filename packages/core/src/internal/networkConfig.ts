/**
 * Pure helpers of `NetworkConfig`: socket-address and host-name syntax, TOML
 * string literals and path parents.
 *
 * @internal
 */

const DECIMAL = /^[0-9]+$/
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * Rust's `Ipv4Addr::from_str`: four decimal octets, each 0–255, no leading
 * zero on a multi-digit octet.
 *
 * @internal
 */
export const isIpv4 = (s: string): boolean => {
  const parts = s.split(".")
  if (parts.length !== 4) return false
  for (const part of parts) {
    if (!DECIMAL.test(part) || part.length > 3) return false
    if (part.length > 1 && part[0] === "0") return false
    if (Number(part) > 255) return false
  }
  return true
}

/**
 * Rust's `Ipv6Addr::from_str`: eight hexadecimal groups of one to four
 * digits, at most one `::`, optionally ending with a dotted IPv4 address in
 * place of the last two groups.
 *
 * @internal
 */
export const isIpv6 = (s: string): boolean => {
  const halves = s.split("::")
  if (halves.length > 2) return false
  const groupsOf = (part: string, last: boolean): number => {
    if (part === "") return 0
    const groups = part.split(":")
    let count = 0
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]
      if (last && i === groups.length - 1 && group.includes(".")) {
        if (!isIpv4(group)) return -1
        count += 2
      } else if (HEX_GROUP.test(group)) {
        count += 1
      } else {
        return -1
      }
    }
    return count
  }
  if (halves.length === 1) {
    return groupsOf(s, true) === 8
  }
  const head = groupsOf(halves[0], false)
  const tail = groupsOf(halves[1], true)
  return head >= 0 && tail >= 0 && head + tail <= 7
}

const isPort = (s: string): boolean => DECIMAL.test(s) && Number(s) <= 65535

/**
 * Rust's `SocketAddr::from_str`: `a.b.c.d:port` or `[ipv6]:port`, the IPv6
 * form optionally with a numeric `%scope` id. Host names are not socket
 * addresses.
 *
 * @internal
 */
export const isSocketAddress = (s: string): boolean => {
  if (s.startsWith("[")) {
    const close = s.indexOf("]")
    if (close < 0 || s[close + 1] !== ":") return false
    let host = s.slice(1, close)
    const percent = host.indexOf("%")
    if (percent >= 0) {
      const scope = host.slice(percent + 1)
      if (!DECIMAL.test(scope) || Number(scope) > 0xffff_ffff) return false
      host = host.slice(0, percent)
    }
    return isIpv6(host) && isPort(s.slice(close + 2))
  }
  const colon = s.lastIndexOf(":")
  if (colon < 0) return false
  return isIpv4(s.slice(0, colon)) && isPort(s.slice(colon + 1))
}

/**
 * An RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens, each at most 63 characters, at most 253 in all, an optional
 * trailing dot, and a last label that is not all digits (so `999.1.1.1` is
 * neither an IPv4 address nor a host name).
 *
 * @internal
 */
export const isHostName = (s: string): boolean => {
  const name = s.endsWith(".") ? s.slice(0, -1) : s
  if (name.length === 0 || name.length > 253) return false
  const labels = name.split(".")
  for (const label of labels) {
    if (!LABEL.test(label)) return false
  }
  return !DECIMAL.test(labels[labels.length - 1])
}

/**
 * A socket address, or `host:port` with an RFC 1123 host name.
 *
 * @internal
 */
export const isHostAndPort = (s: string): boolean => {
  if (isSocketAddress(s)) return true
  const colon = s.lastIndexOf(":")
  if (colon < 0) return false
  return isHostName(s.slice(0, colon)) && isPort(s.slice(colon + 1))
}

/**
 * Whether a string is well-formed UTF-16 (no unpaired surrogate), hence
 * representable in TOML and UTF-8.
 *
 * @internal
 */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s)

/**
 * The number of bytes of the UTF-8 encoding of a string (Rust's `str::len`).
 *
 * @internal
 */
export const utf8Length = (s: string): number => {
  let length = 0
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (code < 0x80) length += 1
    else if (code < 0x800) length += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) {
      length += 4
      i++
    } else length += 3
  }
  return length
}

/**
 * Rust's `Path::parent` for `/`-separated paths: `""` for a bare file name,
 * `undefined` for the root or an empty path.
 *
 * @internal
 */
export const parentDirectory = (path: string): string | undefined => {
  let end = path.length
  while (end > 1 && path[end - 1] === "/") end--
  const trimmed = path.slice(0, end)
  if (trimmed === "" || trimmed === "/") return undefined
  const slash = trimmed.lastIndexOf("/")
  if (slash < 0) return ""
  let parentEnd = slash
  while (parentEnd > 1 && trimmed[parentEnd - 1] === "/") parentEnd--
  return slash === 0 ? "/" : trimmed.slice(0, parentEnd)
}

const hex4 = (code: number): string => code.toString(16).toUpperCase().padStart(4, "0")

/**
 * A TOML 1.0 basic string literal. The input must be well-formed UTF-16.
 *
 * @internal
 */
export const tomlString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]
    const code = s.charCodeAt(i)
    switch (ch) {
      case "\"":
        out += "\\\""
        break
      case "\\":
        out += "\\\\"
        break
      case "\b":
        out += "\\b"
        break
      case "\t":
        out += "\\t"
        break
      case "\n":
        out += "\\n"
        break
      case "\f":
        out += "\\f"
        break
      case "\r":
        out += "\\r"
        break
      default:
        out += code < 0x20 || code === 0x7f ? `\\u${hex4(code)}` : ch
    }
  }
  return out + "\""
}
