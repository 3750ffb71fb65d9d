import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as Packet from "../src/Packet.ts"
import type * as ProtocolError from "../src/ProtocolError.ts"
import { hex, toHex, vectors } from "./vectors.ts"

const reasonOf = (result: Result.Result<unknown, ProtocolError.ProtocolError>): ProtocolError.Reason => {
  assert.isTrue(Result.isFailure(result))
  return (result as Result.Failure<unknown, ProtocolError.ProtocolError>).failure.reason
}

const frame = (magic: string, version: number, length: number, payload = new Uint8Array(0)) => {
  const out = new Uint8Array(9 + payload.length)
  out.set(hex(magic), 0)
  out[4] = version
  new DataView(out.buffer).setUint32(5, length, false)
  out.set(payload, 9)
  return out
}

describe("Packet", () => {
  it("has the crate's constants", () => {
    assert.strictEqual(toHex(Packet.MAGIC), vectors.packet.ping_frame.slice(0, 8))
    assert.strictEqual(Packet.VERSION, 1)
    assert.strictEqual(Packet.HEADER_SIZE, 9)
    assert.strictEqual(Packet.MAX_PAYLOAD_SIZE, vectors.packet.max_payload)
  })

  it("encodes the vector frames byte for byte", () => {
    assert.strictEqual(toHex(Packet.encode(Packet.make(hex("00000000")))), vectors.packet.ping_frame)
    assert.strictEqual(
      toHex(Packet.encode(Packet.make(hex("0500000002000000000000006869")))),
      vectors.packet.echo_hi_frame
    )
  })

  it("always writes version 1, whatever the packet says (as the crate's encoder)", () => {
    const bytes = Packet.encode({ version: 7, payload: new Uint8Array([1]) })
    assert.strictEqual(bytes[4], 1)
  })

  it("round-trips an empty payload", () => {
    const decoded = Result.getOrThrow(Packet.decode(Packet.encode(Packet.make(new Uint8Array(0)))))
    assert.strictEqual(decoded.payload.length, 0)
    assert.strictEqual(decoded.version, 1)
  })

  it("accepts exactly the maximum payload and one less", () => {
    for (const size of [Packet.MAX_PAYLOAD_SIZE, Packet.MAX_PAYLOAD_SIZE - 1]) {
      const payload = new Uint8Array(size).fill(0xab)
      const decoded = Result.getOrThrow(Packet.decode(Packet.encode(Packet.make(payload))))
      assert.strictEqual(decoded.payload.length, size)
      assert.strictEqual(decoded.payload[size - 1], 0xab)
    }
  })

  it("rejects one byte more than the maximum with OversizedPacket", () => {
    const reason = reasonOf(Packet.decode(frame("4e50524f", 1, Packet.MAX_PAYLOAD_SIZE + 1)))
    assert.strictEqual(reason._tag, "OversizedPacket")
    assert.strictEqual(reason.message, `Packet too large: ${Packet.MAX_PAYLOAD_SIZE + 1} bytes`)
  })

  it("rejects 20,000,000 announced bytes with the right magic as OversizedPacket", () => {
    const reason = reasonOf(Packet.decode(frame("4e50524f", 1, 20_000_000)))
    assert.deepStrictEqual(reason._tag === "OversizedPacket" && reason.size, 20_000_000)
  })

  it("rejects bad magic with InvalidHeader", () => {
    assert.strictEqual(reasonOf(Packet.decode(frame("ffffffff", 1, 0)))._tag, "InvalidHeader")
    assert.strictEqual(reasonOf(Packet.decode(frame("50524f54", 1, 0)))._tag, "InvalidHeader")
  })

  it("rejects version 99 (with the right magic) as UnsupportedVersion(99)", () => {
    const reason = reasonOf(Packet.decode(frame("4e50524f", 99, 0)))
    assert.strictEqual(reason._tag, "UnsupportedVersion")
    assert.strictEqual(reason.message, "Unsupported protocol version: 99")
  })

  it("rejects truncated headers and empty input", () => {
    assert.strictEqual(reasonOf(Packet.decode(new Uint8Array(5)))._tag, "InvalidHeader")
    assert.strictEqual(reasonOf(Packet.decode(new Uint8Array(0)))._tag, "InvalidHeader")
  })

  it("rejects a body that does not match the declared length (unlike Packet::from_bytes)", () => {
    assert.strictEqual(reasonOf(Packet.decode(frame("4e50524f", 1, 4, new Uint8Array(3))))._tag, "InvalidHeader")
    assert.strictEqual(reasonOf(Packet.decode(frame("4e50524f", 1, 2, new Uint8Array(3))))._tag, "InvalidHeader")
  })

  it("round-trips a 5 MiB payload", () => {
    const payload = new Uint8Array(5 * 1024 * 1024)
    for (let i = 0; i < payload.length; i += 4099) payload[i] = i & 0xff
    const decoded = Result.getOrThrow(Packet.decode(Packet.encode(Packet.make(payload))))
    assert.deepStrictEqual(decoded.payload, payload)
  })

  it("property: encode → decode is identity, size is 9 + N, header fields are right", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10_000 }), (payload) => {
        const bytes = Packet.encode(Packet.make(payload))
        assert.strictEqual(bytes.length, 9 + payload.length)
        assert.strictEqual(toHex(bytes.subarray(0, 5)), "4e50524f01")
        assert.strictEqual(new DataView(bytes.buffer).getUint32(5, false), payload.length)
        assert.deepStrictEqual(Result.getOrThrow(Packet.decode(bytes)).payload, payload)
        assert.deepStrictEqual(Packet.encode(Packet.make(payload)), bytes)
      })
    )
  })

  it("property: any magic other than NPRO is rejected", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (magic) => {
        fc.pre(toHex(magic) !== "4e50524f")
        assert.strictEqual(reasonOf(Packet.decode(frame(toHex(magic), 1, 0)))._tag, "InvalidHeader")
      })
    )
  })
})
