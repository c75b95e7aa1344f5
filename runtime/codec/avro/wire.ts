import { TributaryError } from '../../errors.ts'

/**
 * Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro
 * binary body. Every Confluent serializer (Java, librdkafka, @kafkajs/confluent-schema-registry)
 * writes and reads this frame.
 */

export const MAGIC_BYTE = 0
export const HEADER_SIZE = 5

export function frame(id: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw new TributaryError('TRIB_ENCODE_FAILED', `schema id ${id} is not a 32-bit non-negative integer`, { details: { schemaId: id } })
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length)
  out[0] = MAGIC_BYTE
  out.writeInt32BE(id, 1)
  out.set(payload, HEADER_SIZE)
  return out
}

/** The schema id and Avro body of a framed value; throws TRIB_DECODE_MAGIC. */
export function unframe(buf: Buffer): { id: number; payload: Buffer } {
  return { id: frameSchemaId(buf), payload: buf.subarray(HEADER_SIZE) }
}

/** The schema id of a framed value; throws TRIB_DECODE_MAGIC naming what was found instead. */
export function frameSchemaId(buf: Buffer): number {
  if (buf.length > 0 && buf[0] !== MAGIC_BYTE) {
    const byte = buf[0] as number
    const shown = byte >= 0x20 && byte < 0x7f ? ` ('${String.fromCharCode(byte)}')` : ''
    const hint = byte === 0x7b || byte === 0x5b ? '; the value looks like JSON' : ''
    throw new TributaryError(
      'TRIB_DECODE_MAGIC',
      `first byte is 0x${byte.toString(16).padStart(2, '0')}${shown}, expected the Confluent magic byte 0x00${hint}`,
      { details: { byte } },
    )
  }
  if (buf.length < HEADER_SIZE) {
    throw new TributaryError(
      'TRIB_DECODE_MAGIC',
      `value of ${buf.length} byte(s) is shorter than the ${HEADER_SIZE}-byte Confluent header (magic byte + schema id)`,
      { details: { length: buf.length } },
    )
  }
  return buf.readInt32BE(1)
}

/** The schema id when the value is framed, else undefined (no throw): for collecting ids to prefetch. */
export function peekSchemaId(buf: Buffer | null | undefined): number | undefined {
  return buf && buf.length >= HEADER_SIZE && buf[0] === MAGIC_BYTE ? buf.readInt32BE(1) : undefined
}
