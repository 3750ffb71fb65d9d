/**
 * Child processes for benchmarks: servers and clients run in their own Node
 * processes (the same Node binary, `process.execPath`), so each end has its
 * own event loop and heap, as in a real deployment.
 *
 * The parent side starts a child, reads one announcement line from its stdout
 * (`@@ready {json}` for a server's address, `@@result {json}` for a client's
 * result), and stops it by PID. Every child is tracked: `SIGINT`, `SIGTERM`
 * and normal exit of the parent kill whatever is still running, and children
 * exit on their own when the parent's end of their stdin closes (the parent
 * died without cleaning up).
 *
 * @since 0.1.0
 */
import * as ChildProcess from "node:child_process"
import * as Readline from "node:readline"

/**
 * A Node script to run in a child process.
 *
 * @category models
 * @since 0.1.0
 */
export interface Command {
  /** Absolute path of the `.ts`/`.js` entry point. */
  readonly script: string
  readonly args: ReadonlyArray<string>
  /** Extra Node flags, e.g. `--expose-gc`. */
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
}

/**
 * A running child process.
 *
 * @category models
 * @since 0.1.0
 */
export interface Child {
  readonly pid: number
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>
  /** Whether the process has not exited yet. */
  readonly isRunning: () => boolean
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  readonly stop: (graceMs?: number) => Promise<void>
}

const READY = "@@ready "
const RESULT = "@@result "

const children = new Map<number, ChildProcess.ChildProcess>()
const cleanups = new Set<() => void>()
let installed = false

const killAll = () => {
  for (const [pid, child] of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  }
  children.clear()
  for (const cleanup of cleanups) {
    try {
      cleanup()
    } catch {
      // best effort
    }
  }
  cleanups.clear()
}

/**
 * Installs the exit and signal handlers that kill every tracked child and run
 * every registered cleanup. Idempotent; called by {@link spawn}.
 *
 * @category lifecycle
 * @since 0.1.0
 */
export const installCleanup = (): void => {
  if (installed) return
  installed = true
  process.on("exit", killAll)
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nreceived ${signal}: stopping ${children.size} child process(es)\n`)
    killAll()
    process.exit(signal === "SIGINT" ? 130 : 143)
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
}

/**
 * Registers a synchronous cleanup (e.g. removing a temporary directory) that
 * runs on exit or on a signal. Returns a function that unregisters it.
 *
 * @category lifecycle
 * @since 0.1.0
 */
export const onCleanup = (cleanup: () => void): (() => void) => {
  installCleanup()
  cleanups.add(cleanup)
  return () => {
    cleanups.delete(cleanup)
  }
}

/**
 * The number of tracked children still running.
 *
 * @category lifecycle
 * @since 0.1.0
 */
export const running = (): number => children.size

/**
 * Starts `command` with the current Node binary and calls `onLine` for every
 * stdout line. stderr is inherited; stdin is a pipe whose closing tells the
 * child its parent is gone (see {@link exitWithParent}).
 *
 * @category spawning
 * @since 0.1.0
 */
export const spawn = (command: Command, onLine: (line: string) => void): Child => {
  installCleanup()
  const child = ChildProcess.spawn(
    process.execPath,
    [...(command.execArgv ?? []), command.script, ...command.args],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...command.env } }
  )
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${command.script}`)
  children.set(pid, child)
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(pid)
      resolve(code ?? signal ?? "unknown")
    })
  })
  child.once("error", () => children.delete(pid))
  Readline.createInterface({ input: child.stdout! }).on("line", onLine)
  const stop = async (graceMs = 2000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(pid, "SIGTERM")
    } catch {
      return
    }
    let timer: NodeJS.Timeout | undefined
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // gone meanwhile
        }
        resolve()
      }, graceMs)
    })
    await Promise.race([exited.then(() => undefined), killed])
    clearTimeout(timer)
    await exited
  }
  const isRunning = () => child.exitCode === null && child.signalCode === null
  return { pid, exited, isRunning, stop }
}

/** Waits for the first line with `prefix`, parsed as JSON, or fails on exit/timeout. */
const announcement = <A>(
  command: Command,
  prefix: string,
  timeoutMs: number
): Promise<{ readonly child: Child; readonly value: A }> =>
  new Promise((resolve, reject) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined = undefined
    const child = spawn(command, (line) => {
      if (settled || !line.startsWith(prefix)) return
      settled = true
      clearTimeout(timer)
      try {
        resolve({ child, value: JSON.parse(line.slice(prefix.length)) as A })
      } catch (error) {
        void child.stop()
        reject(error)
      }
    })
    timer = setTimeout(() => {
      if (settled) return
      settled = true
      void child.stop().then(() => reject(new Error(`${command.script}: no ${prefix.trim()} within ${timeoutMs} ms`)))
    }, timeoutMs)
    void child.exited.then((code) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${command.script} ${command.args.join(" ")} exited (${code}) before ${prefix.trim()}`))
    })
  })

/**
 * Starts a server process and resolves once it announced its address with
 * `@@ready {json}`. The caller owns the returned child and must `stop` it.
 *
 * @category spawning
 * @since 0.1.0
 */
export const startServer = async <Address>(
  command: Command,
  timeoutMs = 15_000
): Promise<{ readonly child: Child; readonly address: Address }> => {
  const { child, value } = await announcement<Address>(command, READY, timeoutMs)
  return { child, address: value }
}

/**
 * Runs a client process to completion and resolves with the value it
 * announced with `@@result {json}`. The process is killed if it has not
 * finished after `timeoutMs`.
 *
 * @category spawning
 * @since 0.1.0
 */
export const runForResult = async <A>(command: Command, timeoutMs: number): Promise<A> => {
  const started = performance.now()
  const { child, value } = await announcement<A>(command, RESULT, timeoutMs)
  const left = Math.max(1000, timeoutMs - (performance.now() - started))
  const timer = setTimeout(() => void child.stop(), left)
  await child.exited
  clearTimeout(timer)
  return value
}

// -----------------------------------------------------------------------------
// child side
// -----------------------------------------------------------------------------

/**
 * Child side: announces the server's address to the parent.
 *
 * @category child side
 * @since 0.1.0
 */
export const announceReady = (address: unknown): void => {
  process.stdout.write(`${READY}${JSON.stringify(address)}\n`)
}

/**
 * Child side: announces the client's result to the parent.
 *
 * @category child side
 * @since 0.1.0
 */
export const announceResult = (result: unknown): Promise<void> =>
  new Promise((resolve) => process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`, () => resolve()))

/**
 * Child side: runs `onExit` (then exits) when the parent closes our stdin —
 * its way of saying it is gone — or when we get SIGTERM/SIGINT.
 *
 * @category child side
 * @since 0.1.0
 */
export const exitWithParent = (onExit: () => void = () => {}): void => {
  let exiting = false
  const exit = (code: number) => {
    if (exiting) return
    exiting = true
    try {
      onExit()
    } finally {
      process.exit(code)
    }
  }
  process.stdin.on("end", () => exit(0))
  process.stdin.on("error", () => exit(0))
  process.stdin.resume()
  process.once("SIGTERM", () => exit(0))
  process.once("SIGINT", () => exit(130))
}
