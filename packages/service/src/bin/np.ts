#!/usr/bin/env node
/**
 * The `np` command-line tool. For now it has one command, `demo`, which shows
 * the wire format: it encodes messages as the crate does, splits the bytes into
 * awkward chunks, decodes them back and prints what happened.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as Message from "@network-protocol/core/Message"
import * as MessageCodec from "@network-protocol/core/MessageCodec"
import * as Packet from "@network-protocol/core/Packet"
import * as PacketCodec from "@network-protocol/core/PacketCodec"

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

const demo = () => {
  const messages = [
    Message.Ping(),
    Message.Echo({ text: "hello, network-protocol" }),
    Message.Custom({ command: "STORE", payload: new TextEncoder().encode("key=value") }),
    Message.Disconnect()
  ]
  const frames = messages.map((m) => Packet.encode(Packet.make(Result.getOrThrow(MessageCodec.encode(m)))))
  for (const [i, frame] of frames.entries()) console.log(`encoded ${messages[i]._tag.padEnd(10)} ${frame.length} B  ${hex(frame)}`)
  const stream = Buffer.concat(frames)
  const decoder = PacketCodec.makeDecoder()
  const packets: Array<Packet.Packet> = []
  for (let offset = 0; offset < stream.length; offset += 7) {
    const error = decoder.feed(stream.subarray(offset, offset + 7), packets)
    if (error !== undefined) throw error
  }
  console.log(`decoded ${packets.length} frames from ${stream.length} bytes fed in 7-byte chunks:`)
  for (const packet of packets) {
    const message = Result.getOrThrow(MessageCodec.decode(packet.payload))
    console.log(`  ${Message.opcode(message).padEnd(10)} ${JSON.stringify(message, (_, v) => typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? hex(v) : v)}`)
  }
  const bad = new Uint8Array([0x4e, 0x50, 0x52, 0x4f, 0x01, 0xff, 0xff, 0xff, 0xff])
  const refused = PacketCodec.makeDecoder().feed(bad, [])
  console.log(`a header announcing 4 GiB is refused at once: ${refused?.message}`)
}

const command = process.argv[2]
if (command === "demo") demo()
else {
  console.error("usage: np demo")
  process.exitCode = 2
}
