/**
 * The client process of a network scenario: loads a contender's driver
 * module, runs one workload against the server address it is given, prints
 * the result as `@@result {json}` and exits.
 *
 * ```sh
 * node packages/bench/src/client.ts '{"driver":"…/driver.ts","options":{},"address":{…},"workload":{…},"limits":{…}}'
 * ```
 *
 * Started by the runner (`harness/Runner.ts`), one process per measured run.
 *
 * @since 0.1.0
 */
import * as Url from "node:url"
import * as Driver from "./harness/Driver.ts"
import * as Processes from "./harness/Processes.ts"
import type * as Workload from "./harness/Workload.ts"
import * as Workloads from "./harness/Workload.ts"

/**
 * The single JSON argument of the client process.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientSpec {
  /** Absolute path of the driver module. */
  readonly driver: string
  readonly options: Driver.DriverOptions
  readonly address: Driver.Address
  readonly workload: Workload.Workload
  readonly limits: Workload.Limits
}

/**
 * What the client process announces.
 *
 * @category models
 * @since 0.1.0
 */
export type ClientOutcome =
  | { readonly ok: true; readonly result: Workload.RunResult }
  | { readonly ok: false; readonly error: string }

const main = async (): Promise<void> => {
  Processes.exitWithParent()
  const spec = JSON.parse(process.argv[2] ?? "null") as ClientSpec | null
  if (spec === null) throw new Error("usage: client.ts <spec json>")
  const module: unknown = await import(Url.pathToFileURL(spec.driver).href)
  if (!Driver.isDriverModule(module)) throw new Error(`${spec.driver} does not export make(options)`)
  const driver = await module.make(spec.options)
  const result = await Workloads.run(driver, spec.address, spec.workload, spec.limits)
  await Processes.announceResult({ ok: true, result } satisfies ClientOutcome)
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    await Processes.announceResult({ ok: false, error: message } satisfies ClientOutcome)
    process.exit(1)
  }
)
