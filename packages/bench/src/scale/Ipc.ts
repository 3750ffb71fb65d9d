/**
 * Child processes of the scale benchmarks, driven over Node's IPC channel
 * (`child_process.fork`, advanced serialization, so typed arrays travel as
 * they are): the parent asks a server for its statistics or a client to start
 * its load, and waits for the answer of a given type.
 *
 * Every child is killed when the parent exits (`Processes.onCleanup`), and a
 * child exits on its own when the parent's end of its stdin closes
 * (`Processes.exitWithParent`).
 *
 * @since 0.1.0
 */
import * as ChildProcess from "node:child_process"
import * as Processes from "../harness/Processes.ts"

/**
 * A message between the parent and a child: a `type` and fields.
 *
 * @category models
 * @since 0.1.0
 */
export interface Message {
  readonly type: string
  readonly [field: string]: unknown
}

/**
 * A running child.
 *
 * @category models
 * @since 0.1.0
 */
export interface Child {
  readonly pid: number
  /** Sends a message to the child. */
  readonly send: (message: Message) => void
  /** The next message of `type` (queued if it came already); rejects on exit or after `timeoutMs`. */
  readonly next: <A extends Message>(type: string, timeoutMs: number) => Promise<A>
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
  readonly stop: () => Promise<void>
}

const isMessage = (u: unknown): u is Message =>
  typeof u === "object" && u !== null && "type" in u && typeof u.type === "string"

/**
 * Starts `script` with the current Node binary and an IPC channel.
 *
 * @category spawning
 * @since 0.1.0
 */
export const fork = (script: string, args: ReadonlyArray<string>, execArgv: ReadonlyArray<string> = []): Child => {
  const child = ChildProcess.fork(script, [...args], {
    execArgv: [...execArgv],
    stdio: ["pipe", "inherit", "inherit", "ipc"],
    serialization: "advanced"
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${script}`)
  const unregister = Processes.onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  })
  const queued: Array<Message> = []
  const waiting = new Set<{ readonly type: string; readonly take: (message: Message) => void }>()
  let exitCode: number | string | undefined = undefined
  const onExit = new Set<() => void>()
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? signal ?? "unknown"
      unregister()
      for (const notify of onExit) notify()
      resolve()
    })
  })
  child.on("message", (message: unknown) => {
    if (!isMessage(message)) return
    for (const waiter of waiting) {
      if (waiter.type === message.type) {
        waiting.delete(waiter)
        waiter.take(message)
        return
      }
    }
    queued.push(message)
  })
  const next = <A extends Message>(type: string, timeoutMs: number): Promise<A> =>
    new Promise<A>((resolve, reject) => {
      const index = queued.findIndex((message) => message.type === type)
      if (index >= 0) {
        resolve(queued.splice(index, 1)[0] as A)
        return
      }
      if (exitCode !== undefined) {
        reject(new Error(`${script} exited (${exitCode}) before "${type}"`))
        return
      }
      const done = () => {
        clearTimeout(timer)
        waiting.delete(waiter)
        onExit.delete(died)
      }
      const waiter = {
        type,
        take: (message: Message) => {
          done()
          resolve(message as A)
        }
      }
      const died = () => {
        done()
        reject(new Error(`${script} exited (${String(exitCode)}) before "${type}"`))
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${script}: no "${type}" within ${timeoutMs} ms`))
      }, timeoutMs)
      waiting.add(waiter)
      onExit.add(died)
    })
  const stop = async (): Promise<void> => {
    if (exitCode !== undefined) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000)
    await exited
    clearTimeout(timer)
  }
  return { pid, send: (message) => void child.send(message), next, stop }
}

/**
 * Child side: calls `handler` for every message from the parent.
 *
 * @category child side
 * @since 0.1.0
 */
export const onMessage = (handler: (message: Message) => void): void => {
  process.on("message", (message: unknown) => {
    if (isMessage(message)) handler(message)
  })
}

/**
 * Child side: sends a message to the parent.
 *
 * @category child side
 * @since 0.1.0
 */
export const reply = (message: Message): void => {
  process.send?.(message)
}
