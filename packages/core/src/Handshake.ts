/**
 * The crate's secure handshake (SPEC §3) as two pure, per-connection state
 * machines: values in, values out, no I/O and no global state. The transport
 * moves the three plaintext messages; these machines check them and derive
 * the session key.
 *
 * ```
 * client                                   server
 * init(now)      ── SecureHandshakeInit ──►  respond(init, now)
 *                ◄─ SecureHandshakeResponse ─
 * confirm(resp)  ── SecureHandshakeConfirm ─►  finish(confirm)
 *   → sessionKey                               → sessionKey
 * ```
 *
 * - Init: client ephemeral X25519 public key, wall clock in ms, 16 random bytes.
 * - Response: server ephemeral public key, 16 random bytes, SHA-256(client nonce).
 * - Confirm: SHA-256(server nonce).
 * - session key = SHA-256(shared ‖ "client_nonce" ‖ client nonce ‖ "server_nonce" ‖ server nonce),
 *   the same key in both directions.
 *
 * The server refuses an Init whose timestamp is more than 2 s ahead of its
 * clock or more than 30 s behind it (both bounds inclusive), or whose nonce
 * its {@link ReplayCache.ReplayCache} (shared by all connections) has seen —
 * keyed by the nonce alone, whatever the timestamp or the peer address (see
 * that module). The cache's TTL must cover the window (default 300 s ≥ 32 s)
 * so that a nonce it has forgotten is refused as stale.
 * Beyond the crate, both sides refuse a peer public key that yields an
 * all-zero X25519 shared secret (a low-order point, SPEC §15.1 #5), which
 * would make the session key computable from the public nonces.
 *
 * Errors are `ProtocolError`s with a `HandshakeError` reason carrying the
 * crate's texts. A machine that fails stays failed. Secrets are overwritten
 * with zeros as soon as they are no longer needed, on failure, and on
 * `destroy()` (which the scoped constructors call when their scope closes):
 * the ephemeral secret key right after the shared secret is computed, the
 * shared secret right after the session key is derived. The session key is
 * handed over to the caller, who owns it from then on.
 *
 * Note (SPEC §15.1 #1): the exchange is unauthenticated, exactly as in the
 * crate, so it does not stop an active man in the middle.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Crypto from "./Crypto.ts"
import { equalConstantTime } from "./internal/bytes.ts"
import { Machine } from "./internal/handshakeMachine.ts"
import * as Message from "./Message.ts"
import * as ProtocolError from "./ProtocolError.ts"
import * as ReplayCache from "./ReplayCache.ts"

/**
 * @category type IDs
 * @since 0.1.0
 */
export const TypeId = "~network-protocol/Handshake" as const

/**
 * Size of the handshake nonces, in bytes.
 *
 * @category constants
 * @since 0.1.0
 */
export const NONCE_SIZE = 16

/**
 * How far a client timestamp may be ahead of the server clock: 2,000 ms (inclusive).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_FUTURE_TOLERANCE_MILLIS = 2_000

/**
 * How far a client timestamp may be behind the server clock: 30,000 ms (inclusive).
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_MAX_AGE_MILLIS = 30_000

/**
 * The crate's error texts (the `detail` of the `HandshakeError` reason), plus
 * {@link errors.lowOrderKey} for the check the crate lacks.
 *
 * @category constants
 * @since 0.1.0
 */
export const errors = {
  staleTimestamp: "Invalid or stale timestamp",
  replay: "Replay attack detected - nonce/timestamp already seen",
  clientVerification: "Client failed to verify server nonce",
  serverVerification: "Server failed to verify client nonce",
  unexpectedInit: "Unexpected message type",
  unexpectedConfirm: "Expected handshake confirmation",
  unexpectedResponse: "Invalid server response message type",
  lowOrderKey: "Invalid peer public key (low-order point: all-zero shared secret)",
  clientNonceNotFound: "Client nonce not found",
  clientSecretNotFound: "Client secret not found",
  serverNonceNotFound: "Server nonce not found",
  serverSecretNotFound: "Server secret not found",
  alreadyStarted: "Handshake already started",
  timeWentBackwards: "System time error: time went backwards"
} as const

/**
 * The Init message the client sends.
 *
 * @category models
 * @since 0.1.0
 */
export type Init = Message.Message.Variant<"SecureHandshakeInit">

/**
 * The Response message the server sends.
 *
 * @category models
 * @since 0.1.0
 */
export type Response = Message.Message.Variant<"SecureHandshakeResponse">

/**
 * The Confirm message the client sends.
 *
 * @category models
 * @since 0.1.0
 */
export type Confirm = Message.Message.Variant<"SecureHandshakeConfirm">

/**
 * Fixed ephemeral material, for reproducing test vectors only: a real
 * handshake must use fresh randomness (the default). The values are copied.
 *
 * @category models
 * @since 0.1.0
 */
export interface FixedSecrets {
  /** The ephemeral X25519 secret key, 32 bytes. */
  readonly secretKey?: Uint8Array | undefined
  /** This side's nonce, 16 bytes. */
  readonly nonce?: Uint8Array | undefined
}

/**
 * Options of the client side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientOptions {
  /** Fixed ephemeral material (test vectors only). */
  readonly fixed?: FixedSecrets | undefined
}

/**
 * Options of the server side.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerOptions {
  /** Fixed ephemeral material (test vectors only). */
  readonly fixed?: FixedSecrets | undefined
  /** Accepted clock skew into the future, inclusive. Default 2,000 ms. */
  readonly futureToleranceMillis?: number | undefined
  /** Accepted age of an Init's timestamp, inclusive. Default 30,000 ms. */
  readonly maxAgeMillis?: number | undefined
}

/**
 * Where a client machine is.
 *
 * @category models
 * @since 0.1.0
 */
export type ClientPhase = "Initial" | "AwaitingResponse" | "Done" | "Failed"

/**
 * Where a server machine is.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerPhase = "AwaitingInit" | "AwaitingConfirm" | "Done" | "Failed"

/**
 * What the client gets from a valid Response: the Confirm to send and the
 * session key (owned by the caller: wipe it with `fill(0)` once a secure
 * channel has been built from it).
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientResult {
  readonly confirm: Confirm
  readonly sessionKey: Uint8Array
}

/**
 * The client side of one handshake.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientHandshake extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly side: "client"
  readonly phase: ClientPhase
  /** Step 1: the Init, stamped with `nowMillis` (wall clock, ms since the epoch). */
  readonly init: (nowMillis: number) => Result.Result<Init, ProtocolError.ProtocolError>
  /** Step 3: checks the server's Response; the Confirm to send and the session key. */
  readonly confirm: (response: Message.Message) => Result.Result<ClientResult, ProtocolError.ProtocolError>
  /** Wipes every secret still held; the machine is `Failed` unless it was `Done`. */
  readonly destroy: () => void
}

/**
 * The server side of one handshake.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerHandshake extends Pipeable.Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly side: "server"
  readonly phase: ServerPhase
  /** Step 2: checks the client's Init at server time `nowMillis`; the Response to send. */
  readonly respond: (init: Message.Message, nowMillis: number) => Result.Result<Response, ProtocolError.ProtocolError>
  /** Step 4: checks the client's Confirm; the session key (owned by the caller). */
  readonly finish: (confirm: Message.Message) => Result.Result<Uint8Array, ProtocolError.ProtocolError>
  /** Wipes every secret still held; the machine is `Failed` unless it was `Done`. */
  readonly destroy: () => void
}

/**
 * Tells whether a value is a client or server handshake machine.
 *
 * @category guards
 * @since 0.1.0
 */
export const isHandshake = (u: unknown): u is ClientHandshake | ServerHandshake => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

const CLIENT_NONCE_LABEL = new Uint8Array([0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x5f, 0x6e, 0x6f, 0x6e, 0x63, 0x65])
const SERVER_NONCE_LABEL = new Uint8Array([0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0x5f, 0x6e, 0x6f, 0x6e, 0x63, 0x65])

const failure = (detail: string): Result.Result<never, ProtocolError.ProtocolError> =>
  Result.fail(ProtocolError.make(new ProtocolError.HandshakeError({ detail })))

const checkFixed = (what: string, bytes: Uint8Array, size: number): Uint8Array => {
  if (bytes.length !== size) throw new RangeError(`fixed ${what} must be ${size} bytes, got ${bytes.length}`)
  return bytes.slice()
}

/** SHA-256(shared ‖ "client_nonce" ‖ cn ‖ "server_nonce" ‖ sn), wiping `shared`. */
const deriveAndWipe = (
  crypto: Crypto.Crypto["Service"],
  shared: Uint8Array,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array
): Uint8Array => {
  const key = crypto.sha256(shared, CLIENT_NONCE_LABEL, clientNonce, SERVER_NONCE_LABEL, serverNonce)
  shared.fill(0)
  return key
}

const keyPair = (crypto: Crypto.Crypto["Service"], fixed: FixedSecrets | undefined): Crypto.KeyPair => {
  if (fixed?.secretKey === undefined) return crypto.x25519KeyPair()
  const copy = checkFixed("secret key", fixed.secretKey, Crypto.KEY_SIZE)
  const pair = crypto.x25519KeyPair(copy)
  if (pair.secretKey !== copy) copy.fill(0)
  return pair
}

const nonce = (crypto: Crypto.Crypto["Service"], fixed: FixedSecrets | undefined): Uint8Array =>
  fixed?.nonce === undefined ? crypto.randomBytes(NONCE_SIZE) : checkFixed("nonce", fixed.nonce, NONCE_SIZE)

class Client extends Machine<ClientPhase> implements ClientHandshake {

  readonly [TypeId] = TypeId
  readonly side = "client" as const
  phase: ClientPhase = "Initial"
  private readonly crypto: Crypto.Crypto["Service"]
  private readonly fixed: FixedSecrets | undefined
  private secretKey: Uint8Array | undefined = undefined
  private clientNonce: Uint8Array | undefined = undefined

  constructor(crypto: Crypto.Crypto["Service"], options: ClientOptions | undefined) {
    super()
    this.crypto = crypto
    this.fixed = options?.fixed
  }

  readonly init = (nowMillis: number): Result.Result<Init, ProtocolError.ProtocolError> => {
    if (this.phase !== "Initial") return failure(errors.alreadyStarted)
    if (!Number.isFinite(nowMillis) || nowMillis < 0) {
      this.phase = "Failed"
      return Result.fail(ProtocolError.make(new ProtocolError.Custom({ detail: errors.timeWentBackwards })))
    }
    const pair = keyPair(this.crypto, this.fixed)
    this.secretKey = pair.secretKey
    this.clientNonce = nonce(this.crypto, this.fixed)
    this.phase = "AwaitingResponse"
    return Result.succeed(Message.SecureHandshakeInit({
      pubKey: pair.publicKey,
      timestamp: BigInt(Math.floor(nowMillis)),
      nonce: this.clientNonce.slice()
    }))
  }

  readonly confirm = (response: Message.Message): Result.Result<ClientResult, ProtocolError.ProtocolError> => {
    const secretKey = this.secretKey
    const clientNonce = this.clientNonce
    if (this.phase !== "AwaitingResponse" || secretKey === undefined || clientNonce === undefined) {
      return failure(this.phase === "Initial" ? errors.clientNonceNotFound : errors.clientSecretNotFound)
    }
    if (response._tag !== "SecureHandshakeResponse") return this.fail(errors.unexpectedResponse)
    if (!equalConstantTime(response.nonceVerification, this.crypto.sha256(clientNonce))) {
      return this.fail(errors.serverVerification)
    }
    const shared = this.crypto.x25519(secretKey, response.pubKey)
    this.wipe()
    if (shared === undefined) return this.fail(errors.lowOrderKey)
    const sessionKey = deriveAndWipe(this.crypto, shared, clientNonce, response.nonce)
    this.phase = "Done"
    return Result.succeed({
      confirm: Message.SecureHandshakeConfirm({ nonceVerification: this.crypto.sha256(response.nonce) }),
      sessionKey
    })
  }

  protected wipe(): void {
    this.secretKey?.fill(0)
    this.secretKey = undefined
  }
}

class Server extends Machine<ServerPhase> implements ServerHandshake {

  readonly [TypeId] = TypeId
  readonly side = "server" as const
  phase: ServerPhase = "AwaitingInit"
  private readonly crypto: Crypto.Crypto["Service"]
  private readonly replayCache: ReplayCache.ReplayCache
  private readonly fixed: FixedSecrets | undefined
  private readonly futureTolerance: bigint
  private readonly maxAge: bigint
  private serverNonce: Uint8Array | undefined = undefined
  // Derived as soon as the Init is accepted, so that the ephemeral secret and
  // the shared secret never outlive `respond`; released by `finish`.
  private sessionKey: Uint8Array | undefined = undefined

  constructor(
    crypto: Crypto.Crypto["Service"],
    replayCache: ReplayCache.ReplayCache,
    options: ServerOptions | undefined
  ) {
    super()
    this.crypto = crypto
    this.replayCache = replayCache
    this.fixed = options?.fixed
    this.futureTolerance = BigInt(options?.futureToleranceMillis ?? DEFAULT_FUTURE_TOLERANCE_MILLIS)
    this.maxAge = BigInt(options?.maxAgeMillis ?? DEFAULT_MAX_AGE_MILLIS)
  }

  readonly respond = (
    init: Message.Message,
    nowMillis: number
  ): Result.Result<Response, ProtocolError.ProtocolError> => {
    if (this.phase !== "AwaitingInit") return failure(errors.alreadyStarted)
    if (init._tag !== "SecureHandshakeInit") return this.fail(errors.unexpectedInit)
    // verify_timestamp: at most `futureTolerance` ahead, at most `maxAge` behind.
    if (!Number.isFinite(nowMillis) || nowMillis < 0) return this.fail(errors.staleTimestamp)
    const now = BigInt(Math.floor(nowMillis))
    if (init.timestamp > now + this.futureTolerance || now - init.timestamp > this.maxAge) {
      return this.fail(errors.staleTimestamp)
    }
    if (this.replayCache.isReplayUnsafe(init.nonce, init.timestamp, nowMillis)) return this.fail(errors.replay)
    const pair = keyPair(this.crypto, this.fixed)
    const shared = this.crypto.x25519(pair.secretKey, init.pubKey)
    pair.secretKey.fill(0)
    if (shared === undefined) return this.fail(errors.lowOrderKey)
    const serverNonce = nonce(this.crypto, this.fixed)
    this.serverNonce = serverNonce
    this.sessionKey = deriveAndWipe(this.crypto, shared, init.nonce, serverNonce)
    this.phase = "AwaitingConfirm"
    return Result.succeed(Message.SecureHandshakeResponse({
      pubKey: pair.publicKey,
      nonce: serverNonce.slice(),
      nonceVerification: this.crypto.sha256(init.nonce)
    }))
  }

  readonly finish = (confirm: Message.Message): Result.Result<Uint8Array, ProtocolError.ProtocolError> => {
    const serverNonce = this.serverNonce
    const sessionKey = this.sessionKey
    if (this.phase !== "AwaitingConfirm" || serverNonce === undefined || sessionKey === undefined) {
      return failure(this.phase === "AwaitingInit" ? errors.serverNonceNotFound : errors.serverSecretNotFound)
    }
    if (confirm._tag !== "SecureHandshakeConfirm") return this.fail(errors.unexpectedConfirm)
    if (!equalConstantTime(confirm.nonceVerification, this.crypto.sha256(serverNonce))) {
      return this.fail(errors.clientVerification)
    }
    // Ownership of the key passes to the caller.
    this.sessionKey = undefined
    this.phase = "Done"
    return Result.succeed(sessionKey)
  }

  protected wipe(): void {
    this.sessionKey?.fill(0)
    this.sessionKey = undefined
  }
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * A client machine for one connection, with an explicit crypto provider.
 * Call `destroy()` if it is abandoned before `confirm` (see {@link makeClient}).
 * Throws a `RangeError` if fixed material has the wrong size.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClientUnsafe = (crypto: Crypto.Crypto["Service"], options?: ClientOptions): ClientHandshake =>
  new Client(crypto, options)

/**
 * A server machine for one connection, with an explicit crypto provider and
 * the server's shared replay cache. Call `destroy()` if it is abandoned before
 * `finish` (see {@link makeServer}).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServerUnsafe = (
  crypto: Crypto.Crypto["Service"],
  replayCache: ReplayCache.ReplayCache,
  options?: ServerOptions
): ServerHandshake => new Server(crypto, replayCache, options)

/**
 * A client machine using the `Crypto` service, wiped when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClient = (
  options?: ClientOptions
): Effect.Effect<ClientHandshake, never, Crypto.Crypto | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Crypto.Crypto, (crypto) => makeClientUnsafe(crypto, options)),
    (handshake) => Effect.sync(handshake.destroy)
  )

/**
 * A server machine using the `Crypto` service and the server's
 * `ReplayCache` service, wiped when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeServer = (
  options?: ServerOptions
): Effect.Effect<ServerHandshake, never, Crypto.Crypto | ReplayCache.ReplayCache | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const crypto = yield* Crypto.Crypto
      const cache = yield* ReplayCache.ReplayCache
      return makeServerUnsafe(crypto, cache, options)
    }),
    (handshake) => Effect.sync(handshake.destroy)
  )

// -----------------------------------------------------------------------------
// steps as effects
// -----------------------------------------------------------------------------

/**
 * Step 1 with the time from `Clock`: the Init to send.
 *
 * @category steps
 * @since 0.1.0
 */
export const init = (client: ClientHandshake): Effect.Effect<Init, ProtocolError.ProtocolError> =>
  Clock.clockWith((clock) => Effect.suspend(() => Effect.fromResult(client.init(clock.currentTimeMillisUnsafe()))))

/**
 * Step 2 with the time from `Clock`: checks the Init, the Response to send.
 *
 * @category steps
 * @since 0.1.0
 */
export const respond: {
  (init: Message.Message): (server: ServerHandshake) => Effect.Effect<Response, ProtocolError.ProtocolError>
  (server: ServerHandshake, init: Message.Message): Effect.Effect<Response, ProtocolError.ProtocolError>
} = dual(
  2,
  (server: ServerHandshake, init: Message.Message): Effect.Effect<Response, ProtocolError.ProtocolError> =>
    Clock.clockWith((clock) =>
      Effect.suspend(() => Effect.fromResult(server.respond(init, clock.currentTimeMillisUnsafe())))
    )
)

/**
 * Step 3: checks the Response; the Confirm to send and the session key.
 *
 * @category steps
 * @since 0.1.0
 */
export const confirm: {
  (response: Message.Message): (client: ClientHandshake) => Effect.Effect<ClientResult, ProtocolError.ProtocolError>
  (client: ClientHandshake, response: Message.Message): Effect.Effect<ClientResult, ProtocolError.ProtocolError>
} = dual(
  2,
  (client: ClientHandshake, response: Message.Message): Effect.Effect<ClientResult, ProtocolError.ProtocolError> =>
    Effect.suspend(() => Effect.fromResult(client.confirm(response)))
)

/**
 * Step 4: checks the Confirm; the session key.
 *
 * @category steps
 * @since 0.1.0
 */
export const finish: {
  (confirm: Message.Message): (server: ServerHandshake) => Effect.Effect<Uint8Array, ProtocolError.ProtocolError>
  (server: ServerHandshake, confirm: Message.Message): Effect.Effect<Uint8Array, ProtocolError.ProtocolError>
} = dual(
  2,
  (server: ServerHandshake, confirm: Message.Message): Effect.Effect<Uint8Array, ProtocolError.ProtocolError> =>
    Effect.suspend(() => Effect.fromResult(server.finish(confirm)))
)
