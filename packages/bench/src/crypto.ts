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
 * It then sweeps the two routes of the default provider's XChaCha20-Poly1305
 * against each other — libsodium alone and OpenSSL (`CryptoNode.aead`) —
 * from 1 KiB to 1 MiB, seal (into a preallocated `out`, as the secure channel
 * does) and open measured separately, and prints the thresholds that fit the
 * measured ratios best next to the sizes from which the default provider
 * switches to OpenSSL (`CryptoSodium.DEFAULT_BULK_THRESHOLDS`). The 64 KiB
 * summary line compares the default provider with `sodium-native` kept to
 * libsodium for every size (the `libsodium only` contender).
 *
 * Usage: `node packages/bench/src/crypto.ts [--quick]` (Node 24 runs the
 * TypeScript directly). A full run takes about 60 s, `--quick` about 17 s; a
 * hard deadline keeps either under 90 s.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Crypto from "../../core/src/Crypto.ts"
import * as CryptoNode from "../../core/src/CryptoNode.ts"
import * as CryptoSodium from "../../core/src/CryptoSodium.ts"

type Provider = Crypto.Crypto["Service"]

interface Settings {
  readonly rounds: number
  readonly roundMs: number
  readonly warmupMs: number
  /** Rounds and milliseconds per round of the crossover sweep. */
  readonly sweepRounds: number
  readonly sweepMs: number
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

const HARD_DEADLINE_MS = 85_000

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

/** The name of the contender that is `sodium-native` kept to libsodium for every size. */
const LIBSODIUM_ONLY = "libsodium only"

/** The plaintext sizes of the crossover sweep. */
const SWEEP_SIZES: ReadonlyArray<number> = [1, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 1024].map((k) => k * 1024)

interface SweepRow {
  readonly size: number
  /** MB/s of libsodium and OpenSSL, and the median of the per-round OpenSSL/libsodium ratios. */
  readonly seal: { readonly sodium: number; readonly openSsl: number; readonly ratio: number }
  readonly open: { readonly sodium: number; readonly openSsl: number; readonly ratio: number }
}

/**
 * Seal (into a preallocated `out`) and open of `size` bytes by both routes,
 * interleaved in a rotating order; MB/s medians and median per-round ratios.
 */
const sweepSize = (sodium: Crypto.Aead, openSsl: Crypto.Aead, size: number, settings: Settings): SweepRow => {
  const plaintext = new Uint8Array(size).map((_, i) => i * 7)
  const out = new Uint8Array(size + Crypto.TAG_SIZE)
  const sealed = sodium.seal(NONCE, plaintext)
  const sealWith = (aead: Crypto.Aead) => () => {
    aead.seal(NONCE, plaintext, undefined, out)
  }
  const openWith = (aead: Crypto.Aead) => () => {
    if (aead.open(NONCE, sealed) === undefined) throw new Error("open failed")
  }
  const runs = [sealWith(sodium), sealWith(openSsl), openWith(sodium), openWith(openSsl)]
  for (const run of runs) measure(run, 1, settings.sweepMs / 2)
  const rates: Array<Array<number>> = runs.map(() => [])
  const sealRatios: Array<number> = []
  const openRatios: Array<number> = []
  for (let round = 0; round < settings.sweepRounds; round++) {
    const roundRates = new Array<number>(runs.length).fill(0)
    for (let k = 0; k < runs.length; k++) {
      const index = (round + k) % runs.length
      roundRates[index] = measure(runs[index], 1, settings.sweepMs)
    }
    for (let i = 0; i < runs.length; i++) rates[i].push(roundRates[i])
    sealRatios.push(roundRates[1] / roundRates[0])
    openRatios.push(roundRates[3] / roundRates[2])
  }
  const mbs = (i: number): number => median(rates[i]) * size / 1e6
  return {
    size,
    seal: { sodium: mbs(0), openSsl: mbs(1), ratio: median(sealRatios) },
    open: { sodium: mbs(2), openSsl: mbs(3), ratio: median(openRatios) }
  }
}

/**
 * The swept size that is the best threshold for these measurements: the one
 * maximizing the summed log-ratio of the sizes it sends to OpenSSL (so one
 * noisy size does not move it far); `undefined` when OpenSSL should take none.
 */
const bestThreshold = (rows: ReadonlyArray<SweepRow>, ratio: (row: SweepRow) => number): number | undefined => {
  let best: number | undefined
  let bestGain = 0
  let gain = 0
  for (let i = rows.length - 1; i >= 0; i--) {
    gain += Math.log(ratio(rows[i]))
    if (gain > bestGain) {
      bestGain = gain
      best = rows[i].size
    }
  }
  return best
}

const runSweep = (libsodium: Provider | undefined, settings: Settings, deadline: number): void => {
  if (libsodium === undefined || !CryptoNode.isAeadSupported()) {
    console.log("\n(crossover sweep skipped: sodium-native or node:crypto chacha20-poly1305 unavailable)")
    return
  }
  const sodium = libsodium.aead(KEY)
  const openSsl = CryptoNode.aead(KEY)
  const thresholds = CryptoSodium.DEFAULT_BULK_THRESHOLDS
  const route = (size: number, threshold: number): string => size >= threshold ? "OpenSSL" : "sodium"
  console.log(
    `\nsodium-native routes, XChaCha20-Poly1305 MB/s (${settings.sweepRounds} interleaved rounds × ` +
      `${settings.sweepMs} ms, medians; ×: OpenSSL / libsodium, median of per-round ratios)`
  )
  console.log(
    `  ${padLeft("size", 8)}${padLeft("seal lib", 10)}${padLeft("OpenSSL", 9)}${padLeft("×", 6)}` +
      `${padLeft("open lib", 10)}${padLeft("OpenSSL", 9)}${padLeft("×", 6)}  default seal / open`
  )
  const rows: Array<SweepRow> = []
  for (const size of SWEEP_SIZES) {
    if (performance.now() >= deadline) {
      console.log(`  (deadline reached at ${formatSize(size)})`)
      break
    }
    const row = sweepSize(sodium, openSsl, size, settings)
    rows.push(row)
    console.log(
      `  ${padLeft(formatSize(size), 8)}${padLeft(row.seal.sodium.toFixed(0), 10)}` +
        `${padLeft(row.seal.openSsl.toFixed(0), 9)}${padLeft(row.seal.ratio.toFixed(2), 6)}` +
        `${padLeft(row.open.sodium.toFixed(0), 10)}${padLeft(row.open.openSsl.toFixed(0), 9)}` +
        `${padLeft(row.open.ratio.toFixed(2), 6)}  ${route(size, thresholds.seal)} / ${route(size, thresholds.open)}`
    )
  }
  const at = (size: number | undefined): string => size === undefined ? "never" : formatSize(size)
  console.log(
    `  best threshold for this run's ratios: seal ${at(bestThreshold(rows, (row) => row.seal.ratio))}, ` +
      `open ${at(bestThreshold(rows, (row) => row.open.ratio))} (noisy: compare several runs)`
  )
  console.log(
    `  the default switches to OpenSSL at: seal ${formatSize(thresholds.seal)}, open ${formatSize(thresholds.open)}`
  )
}

const main = async (): Promise<void> => {
  const quick = process.argv.includes("--quick")
  const settings: Settings = quick
    ? { rounds: 3, roundMs: 80, warmupMs: 40, sweepRounds: 3, sweepMs: 40 }
    : { rounds: 5, roundMs: 200, warmupMs: 100, sweepRounds: 7, sweepMs: 60 }
  const deadline = performance.now() + HARD_DEADLINE_MS
  const available = await Effect.runPromise(Crypto.available)
  const defaultProvider = await Effect.runPromise(Crypto.makeDefault)
  const libsodiumOnly = await Effect.runPromise(
    Effect.option(CryptoSodium.load("sodium-native", { bulkThreshold: Infinity }))
  )
  const libsodium = libsodiumOnly._tag === "Some"
    ? Crypto.Crypto.of({ ...libsodiumOnly.value, name: LIBSODIUM_ONLY })
    : undefined
  const providers = libsodium === undefined ? available : [...available, libsodium]
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
  const rateOf = (testCase: Case, name: string): number | undefined =>
    results.get(testCase)?.find((row) => row.provider === name)?.rate
  const bulk = cases[2]
  const bulkDefault = rateOf(bulk, defaultProvider.name)
  const bulkLibsodium = rateOf(bulk, LIBSODIUM_ONLY)
  console.log(`\nDefault provider ${defaultProvider.name} vs noble:`)
  console.log(`  seal+open 64 B: ${verdict(small, 8)}`)
  console.log(`  handshake sides/s: ${verdict(handshake, 10)}`)
  if (bulkDefault !== undefined && bulkLibsodium !== undefined) {
    console.log(
      `  seal+open 64 KiB: ${(bulkDefault * bulk.bytes / 1e6).toFixed(0)} MB/s ` +
        `(libsodium alone ${(bulkLibsodium * bulk.bytes / 1e6).toFixed(0)} MB/s)`
    )
  }
  runSweep(libsodium, settings, deadline)
}

await main()
