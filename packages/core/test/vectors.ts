/**
 * Loads the shared wire vectors and captures recorded from the Rust crate.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const sharedDir = path.resolve(import.meta.dirname, "../../../../shared/wire")

/** Hex string → bytes. */
export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[\s…]/g, ""), "hex"))

/** Bytes → lowercase hex. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

/** The parsed `vectors.json`. */
export const vectors = JSON.parse(fs.readFileSync(path.join(sharedDir, "vectors.json"), "utf8")) as {
  readonly packet: { readonly ping_frame: string; readonly echo_hi_frame: string; readonly max_payload: number }
  readonly bincode: Record<string, string>
  readonly aead_xchacha20poly1305: ReadonlyArray<{
    readonly key: string
    readonly nonce: string
    readonly plaintext: string
    readonly ciphertext_and_tag: string
    readonly secure_frame: string
  }>
  readonly handshake: Record<string, string | number>
  readonly compression: Record<string, string>
  readonly multiplex_frame: Record<string, string>
}

/** One capture of real traffic between the crate's client and daemon. */
export interface Capture {
  readonly name: string
  readonly description: string
  readonly session_key: string
  readonly frames: ReadonlyArray<{ readonly dir: "C->S" | "S->C"; readonly frame: number; readonly hex: string }>
}

/** Every capture in `shared/wire/captures`. */
export const captures: ReadonlyArray<Capture> = fs.readdirSync(path.join(sharedDir, "captures"))
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({
    name: f,
    ...JSON.parse(fs.readFileSync(path.join(sharedDir, "captures", f), "utf8"))
  }))
