/**
 * Deterministic test data for the benchmarks: JSON-like text (compressible,
 * like typical application messages) and random bytes (incompressible), both
 * from a fixed-seed PRNG, so every run and every process gets the same bytes.
 *
 * @since 0.1.0
 */

/** A fixed-seed xorshift32 generator. */
const prng = (seed: number) => {
  let state = seed >>> 0 || 1
  return (): number => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state
  }
}

/**
 * JSON-like text of exactly `size` bytes: records with ids, ISO timestamps,
 * tags and word-salad text from a fixed-seed PRNG.
 *
 * @category data
 * @since 0.1.0
 */
export const jsonLike = (size: number, seed: number = 42): Uint8Array => {
  const next = prng(seed)
  const syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "ba", "de", "fi", "go", "hu", "je"]
  const vocabulary: Array<string> = []
  for (let i = 0; i < 400; i++) {
    let word = ""
    const length = 1 + (next() % 4)
    for (let j = 0; j < length; j++) word += syllables[next() % syllables.length]
    vocabulary.push(word)
  }
  const tags = ["alpha", "beta", "prod", "staging", "eu-west", "us-east", "cache", "db", "auth", "edge"]
  const parts: Array<string> = []
  let length = 0
  let id = 1_000_000
  while (length < size) {
    id += 1 + (next() % 17)
    const words: Array<string> = []
    const count = 4 + (next() % 20)
    for (let i = 0; i < count; i++) words.push(vocabulary[next() % vocabulary.length])
    const record = JSON.stringify({
      id,
      user: `user-${next() % 5000}`,
      created: new Date(1_700_000_000_000 + (next() % 100_000_000) * 1000).toISOString(),
      tags: [tags[next() % tags.length], tags[next() % tags.length]],
      score: (next() % 100_000) / 100,
      text: words.join(" ")
    })
    parts.push(record)
    length += record.length + 1
  }
  const text = "[" + parts.join(",") + "]"
  return new TextEncoder().encode(text).subarray(0, size).slice()
}

/**
 * `size` random bytes from a fixed-seed PRNG.
 *
 * @category data
 * @since 0.1.0
 */
export const randomBytes = (size: number, seed: number = 7): Uint8Array => {
  const next = prng(seed)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = next() & 0xff
  return out
}


/**
 * What the application payload of a request is made of: `"filler"` (one
 * repeated byte) or `"json"` ({@link jsonLike}).
 *
 * @category data
 * @since 0.1.0
 */
export type Payload = "filler" | "json"

/**
 * An application payload of exactly `size` bytes.
 *
 * @category data
 * @since 0.1.0
 */
export const payload = (kind: Payload, size: number): Uint8Array =>
  kind === "json" ? jsonLike(size) : new Uint8Array(size).fill(0x61)
