/**
 * The entity of the example cluster: a `Greeter` that answers `Hello` where
 * it lives and, for `Relay`, asks another `Greeter` — usually hosted by the
 * other runner process — to answer. Every reply says which runner process
 * produced it.
 */
import { Effect, Schema } from "effect"
import { Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"

/** Where a reply was produced. */
export const Where = Schema.Struct({ runner: Schema.String, pid: Schema.Number })

export const Hello = Rpc.make("Hello", {
  payload: { secret: Schema.String },
  success: Schema.Struct({ greeting: Schema.String, at: Where })
})

export const Relay = Rpc.make("Relay", {
  payload: { target: Schema.String, secret: Schema.String },
  success: Schema.Struct({ greeting: Schema.String, at: Where, via: Where })
})

export const Greeter = Entity.make("Greeter", [Hello, Relay])

/** The `Greeter` entity, hosted by every runner. */
export const GreeterLive = Greeter.toLayer(Effect.gen(function*() {
  const greeter = yield* Greeter.client
  const here = { runner: process.env.RUNNER_NAME ?? "runner", pid: process.pid }
  return Greeter.of({
    Hello: ({ payload }) => Effect.succeed({ greeting: `hello, ${payload.secret}`, at: here }),
    Relay: ({ payload }) =>
      greeter(payload.target).Hello({ secret: payload.secret }).pipe(
        Effect.map((reply) => ({ ...reply, via: here })),
        Effect.orDie
      )
  })
}))

/**
 * Settings every member of the example cluster must share (the shard count),
 * and timings short enough for a demo on one machine.
 */
export const shardingConfig = {
  shardsPerGroup: 32,
  refreshAssignmentsInterval: "250 millis",
  sendRetryInterval: "50 millis"
} as const
