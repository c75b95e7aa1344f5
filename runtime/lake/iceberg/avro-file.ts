import { randomBytes } from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import avro from 'avsc'

/**
 * Avro object container files in memory, for manifests and manifest lists (small files, written and
 * read whole). The schema goes into the header exactly as given, so Iceberg's `field-id`,
 * `element-id`, `key-id` and `value-id` attributes survive (avsc would drop them when re-exporting
 * a parsed type). Records are written uncompressed; deflate is read as well.
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

export function encodeAvroFile(schema: object, records: unknown[], metadata: Record<string, string>): Buffer {
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false })
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
  const { value: header, offset: start } = headerType.decode(bytes, 0) as { value: { magic: Buffer; meta: Record<string, Buffer>; sync: Buffer } | undefined; offset: number }
  if (!header || !header.magic.equals(MAGIC)) throw new Error('not an Avro object container file')
  const schemaText = header.meta['avro.schema']?.toString()
  if (!schemaText) throw new Error('no avro.schema in the header')
  const schema = JSON.parse(schemaText) as unknown
  const codec = header.meta['avro.codec']?.toString() ?? 'null'
  if (codec !== 'null' && codec !== 'deflate') throw new Error(`unsupported codec ${codec}`)
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false })
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(header.meta)) if (!k.startsWith('avro.')) metadata[k] = v.toString()
  const records: Record<string, unknown>[] = []
  let pos = start
  while (pos < bytes.length) {
    const count = longType.decode(bytes, pos) as { value: number; offset: number }
    const size = longType.decode(bytes, count.offset) as { value: number; offset: number }
    if (count.offset < 0 || size.offset < 0) throw new Error(`truncated block header at byte ${pos}`)
    const end = size.offset + size.value
    if (end + 16 > bytes.length) throw new Error(`truncated block at byte ${pos}`)
    let body = bytes.subarray(size.offset, end)
    if (codec === 'deflate') body = inflateRawSync(body)
    let p = 0
    for (let i = 0; i < count.value; i++) {
      const r = type.decode(body, p) as { value: Record<string, unknown> | undefined; offset: number }
      if (r.value === undefined || r.offset < 0) throw new Error(`truncated record in block at byte ${pos}`)
      records.push(r.value)
      p = r.offset
    }
    if (!bytes.subarray(end, end + 16).equals(header.sync)) throw new Error(`sync marker mismatch after block at byte ${pos}`)
    pos = end + 16
  }
  return { schema, metadata, records }
}
