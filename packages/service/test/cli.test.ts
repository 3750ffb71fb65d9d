/**
 * The `np` command line, run as a child process (`process.execPath`, Node 24
 * under vitest) against real loopback sockets. Every child has a deadline and
 * is killed at the end of its test whatever happened.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NetworkConfig from "@network-protocol/core/NetworkConfig"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeAll } from "vitest"

const NP = fileURLToPath(new URL("../src/bin/np.ts", import.meta.url))

/** Children of the current test, killed after it; and children shared by a suite, killed after the file. */
const children = new Set<ChildProcess.ChildProcess>()
const shared = new Set<ChildProcess.ChildProcess>()

const killAll = (set: Set<ChildProcess.ChildProcess>) => {
  for (const child of set) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  set.clear()
}

afterEach(() => killAll(children))
afterAll(() => killAll(shared))

const spawn = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}, isShared = false) => {
  const child = ChildProcess.spawn(process.execPath, [NP, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env }
  })
  const set = isShared ? shared : children
  set.add(child)
  child.once("exit", () => set.delete(child))
  return child
}

interface Outcome {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

interface Running {
  /** Settles when the process has exited (rejects if it had to be killed at its deadline). */
  readonly outcome: Promise<Outcome>
  /** Resolves when standard output matches (bounded by `timeout` ms). */
  readonly waitFor: (pattern: RegExp, timeout?: number) => Promise<void>
}

/** Starts `np args`, killing it after `timeout` ms. */
const start = (
  args: ReadonlyArray<string>,
  options: { readonly timeout?: number; readonly env?: Readonly<Record<string, string>> } = {}
): Running => {
  const started = Date.now()
  const child = spawn(args, options.env)
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const outcome = new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`np ${args.join(" ")} did not finish in ${options.timeout ?? 20_000} ms\n${stdout}\n${stderr}`))
    }, options.timeout ?? 20_000)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, millis: Date.now() - started })
    })
  })
  const waitFor = (pattern: RegExp, timeout = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeout
      const poll = () => {
        if (pattern.test(stdout)) return resolve()
        if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
          return reject(new Error(`np ${args.join(" ")}: no ${pattern} in its output\n${stdout}\n${stderr}`))
        }
        setTimeout(poll, 20)
      }
      poll()
    })
  return { outcome, waitFor }
}

/** Runs `np args` to completion, killing it after `timeout` ms. */
const run = (
  args: ReadonlyArray<string>,
  options: { readonly timeout?: number; readonly env?: Readonly<Record<string, string>> } = {}
): Promise<Outcome> => start(args, options).outcome

interface Served {
  readonly child: ChildProcess.ChildProcess
  readonly address: string
  readonly output: () => string
  /** Resolves with the exit code when the process has exited. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** The address in a `listening on ADDRESS` line or a `{"event":"listening",...}` line. */
const listeningAddress = (output: string): string | undefined => {
  for (const line of output.split("\n")) {
    const text = /listening on (\S+)/.exec(line)
    if (text !== null) return text[1]
    if (line.startsWith("{") && line.includes(`"listening"`)) {
      const event: unknown = JSON.parse(line)
      if (typeof event === "object" && event !== null && "address" in event) return String(event.address)
    }
  }
  return undefined
}

/** Starts `np serve args` and waits (bounded) for its listening line. */
const serve = (args: ReadonlyArray<string>, options: { readonly shared?: boolean } = {}): Promise<Served> =>
  new Promise((resolve, reject) => {
    const timeout = 15_000
    const child = spawn(["serve", ...args], {}, options.shared === true)
    let stdout = ""
    let stderr = ""
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("close", (code, signal) => done({ code, signal }))
    )
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`np serve did not report listening in ${timeout} ms\n${stdout}\n${stderr}`))
    }, timeout)
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      const address = stdout.endsWith("\n") ? listeningAddress(stdout) : undefined
      if (address !== undefined) {
        clearTimeout(timer)
        resolve({ child, address, output: () => stdout + stderr, exited })
      }
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`np serve exited with ${code} before listening\n${stdout}\n${stderr}`))
    })
  })

/** Waits (bounded) for a process to exit after a signal. */
const stop = async (served: Served, signal: NodeJS.Signals, timeout = 15_000) => {
  served.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      served.child.kill("SIGKILL")
      reject(new Error(`np serve did not exit within ${timeout} ms of ${signal}\n${served.output()}`))
    }, timeout)
  })
  try {
    return await Promise.race([served.exited, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Whether a TCP connection to the address is refused. */
const refused = (address: string): Promise<boolean> => {
  const colon = address.lastIndexOf(":")
  return new Promise((resolve) => {
    const socket = Net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) })
    socket.setTimeout(2_000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })
}

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "np-cli-"))

const parseJson = (text: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(text)
  assert.isTrue(typeof value === "object" && value !== null && !Array.isArray(value), "a JSON object")
  return value as Record<string, unknown>
}

// -----------------------------------------------------------------------------

describe("np --help", () => {
  const commands: ReadonlyArray<ReadonlyArray<string>> = [
    [],
    ["serve"],
    ["ping"],
    ["echo"],
    ["send"],
    ["cert"],
    ["keygen"],
    ["config"],
    ["config", "example"],
    ["config", "validate"],
    ["config", "show"],
    ["demo"]
  ]
  for (const command of commands) {
    it(`np ${[...command, "--help"].join(" ")}`, async () => {
      const outcome = await run([...command, "--help"])
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      assert.include(outcome.stdout, "USAGE")
      assert.include(outcome.stdout, `np ${command.join(" ")}`.trim())
      if (command.length === 0) {
        for (const sub of ["serve", "ping", "echo", "send", "cert", "keygen", "config", "demo"]) {
          assert.include(outcome.stdout, sub)
        }
      }
    })
  }

  it("a usage error exits 2 with a message on standard error", async () => {
    const bogus = await run(["bogus"])
    assert.strictEqual(bogus.code, 2)
    assert.include(bogus.stderr, "Unknown subcommand")
    const badCount = await run(["ping", "--count", "0"])
    assert.strictEqual(badCount.code, 2)
    assert.include(badCount.stderr, "--count")
    const both = await run(["ping", "--address", "127.0.0.1:1", "--uds", "/tmp/x.sock"])
    assert.strictEqual(both.code, 2)
    assert.include(both.stderr, "either --address or --uds")
  })
})

describe("np serve + ping / echo / send", () => {
  let daemon: Served | undefined
  const address = () => {
    assert.isDefined(daemon)
    return daemon?.address ?? ""
  }

  beforeAll(async () => {
    daemon = await serve(["--address", "127.0.0.1:0", "--demo-handlers"], { shared: true })
  })

  afterAll(async () => {
    if (daemon !== undefined) assert.strictEqual((await stop(daemon, "SIGTERM")).code, 0)
  })

  it("serve prints listening and the real port", () => {
    const match = /^127\.0\.0\.1:(\d+)$/.exec(address())
    assert.isNotNull(match)
    assert.isAbove(Number(match?.[1]), 0)
  })

  it("ping --count 3 gets 3 replies and exits 0", async () => {
    const outcome = await run(["ping", "--address", address(), "--count", "3", "--interval", "20"])
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    assert.strictEqual(outcome.stdout.match(/^Pong from .* seq=\d+ time=[\d.]+ ms$/gm)?.length, 3, outcome.stdout)
    assert.include(outcome.stdout, "3 sent, 3 received, 0% loss")
    assert.match(outcome.stdout, /rtt min\/mean\/p50\/p90\/p99\/max = [\d.]+(\/[\d.]+){5} ms/)
  })

  it("ping --json", async () => {
    const outcome = await run(["ping", "-a", address(), "-c", "3", "-i", "0", "--json"])
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    const report = parseJson(outcome.stdout)
    assert.strictEqual(report.received, 3)
    assert.strictEqual(report.lost, 0)
    assert.strictEqual(report.profile, "secure")
    const rtt = report.rttMillis as Record<string, number>
    assert.isTrue(rtt.min <= rtt.p50 && rtt.p50 <= rtt.p99 && rtt.p99 <= rtt.max)
  })

  it("echo prints the echoed text", async () => {
    const outcome = await run(["echo", "--address", address(), "hello", "world"])
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    assert.strictEqual(outcome.stdout.trim(), `Echo "hello world"`)
  })

  it("send prints the reply command and payload", async () => {
    const hex = await run(["send", "--address", address(), "--command", "ECHO", "--payload-hex", "6869ff"])
    assert.strictEqual(hex.code, 0, hex.stderr)
    assert.include(hex.stdout, `command="ECHO"`)
    assert.include(hex.stdout, "hex=6869ff")
    const upper = await run(["send", "--address", address(), "--command", "UPPER", "--payload", "shout", "--json"])
    assert.strictEqual(upper.code, 0, upper.stderr)
    const reply = parseJson(upper.stdout).reply as Record<string, unknown>
    assert.deepStrictEqual(reply, {
      type: "Custom",
      command: "UPPER",
      payloadHex: Buffer.from("SHOUT").toString("hex"),
      payloadBytes: 5,
      payloadUtf8: "SHOUT"
    })
  })

  it("send with an unhandled command exits 1 after --timeout", async () => {
    const outcome = await run(["send", "--address", address(), "--command", "NO_SUCH_COMMAND", "--timeout", "500"])
    assert.strictEqual(outcome.code, 1)
    assert.include(outcome.stderr, "no reply")
    assert.include(outcome.stderr, "500ms")
    assert.isAtLeast(outcome.millis, 450)
  })

  it("send --payload-hex rejects bad hex with exit 2", async () => {
    const outcome = await run(["send", "--address", address(), "--command", "ECHO", "--payload-hex", "abc"])
    assert.strictEqual(outcome.code, 2)
    assert.include(outcome.stderr, "--payload-hex")
  })
})

describe("np serve lifecycle", () => {
  it("SIGTERM: graceful shutdown, exit 0, the port is closed", async () => {
    const served = await serve(["--address", "127.0.0.1:0"])
    assert.isFalse(await refused(served.address))
    const exit = await stop(served, "SIGTERM")
    assert.strictEqual(exit.code, 0, served.output())
    assert.include(served.output(), "shutting down")
    assert.isTrue(await refused(served.address))
  })

  it("SIGTERM with a client connected: the daemon closes the session and exits 0", async () => {
    const served = await serve(["--address", "127.0.0.1:0"])
    const pinger = start(["ping", "--address", served.address, "--count", "200", "--interval", "50"])
    // the daemon has a session once the first Pong is printed
    await pinger.waitFor(/Pong from/)
    const started = Date.now()
    const exit = await stop(served, "SIGTERM")
    assert.strictEqual(exit.code, 0, served.output())
    assert.isBelow(Date.now() - started, 10_000)
    assert.include(served.output(), "1 connection open")
    const ping = await pinger.outcome
    assert.strictEqual(ping.code, 1)
    assert.match(ping.stdout, /Pong from/)
    assert.include(ping.stdout, "connection lost")
  })

  it("SIGINT: exit 0", async () => {
    const served = await serve(["--address", "127.0.0.1:0", "--json"])
    const exit = await stop(served, "SIGINT")
    assert.strictEqual(exit.code, 0, served.output())
    assert.include(served.output(), `"event":"stopped"`)
  })

  it("ping against a closed port exits 1", async () => {
    const served = await serve(["--address", "127.0.0.1:0"])
    await stop(served, "SIGTERM")
    const outcome = await run(["ping", "--address", served.address, "--count", "1"])
    assert.strictEqual(outcome.code, 1)
    assert.include(outcome.stderr, "cannot connect")
  })

  it("a Unix socket", async () => {
    const dir = tempDir()
    try {
      const path = Path.join(dir, "np.sock")
      const served = await serve(["--uds", path])
      assert.strictEqual(served.address, path)
      const outcome = await run(["ping", "--uds", path, "--count", "2", "--interval", "0"])
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      assert.include(outcome.stdout, "2 received")
      assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a bad configuration exits 2 naming the problem", async () => {
    const dir = tempDir()
    try {
      const file = Path.join(dir, "bad.toml")
      Fs.writeFileSync(file, "[server]\nbackpressure_limit = 0\n")
      const outcome = await run(["serve", "--config", file, "--address", "127.0.0.1:0"])
      assert.strictEqual(outcome.code, 2)
      assert.include(outcome.stderr, "Backpressure limit must be greater than 0")
      const env = await run(["serve", "--address", "127.0.0.1:0"], {
        env: { NETWORK_PROTOCOL_SERVER_MAX_CONNECTIONS: "lots" }
      })
      assert.strictEqual(env.code, 2)
      assert.include(env.stderr, "NETWORK_PROTOCOL_SERVER_MAX_CONNECTIONS")
      const address = await run(["serve", "--address", "localhost:0"])
      assert.strictEqual(address.code, 2)
      assert.include(address.stderr, "Invalid server address")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("np cert", () => {
  it("writes a certificate that parses, a matching PKCS#8 key, and prints the pin", async () => {
    const dir = tempDir()
    try {
      const out = Path.join(dir, "certs")
      const outcome = await run(["cert", "--cn", "localhost", "--san", "localhost", "--san", "127.0.0.1", "--out", out])
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      const certPem = Fs.readFileSync(Path.join(out, "cert.pem"), "utf8")
      const keyPem = Fs.readFileSync(Path.join(out, "key.pem"), "utf8")
      assert.include(keyPem, "-----BEGIN PRIVATE KEY-----")
      const certificate = new Crypto.X509Certificate(certPem)
      const key = Crypto.createPrivateKey(keyPem)
      assert.isTrue(certificate.checkPrivateKey(key))
      assert.strictEqual(key.asymmetricKeyDetails?.namedCurve, "prime256v1")
      assert.include(certificate.subject, "CN=localhost")
      assert.include(certificate.subjectAltName ?? "", "IP Address:127.0.0.1")
      assert.isTrue(certificate.verify(certificate.publicKey))
      const pin = Crypto.createHash("sha256").update(certificate.raw).digest("hex")
      assert.include(outcome.stdout, pin)
      assert.strictEqual(Fs.statSync(Path.join(out, "key.pem")).mode & 0o777, 0o600)

      const again = await run(["cert", "--cn", "localhost", "--out", out])
      assert.strictEqual(again.code, 1)
      assert.include(again.stderr, "--force")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("serve --tls-cert/--tls-key and ping --pin", async () => {
    const dir = tempDir()
    try {
      const made = await run(["cert", "--cn", "localhost", "--san", "127.0.0.1", "--out", dir, "--json"])
      assert.strictEqual(made.code, 0, made.stderr)
      const { cert, key, pinSha256 } = parseJson(made.stdout)
      assert.isString(cert)
      assert.isString(key)
      assert.isString(pinSha256)
      const served = await serve(["--address", "127.0.0.1:0", "--tls-cert", String(cert), "--tls-key", String(key)])
      assert.include(served.output(), String(pinSha256))
      const pinned = await run(["ping", "--address", served.address, "--pin", String(pinSha256), "-c", "2", "-i", "0"])
      assert.strictEqual(pinned.code, 0, pinned.stderr)
      assert.include(pinned.stdout, "tls, plain profile")
      const trusted = await run(["echo", "--address", served.address, "--ca", String(cert), "over TLS"])
      assert.strictEqual(trusted.code, 0, trusted.stderr)
      assert.strictEqual(trusted.stdout.trim(), `Echo "over TLS"`)
      const wrongPin = await run(["ping", "--address", served.address, "--pin", "00".repeat(32), "-c", "1"])
      assert.strictEqual(wrongPin.code, 1)
      assert.include(wrongPin.stderr, "pin")
      assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("np serve / ping: the extended profile", () => {
  it("--help lists the extended-profile flags", async () => {
    const serveHelp = await run(["serve", "--help"])
    assert.strictEqual(serveHelp.code, 0, serveHelp.stderr)
    for (const flag of ["--identity", "--require-extended", "--trusted-client", "--require-client-auth", "--compression", "--cipher"]) {
      assert.include(serveHelp.stdout, flag)
    }
    const pingHelp = await run(["ping", "--help"])
    assert.strictEqual(pingHelp.code, 0, pingHelp.stderr)
    for (const flag of ["--server-key", "--require-extended", "--identity", "--compression", "--cipher", "--pin"]) {
      assert.include(pingHelp.stdout, flag)
    }
  })

  it("keygen, serve --identity, ping --server-key (file or fingerprint); a wrong key fails; no flags falls back", async () => {
    const dir = tempDir()
    try {
      const made = await run(["keygen", "--out", dir, "--json"])
      assert.strictEqual(made.code, 0, made.stderr)
      const { keyFile, publicKeyFile, fingerprint } = parseJson(made.stdout)
      assert.isString(keyFile)
      assert.isString(publicKeyFile)
      assert.isString(fingerprint)
      const served = await serve(["--address", "127.0.0.1:0", "--identity", String(keyFile), "--compression", "zstd"])
      assert.include(served.output(), `identity ${String(fingerprint)}`)
      assert.include(served.output(), "extended profile")

      const byFile = await run(["ping", "--address", served.address, "--server-key", String(publicKeyFile), "-c", "2", "-i", "0"])
      assert.strictEqual(byFile.code, 0, byFile.stderr)
      assert.include(byFile.stdout, "tcp, extended profile")
      const byFingerprint = await run([
        "echo",
        "--address",
        served.address,
        "--server-key",
        String(fingerprint),
        "--compression",
        "zstd",
        "pinned"
      ])
      assert.strictEqual(byFingerprint.code, 0, byFingerprint.stderr)
      assert.strictEqual(byFingerprint.stdout.trim(), `Echo "pinned"`)

      const wrong = await run(["ping", "--address", served.address, "--server-key", `sha256:${"00".repeat(32)}`, "-c", "1"])
      assert.notStrictEqual(wrong.code, 0)
      assert.include(wrong.stderr, "server's identity")

      const fallback = await run(["ping", "--address", served.address, "-c", "1"])
      assert.strictEqual(fallback.code, 0, fallback.stderr)
      assert.include(fallback.stdout, "tcp, secure profile")
      assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("serve --cipher aes-256-gcm: clients with and without --cipher aes-256-gcm are served; a bad name exits 2", async () => {
    const served = await serve(["--address", "127.0.0.1:0", "--cipher", "aes-256-gcm", "--compression", "lz4"])
    assert.include(served.output(), "extended profile")
    const aes = await run(["echo", "--address", served.address, "--cipher", "aes-256-gcm", "--require-extended", "over aes"])
    assert.strictEqual(aes.code, 0, aes.stderr)
    assert.strictEqual(aes.stdout.trim(), `Echo "over aes"`)
    const both = await run([
      "ping",
      "--address",
      served.address,
      "--cipher",
      "xchacha20-poly1305",
      "--cipher",
      "aes-256-gcm",
      "-c",
      "2",
      "-i",
      "0"
    ])
    assert.strictEqual(both.code, 0, both.stderr)
    assert.include(both.stdout, "tcp, extended profile")
    const xchacha = await run(["echo", "--address", served.address, "--require-extended", "over xchacha"])
    assert.strictEqual(xchacha.code, 0, xchacha.stderr)
    assert.strictEqual(xchacha.stdout.trim(), `Echo "over xchacha"`)
    const bad = await run(["echo", "--address", served.address, "--cipher", "rot13", "x"])
    assert.strictEqual(bad.code, 2)
    assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
  })

  it("serve --json reports the identity", async () => {
    const dir = tempDir()
    try {
      const made = await run(["keygen", "--out", dir, "--json"])
      assert.strictEqual(made.code, 0, made.stderr)
      const { keyFile, fingerprint } = parseJson(made.stdout)
      const served = await serve(["--address", "127.0.0.1:0", "--identity", String(keyFile), "--json"])
      const event = parseJson(served.output().split("\n")[0] ?? "")
      assert.strictEqual(event.identity, fingerprint)
      assert.strictEqual(event.profile, "extended")
      assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("ping --require-extended against a plain daemon fails", async () => {
    const served = await serve(["--address", "127.0.0.1:0"])
    const plain = await run(["ping", "--address", served.address, "-c", "1", "-i", "0"])
    assert.strictEqual(plain.code, 0, plain.stderr)
    const required = await run(["ping", "--address", served.address, "--require-extended", "-c", "1", "--timeout", "3000"])
    assert.notStrictEqual(required.code, 0)
    assert.include(required.stderr, "cannot connect")
    assert.strictEqual((await stop(served, "SIGTERM")).code, 0)
  })

  it("bad key files and fingerprints exit 2 with a message", async () => {
    const dir = tempDir()
    try {
      const missing = Path.join(dir, "missing.key")
      const serveMissing = await run(["serve", "--address", "127.0.0.1:0", "--identity", missing])
      assert.strictEqual(serveMissing.code, 2)
      assert.include(serveMissing.stderr, "--identity")
      const garbage = Path.join(dir, "garbage.key")
      Fs.writeFileSync(garbage, "not a key\n")
      const serveGarbage = await run(["serve", "--address", "127.0.0.1:0", "--identity", garbage])
      assert.strictEqual(serveGarbage.code, 2)
      assert.include(serveGarbage.stderr, "--identity")
      const badTrusted = await run(["serve", "--address", "127.0.0.1:0", "--trusted-client", "sha256:xyz"])
      assert.strictEqual(badTrusted.code, 2)
      assert.include(badTrusted.stderr, "--trusted-client")
      const badPin = await run(["ping", "--address", "127.0.0.1:1", "--server-key", "sha256:1234"])
      assert.strictEqual(badPin.code, 2)
      assert.include(badPin.stderr, "--server-key")
      const badPubFile = await run(["ping", "--address", "127.0.0.1:1", "--server-key", garbage])
      assert.strictEqual(badPubFile.code, 2)
      assert.include(badPubFile.stderr, "--server-key")
      const clientMissing = await run(["ping", "--address", "127.0.0.1:1", "--identity", missing])
      assert.strictEqual(clientMissing.code, 2)
      assert.include(clientMissing.stderr, "--identity")
      const overTls = await run(["ping", "--address", "127.0.0.1:1", "--tls", "--require-extended"])
      assert.strictEqual(overTls.code, 2)
      assert.include(overTls.stderr, "not TLS")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("np config", () => {
  it.live("example parses with NetworkConfig.fromToml and validates", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.promise(() => run(["config", "example"]))
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      const config = yield* NetworkConfig.fromToml(outcome.stdout)
      yield* NetworkConfig.validateStrict(config)
      assert.deepStrictEqual(NetworkConfig.toToml(config), NetworkConfig.toToml(NetworkConfig.defaults))
    }))

  it("validate: a good file exits 0", async () => {
    const dir = tempDir()
    try {
      const file = Path.join(dir, "good.toml")
      Fs.writeFileSync(file, NetworkConfig.exampleConfig())
      const outcome = await run(["config", "validate", file])
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      assert.include(outcome.stdout, "valid")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("validate: a bad file exits non-zero naming the field", async () => {
    const dir = tempDir()
    try {
      const typed = Path.join(dir, "typed.toml")
      Fs.writeFileSync(typed, "[server]\nmax_connections = -1\nmax_conections = 5\n")
      const outcome = await run(["config", "validate", typed])
      assert.notStrictEqual(outcome.code, 0)
      assert.include(outcome.stdout, "server.max_connections")
      assert.include(outcome.stdout, "server.max_conections: unknown key")
      assert.include(outcome.stderr, "invalid (2 errors)")

      const semantic = Path.join(dir, "semantic.toml")
      Fs.writeFileSync(semantic, "[client]\nresponse_timeout = 5\n[transport]\nencryption_enabled = false\n")
      const json = await run(["config", "validate", semantic, "--json"])
      assert.notStrictEqual(json.code, 0)
      const report = parseJson(json.stdout)
      assert.strictEqual(report.valid, false)
      assert.deepStrictEqual(report.errors, ["Response timeout too short (minimum: 100ms)"])
      assert.deepStrictEqual(report.warnings, ["WARNING: Encryption is disabled - not recommended for production"])

      const broken = Path.join(dir, "broken.toml")
      Fs.writeFileSync(broken, "[server\n")
      const syntax = await run(["config", "validate", broken])
      assert.notStrictEqual(syntax.code, 0)
      assert.include(syntax.stdout, "line 1")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("show applies environment variables", async () => {
    const outcome = await run(["config", "show"], { env: { NETWORK_PROTOCOL_CLIENT_RESPONSE_TIMEOUT: "1234" } })
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    assert.include(outcome.stdout, "response_timeout = 1234")
  })
})

describe("np demo", () => {
  it("exits 0 and prints a summary", async () => {
    const outcome = await run(["demo"], { timeout: 30_000 })
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    for (const part of ["listening on 127.0.0.1:", "Pong", `"MAKE SOME NOISE"`, "summary", "msg/s", "p50", "p99"]) {
      assert.include(outcome.stdout, part)
    }
    assert.match(outcome.stdout, /messages +[\d,]+ echo round trips/)
    assert.isBelow(outcome.millis, 15_000)
  })

  it("--json", async () => {
    const outcome = await run(["demo", "--json", "--duration", "300", "--messages", "2000", "--window", "16"])
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    const report = parseJson(outcome.stdout)
    const throughput = report.throughput as Record<string, unknown>
    assert.isAbove(Number(throughput.messages), 0)
    assert.isAtMost(Number(throughput.messages), 2000)
    assert.strictEqual(throughput.window, 16)
    assert.strictEqual((report.exchanges as ReadonlyArray<unknown>).length, 4)
  })
})
