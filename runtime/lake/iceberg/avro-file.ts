import { randomBytes } from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import avro from 'avsc'
import { exactTypeHook } from '../../codec/types/avro-types.ts'

/**
 * Avro object container files in memory, for manifests and manifest lists (small files, written and
 * read whole). The schema goes into the header exactly as given, so Iceberg's `field-id`,
 * `element-id`, `key-id` and `value-id` attributes survive (avsc would drop them when re-exporting
 * a parsed type). Records are written uncompressed; deflate is read as well. Every Avro long is
 * exact (the codec's exact long: a number while safe, a bigint beyond), so 63-bit snapshot ids
 * read and write as they are. A malformed file throws a plain Error naming the byte where it
 * broke (callers add the file).
 */
const MAGIC = Buffer.from('Obj\x01', 'latin1')
const headerType = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
})
const longType = avro.Type.forSchema('long')

const RECORDS_PER_BLOCK = 1000

// The codec's exact types: longs (in unions too), strings that are valid UTF-8.
const typeHook = exactTypeHook() as unknown as (schema: avro.Schema, opts: avro.ForSchemaOptions) => avro.Type | undefined
const typeOf = (schema: unknown): avro.Type => avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false, typeHook })

export function encodeAvroFile(schema: object, records: unknown[], metadata: Record<string, string>): Buffer {
  const type = typeOf(schema)
  const sync = randomBytes(16)
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v)
  const parts: Buffer[] = [headerType.toBuffer({ magic: MAGIC, meta, sync })]
  for (let i = 0; i < records.length; i += RECORDS_PER_BLOCK) {
    const block = records.slice(i, i + RECORDS_PER_BLOCK).map((r) => type.toBuffer(r))
    const body = Buffer.concat(block)
    parts.push(longType.toBuffer(block.length), longType.toBuffer(body.length), body, sync)
  }
  return Buffer.concat(parts)
}

export interface AvroFileContents {
  schema: unknown
  metadata: Record<string, string>
  records: Record<string, unknown>[]
}

/** Decodes a whole container file; throws a plain Error on malformed input (callers add context). */
export function decodeAvroFile(bytes: Buffer): AvroFileContents {
  let decoded: { value: { magic: Buffer; meta: Record<string, Buffer>; sync: Buffer } | undefined; offset: number }
  try {
    decoded = headerType.decode(bytes, 0) as typeof decoded
  } catch {
    decoded = { value: undefined, offset: -1 }
  }
  const { value: header, offset: start } = decoded
  if (!header || start < 0 || !header.magic.equals(MAGIC)) throw new Error('not an Avro object container file (no readable header at byte 0)')
  const schemaText = header.meta['avro.schema']?.toString()
  if (!schemaText) throw new Error('no avro.schema in the header')
  const codec = header.meta['avro.codec']?.toString() ?? 'null'
  if (codec !== 'null' && codec !== 'deflate') throw new Error(`unsupported codec ${codec}`)
  let schema: unknown
  let type: avro.Type
  try {
    schema = JSON.parse(schemaText) as unknown
    type = typeOf(schema)
  } catch (e) {
    throw new Error(`the header's avro.schema is not a usable Avro schema (${(e as Error).message})`)
  }
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(header.meta)) if (!k.startsWith('avro.')) metadata[k] = v.toString()
  const records: Record<string, unknown>[] = []
  let pos = start
  while (pos < bytes.length) {
    const { count, size } = blockHeader(bytes, pos)
    const end = size.offset + size.value
    if (end + 16 > bytes.length) throw new Error(`truncated block at byte ${pos}`)
    let body = bytes.subarray(size.offset, end)
    if (codec === 'deflate') {
      try {
        body = inflateRawSync(body)
      } catch (e) {
        throw new Error(`block at byte ${pos} does not inflate (${(e as Error).message})`)
      }
    }
    let p = 0
    for (let i = 0; i < count.value; i++) {
      let r: { value: Record<string, unknown> | undefined; offset: number }
      try {
        r = type.decode(body, p) as typeof r
      } catch (e) {
        throw new Error(`record ${i} of the block at byte ${pos} does not decode (${(e as Error).message})`)
      }
      if (r.value === undefined || r.offset < 0) throw new Error(`truncated record in block at byte ${pos}`)
      records.push(r.value)
      p = r.offset
    }
    if (!bytes.subarray(end, end + 16).equals(header.sync)) throw new Error(`sync marker mismatch after block at byte ${pos}`)
    pos = end + 16
  }
  return { schema, metadata, records }
}

/** A block's record count and byte size, each a varint. */
function blockHeader(bytes: Buffer, pos: number): { count: { value: number; offset: number }; size: { value: number; offset: number } } {
  let count: { value: number; offset: number }
  let size: { value: number; offset: number }
  try {
    count = longType.decode(bytes, pos) as typeof count
    size = count.offset < 0 ? count : (longType.decode(bytes, count.offset) as typeof size)
  } catch {
    throw new Error(`malformed block header at byte ${pos}`)
  }
  if (count.offset < 0 || size.offset < 0) throw new Error(`truncated block header at byte ${pos}`)
  if (!(count.value >= 0 && size.value >= 0)) throw new Error(`malformed block header at byte ${pos}`)
  return { count, size }
}
