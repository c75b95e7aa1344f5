import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { isTributaryError } from '../../../runtime/errors.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { createSerde } from '../../../runtime/codec/avro/serde.ts'
import { frame } from '../../../runtime/codec/avro/wire.ts'

const schema = {
  type: 'record',
  name: 'shop.Line',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'note', type: 'string' },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
  ],
}
const type = createType(schema)
const line = (i: number, note = `note ${i} ü`) => ({ id: i, note, amount: `${i}.${String(i % 100).padStart(2, '0')}`, at: 1_700_000_000_000_000 + i })

let dir: string
let registry: EmbeddedRegistry

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-slabs-'))
  registry = await openEmbeddedRegistry({ dir })
})
afterEach(async () => {
  await registry.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('encoder slabs', () => {
  it('gives every record its own frame: later writes never change earlier values', async () => {
    const serde = createSerde(registry)
    const encode = await serde.encoder('lines-value', schema)
    const { id } = await registry.register('lines-value', schema)
    const values = Array.from({ length: 5000 }, (_, i) => line(i)) // several 64 KB slabs
    const encoded = values.map((v) => encode(v))
    encoded.forEach((buf, i) => expect(buf.equals(frame(id, type.toBuffer(values[i])))).toBe(true))
    expect(new Set(encoded.map((b) => b.buffer)).size).toBeGreaterThan(1)
  })

  it('encodes a record larger than a slab, and reports a bad value after good ones', async () => {
    const serde = createSerde(registry)
    const encode = await serde.encoder('lines-value', schema)
    const { id } = await registry.register('lines-value', schema)
    const small = encode(line(1))
    const big = line(2, 'x'.repeat(100_000))
    expect(encode(big).equals(frame(id, type.toBuffer(big)))).toBe(true)
    try {
      encode({ ...line(3), amount: 12.5 })
      expect.unreachable()
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_ENCODE_FAILED')).toBe(true)
      expect((e as Error).message).toContain('amount')
    }
    expect(small.equals(frame(id, type.toBuffer(line(1))))).toBe(true)
    expect(encode(line(4)).equals(frame(id, type.toBuffer(line(4))))).toBe(true)
  })
})
