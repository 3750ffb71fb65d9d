/**
 * The benchmark harness of network-protocol, for other benchmark scripts:
 * timing, statistics, child processes, workloads, reports and charts.
 * Entry points (`core.ts`, `main.ts`, `report.ts`, `client.ts`,
 * `baselines/server.ts`) are scripts and are not re-exported.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Data from "./harness/Data.ts"

/**
 * @since 0.1.0
 */
export * as Driver from "./harness/Driver.ts"

/**
 * @since 0.1.0
 */
export * as Measure from "./harness/Measure.ts"

/**
 * @since 0.1.0
 */
export * as Processes from "./harness/Processes.ts"

/**
 * @since 0.1.0
 */
export * as Progress from "./harness/Progress.ts"

/**
 * @since 0.1.0
 */
export * as Report from "./harness/Report.ts"

/**
 * @since 0.1.0
 */
export * as Results from "./harness/Results.ts"

/**
 * @since 0.1.0
 */
export * as Runner from "./harness/Runner.ts"

/**
 * @since 0.1.0
 */
export * as SelfSigned from "./harness/SelfSigned.ts"

/**
 * @since 0.1.0
 */
export * as Stats from "./harness/Stats.ts"

/**
 * @since 0.1.0
 */
export * as Svg from "./harness/Svg.ts"

/**
 * @since 0.1.0
 */
export * as Workload from "./harness/Workload.ts"
