import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import avro from 'avsc'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EmbeddedRegistry, openEmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { createType } from '../../../runtime/codec/types/logical-types.ts'
import { type Serde, createSerde } from '../../../runtime/codec/avro/serde.ts'
import { frame, peekSchemaId } from '../../../runtime/codec/avro/wire.ts'

const orderV1 = {
  type: 'record',
  name: 'shop.Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-micros' } },
    {
      name: 'customer',
      type: { type: 'record', name: 'Customer', fields: [{ name: 'email', type: 'string' }, { name: 'age', type: ['null', 'int'], default: null }] },
    },
  ],
}
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: 'note', type: ['null', 'string'], default: null }] }
const order = { id: 'o-1', amount: '-12.50', placedAt: '2023-11-14T22:13:20.123456Z', customer: { email: 'a@b.c', age: null } }

let dir: string
let registry: EmbeddedRegistry
let serde: Serde

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-serde-'))
  registry = await openEmbeddedRegistry({ dir })
  serde = createSerde(registry)
})
afterEach(async () => {
  await registry.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('serde', () => {
  it('encodes framed with the registered id and decodes back to canonical values', async () => {
    const encode = await serde.encoder('orders-value', orderV1)
    const buf = encode(order)
    const id = peekSchemaId(buf)
    expect(id).toBe((await registry.getVersion('orders-value', 'latest')).id)
    // The encoder registered once; its own serde can decode at once.
    expect(serde.decode(buf)).toEqual({ schemaId: id, value: order })
    // Another process's serde needs a prefetch first.
    const other = createSerde(registry)
    expect(() => other.decode(buf)).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_UNKNOWN_SCHEMA' }))
    await other.prefetch([id as number])
    expect(other.decode(buf).value).toEqual(order)
  })

  it('registers once per subject and schema', async () => {
    const [a, b] = await Promise.all([serde.encoder('orders-value', orderV1), serde.encoder('orders-value', orderV1)])
    expect(a).toBe(b)
    expect(await registry.listVersions('orders-value')).toEqual([1])
  })

  it('resolves an older writer to a newer reader type, with its default', async () => {
    const encode = await serde.encoder('orders-value', orderV1)
    const reader = createType(orderV2)
    const { value } = serde.decode(encode(order), reader)
    expect(value).toEqual({ ...order, note: null })
  })

  it('an incompatible reader fails with TRIB_DECODE_INCOMPATIBLE naming the schema id', async () => {
    const encode = await serde.encoder('orders-value', orderV1)
    const buf = encode(order)
    const reader = createType({ type: 'record', name: 'shop.Order', fields: [{ name: 'sku', type: 'string' }] })
    for (let i = 0; i < 2; i++) {
      expect(() => serde.decode(buf, reader)).toThrow(
        expect.objectContaining({ code: 'TRIB_DECODE_INCOMPATIBLE', message: expect.stringContaining(`schema id ${peekSchemaId(buf)}`) }),
      )
    }
  })

  it('unknown ids stay unknown after prefetch; bad bytes are TRIB_DECODE_AVRO', async () => {
    await serde.prefetch([404])
    expect(() => serde.decode(frame(404, Buffer.from([2])))).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_UNKNOWN_SCHEMA', message: expect.stringContaining('404') }))
    const encode = await serde.encoder('orders-value', orderV1)
    const good = encode(order)
    expect(() => serde.decode(good.subarray(0, good.length - 3))).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_AVRO', message: expect.stringContaining('truncated') }))
    expect(() => serde.decode(Buffer.concat([good, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_AVRO', message: expect.stringContaining('trailing') }))
    const garbage = Buffer.concat([good.subarray(0, 5), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f])])
    expect(() => serde.decode(garbage)).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_AVRO' }))
    expect(() => serde.decode(Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_MAGIC' }))
  })

  it('encode errors are TRIB_ENCODE_FAILED naming the field path', async () => {
    const encode = await serde.encoder('orders-value', orderV1)
    expect(() => encode({ ...order, customer: { email: 42 } })).toThrow(
      expect.objectContaining({ code: 'TRIB_ENCODE_FAILED', message: expect.stringContaining('field customer.email: expected string, got number') }),
    )
    expect(() => encode({ ...order, amount: 12.5 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/field amount: expected decimal string/) }))
  })

  it('grows its buffer for large values', async () => {
    const encode = await serde.encoder('blobs-value', { type: 'record', name: 'Blob', fields: [{ name: 'b', type: 'bytes' }] })
    const big = Buffer.alloc(100_000, 7)
    expect((serde.decode(encode({ b: big })).value as { b: Buffer }).b.equals(big)).toBe(true)
    expect((serde.decode(encode({ b: Buffer.from([1]) })).value as { b: Buffer }).b).toEqual(Buffer.from([1]))
  })

  it('decodes a writer whose unions avsc cannot unwrap into an unwrapped reader', async () => {
    const writer = { type: 'record', name: 'W', fields: [{ name: 'v', type: ['int', 'long'] }] }
    expect(() => createType(writer)).toThrow()
    const { id } = await registry.register('w-value', writer)
    const bytes = avro.Type.forSchema(writer as never, { wrapUnions: true }).toBuffer({ v: { long: 2 ** 40 } })
    await serde.prefetch([id])
    const reader = createType({ type: 'record', name: 'W', fields: [{ name: 'v', type: 'long' }] })
    expect(serde.decode(frame(id, bytes), reader).value).toEqual({ v: 2 ** 40 })
  })
})
