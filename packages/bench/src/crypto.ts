/**
 * Crypto micro-benchmark: every available provider side by side in one run.
 *
 * Measures XChaCha20-Poly1305 seal+open at 64 B, 1 KiB, 64 KiB and 1 MiB
 * (fixed key and nonce, no AAD), the same at 64 B with a fresh random nonce
 * per message (what a secure channel does), X25519 handshake sides (a fresh
 * key pair plus one shared secret) and 24-byte nonce generation. Rounds are
 * interleaved (every provider once per round, in a rotating order) and the
 * figures are medians over rounds; the `×noble` column is the median of the
 * per-round ratios to the `noble` provider, which is more trustworthy than
 * comparing absolute numbers on a noisy machine.
 *
 * Usage: `node packages/bench/src/crypto.ts [--quick]` (Node 24 runs the
 * TypeScript directly). A full run takes about 25 s, `--quick` about 7 s; a
 * hard deadline keeps either under 60 s.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Crypto from "../../core/src/Crypto.ts"

type Provider = Crypto.Crypto["Service"]

interface Settings {
  readonly rounds: number
  readonly roundMs: number
  readonly warmupMs: number
}

interface Case {
  readonly label: string
  /** Bytes processed per operation (for MB/s), 0 when not meaningful. */
  readonly bytes: number
  /** Operations per call of the returned function. */
  readonly batch: number
  readonly prepare: (provider: Provider) => () => void
}

interface Row {
  readonly provider: string
  readonly rate: number
  readonly ratio: number | undefined
}

const HARD_DEADLINE_MS = 55_000

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const formatRate = (rate: number): string =>
  rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)}k` : rate.toFixed(0)

const formatSize = (bytes: number): string =>
  bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`

const pad = (text: string, width: number): string => text.padEnd(width)
const padLeft = (text: string, width: number): string => text.padStart(width)

/** Runs `run` (which does `batch` operations) for about `ms`; returns operations per second. */
const measure = (run: () => void, batch: number, ms: number): number => {
  const start = performance.now()
  const end = start + ms
  let ops = 0
  let now = start
  do {
    run()
    ops += batch
    now = performance.now()
  } while (now < end)
  return ops / ((now - start) / 1000)
}

const KEY = new Uint8Array(32).map((_, i) => i)
const NONCE = new Uint8Array(24).map((_, i) => 0x40 + i)

const aeadCase = (size: number): Case => {
  const batch = size <= 64 ? 16 : size <= 1024 ? 8 : 1
  return {
    label: `seal+open ${formatSize(size)}`,
    bytes: size,
    batch,
    prepare: (provider) => {
      const aead = provider.aead(KEY)
      const plaintext = new Uint8Array(size).map((_, i) => i * 7)
      return () => {
        for (let i = 0; i < batch; i++) {
          const sealed = aead.seal(NONCE, plaintext)
          if (aead.open(NONCE, sealed) === undefined) throw new Error(`${provider.name}: open failed`)
        }
      }
    }
  }
}

/** What a secure channel does per message: a fresh random nonce, then seal (and the peer opens). */
const channelCase: Case = {
  label: "seal+open 64 B with a fresh randomBytes(24) nonce each",
  bytes: 64,
  batch: 16,
  prepare: (provider) => {
    const aead = provider.aead(KEY)
    const plaintext = new Uint8Array(64).map((_, i) => i * 7)
    return () => {
      for (let i = 0; i < 16; i++) {
        const nonce = provider.randomBytes(24)
        const sealed = aead.seal(nonce, plaintext)
        if (aead.open(nonce, sealed) === undefined) throw new Error(`${provider.name}: open failed`)
      }
    }
  }
}

const handshakeCase: Case = {
  label: "X25519 handshake side (keygen + shared)",
  bytes: 0,
  batch: 1,
  prepare: (provider) => {
    const peer = provider.x25519KeyPair().publicKey
    return () => {
      const pair = provider.x25519KeyPair()
      if (provider.x25519(pair.secretKey, peer) === undefined) throw new Error(`${provider.name}: x25519 failed`)
    }
  }
}

const nonceCase: Case = {
  label: "randomBytes(24) (per-message nonce)",
  bytes: 0,
  batch: 64,
  prepare: (provider) => () => {
    for (let i = 0; i < 64; i++) provider.randomBytes(24)
  }
}

/** Every provider must produce the same bytes before its speed means anything. */
const crossCheck = (providers: ReadonlyArray<Provider>): void => {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")
  const reference = providers[0]
  const pair = reference.x25519KeyPair()
  const peer = reference.x25519KeyPair()
  for (const size of [0, 64, 1024, 65536]) {
    const plaintext = new Uint8Array(size).map((_, i) => i * 13)
    const expected = hex(reference.aead(KEY).seal(NONCE, plaintext))
    for (const provider of providers) {
      if (hex(provider.aead(KEY).seal(NONCE, plaintext)) !== expected) {
        throw new Error(`${provider.name} disagrees with ${reference.name} at ${size} B`)
      }
    }
  }
  const shared = reference.x25519(pair.secretKey, peer.publicKey)
  for (const provider of providers) {
    const other = provider.x25519(pair.secretKey, peer.publicKey)
    if (shared === undefined || other === undefined || hex(shared) !== hex(other)) {
      throw new Error(`${provider.name} disagrees with ${reference.name} on X25519`)
    }
  }
}

const runCase = (
  testCase: Case,
  providers: ReadonlyArray<Provider>,
  settings: Settings,
  deadline: number
): ReadonlyArray<Row> => {
  const runs = providers.map((provider) => testCase.prepare(provider))
  for (const run of runs) measure(run, testCase.batch, settings.warmupMs)
  const rates: Array<Array<number>> = providers.map(() => [])
  const ratios: Array<Array<number>> = providers.map(() => [])
  const nobleIndex = providers.findIndex((provider) => provider.name === "noble")
  for (let round = 0; round < settings.rounds && performance.now() < deadline; round++) {
    const roundRates: Array<number> = new Array(providers.length).fill(0)
    for (let k = 0; k < providers.length; k++) {
      const index = (round + k) % providers.length
      roundRates[index] = measure(runs[index], testCase.batch, settings.roundMs)
    }
    for (let i = 0; i < providers.length; i++) {
      rates[i].push(roundRates[i])
      if (nobleIndex >= 0) ratios[i].push(roundRates[i] / roundRates[nobleIndex])
    }
  }
  return providers.map((provider, i) => ({
    provider: provider.name,
    rate: median(rates[i]),
    ratio: nobleIndex >= 0 ? median(ratios[i]) : undefined
  }))
}

const printCase = (testCase: Case, rows: ReadonlyArray<Row>): void => {
  console.log(`\n${testCase.label}`)
  console.log(`  ${pad("provider", 15)}${padLeft("ops/s", 10)}${padLeft("MB/s", 9)}${padLeft("×noble", 9)}`)
  for (const row of rows) {
    const mbs = testCase.bytes > 0 ? (row.rate * testCase.bytes / 1e6).toFixed(1) : "-"
    const ratio = row.ratio === undefined ? "-" : row.ratio.toFixed(2)
    console.log(`  ${pad(row.provider, 15)}${padLeft(formatRate(row.rate), 10)}${padLeft(mbs, 9)}${padLeft(ratio, 9)}`)
  }
}

const main = async (): Promise<void> => {
  const quick = process.argv.includes("--quick")
  const settings: Settings = quick
    ? { rounds: 3, roundMs: 80, warmupMs: 40 }
    : { rounds: 5, roundMs: 200, warmupMs: 100 }
  const deadline = performance.now() + HARD_DEADLINE_MS
  const providers = await Effect.runPromise(Crypto.available)
  const defaultProvider = await Effect.runPromise(Crypto.makeDefault)
  crossCheck(providers)
  console.log(
    `Crypto providers: ${providers.map((p) => p.name).join(", ")} (default: ${defaultProvider.name}); ` +
      `Node ${process.version}; ${settings.rounds} interleaved rounds × ${settings.roundMs} ms, medians`
  )
  const cases = [
    aeadCase(64),
    aeadCase(1024),
    aeadCase(65536),
    aeadCase(1 << 20),
    channelCase,
    handshakeCase,
    nonceCase
  ]
  const results = new Map<Case, ReadonlyArray<Row>>()
  for (const testCase of cases) {
    if (performance.now() >= deadline) {
      console.log(`\n(deadline reached, skipped: ${testCase.label})`)
      continue
    }
    const rows = runCase(testCase, providers, settings, deadline)
    results.set(testCase, rows)
    printCase(testCase, rows)
  }
  const ratioOf = (testCase: Case): number | undefined =>
    results.get(testCase)?.find((row) => row.provider === defaultProvider.name)?.ratio
  const small = ratioOf(cases[0])
  const handshake = ratioOf(handshakeCase)
  const verdict = (ratio: number | undefined, target: number): string =>
    ratio === undefined ? "not measured" : `${ratio.toFixed(1)}× (target ≥ ${target}×: ${ratio >= target ? "met" : "MISSED"})`
  console.log(`\nDefault provider ${defaultProvider.name} vs noble:`)
  console.log(`  seal+open 64 B: ${verdict(small, 8)}`)
  console.log(`  handshake sides/s: ${verdict(handshake, 10)}`)
}

await main()
