import { describe, expect, it } from 'vitest'
import { frame } from '../../../../runtime/codec/avro/wire.ts'
import { createEnvelopeType } from '../../../../runtime/codec/debezium/avro.ts'
import { JsonChangeReader } from '../../../../runtime/codec/debezium/json.ts'
import { SENTINELS } from '../../../../runtime/codec/debezium/semantic.ts'
import { createCodec } from '../../../../runtime/codec/index.ts'
import type { LogRecord } from '../../../../runtime/log/log.ts'
import type { SchemaRegistry } from '../../../../runtime/registry/registry.ts'
import { isTributaryError } from '../../../../runtime/errors.ts'

/** PostgreSQL's edge values as Debezium sends them (runtime/codec/VALUES.md), on the fast and the reference path alike. */

const connect = (name: string, type: string) => ({ type, 'connect.version': 1, 'connect.name': name })
const row = {
  type: 'record',
  name: 'Value',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'd', type: ['null', connect('io.debezium.time.Date', 'int')], default: null },
    { name: 't', type: ['null', connect('io.debezium.time.MicroTime', 'long')], default: null },
    { name: 'ts', type: ['null', connect('io.debezium.time.MicroTimestamp', 'long')], default: null },
    { name: 'tsm', type: ['null', connect('io.debezium.time.Timestamp', 'long')], default: null },
    { name: 'tsn', type: ['null', connect('io.debezium.time.NanoTimestamp', 'long')], default: null },
    { name: 'tz', type: ['null', connect('io.debezium.time.ZonedTimestamp', 'string')], default: null },
    { name: 'r', type: ['null', 'float'], default: null },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'iv', type: ['null', connect('io.debezium.time.MicroDuration', 'long')], default: null },
  ],
  'connect.name': 'pg.public.t.Value',
}
const envelope = {
  type: 'record',
  name: 'Envelope',
  namespace: 'pg.public.t',
  fields: [
    { name: 'before', type: ['null', row], default: null },
    { name: 'after', type: ['null', 'Value'], default: null },
    { name: 'op', type: 'string' },
    { name: 'ts_ms', type: ['null', 'long'], default: null },
  ],
  'connect.name': 'pg.public.t.Envelope',
}
const reader = {
  type: 'record',
  name: 'T',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'd', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
    { name: 't', type: ['null', { type: 'long', logicalType: 'time-micros' }], default: null },
    { name: 'ts', type: ['null', { type: 'long', logicalType: 'local-timestamp-micros' }], default: null },
    { name: 'tsm', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'tsn', type: ['null', 'string'], default: null },
    { name: 'tz', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }], default: null },
    { name: 'r', type: ['null', 'float'], default: null },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'iv', type: ['null', 'long'], default: null },
  ],
}

const registry = {
  async schemaById() {
    return JSON.stringify(envelope)
  },
} as unknown as SchemaRegistry

const record = (value: Buffer | string, key: Buffer | null = null): LogRecord => ({ topic: 'pg.public.t', partition: 0, offset: 9, timestamp: 0, key, value: Buffer.from(value), headers: {} })

const avro = (after: Record<string, unknown>) => frame(1, createEnvelopeType(envelope).toBuffer({ before: null, after: { id: 1, ...after }, op: 'c', ts_ms: 1 }))

async function bothPaths(value: Buffer, readerSchema?: object) {
  const out = []
  for (const fastPaths of [true, false]) {
    const codec = createCodec(registry, { fastPaths })
    await codec.prefetch([1])
    const paths: string[] = []
    const decoder = codec.decoder({ format: 'avro', envelope: 'debezium', readerSchema }, (_s, p) => paths.push(p))
    try {
      out.push({ value: decoder.decode(record(value)).value, paths })
    } catch (e) {
      if (!isTributaryError(e)) throw e
      out.push({ error: { code: e.code, message: e.message, field: e.details.field }, paths })
    }
  }
  expect(out[0]!.value ?? out[0]!.error).toEqual(out[1]!.value ?? out[1]!.error)
  return out[0]!
}

describe('PostgreSQL edge values from Debezium Avro', () => {
  it('reads 24:00:00, BC dates and timestamps, and infinity in every unit, exactly', async () => {
    const d = await bothPaths(avro({ d: -735160, t: 86_400_000_000, ts: -63_517_780_800_000_000n, tsm: SENTINELS[3].negative[0], tsn: 2n ** 63n - 1n, tz: '-0043-03-15T12:00:00.000000Z', r: Number.NaN }), reader)
    expect(d.paths).toEqual(['fast'])
    expect(d.value).toEqual({ id: 1, d: '-000043-03-15', t: '24:00:00.000000', ts: '-000043-03-15T12:00:00.000000', tsm: '-infinity', tsn: 'infinity', tz: '-000043-03-15T12:00:00.000000Z', r: Number.NaN, name: null, iv: null })
    for (const positive of SENTINELS.date.positive) expect((await bothPaths(avro({ d: positive }), reader)).value).toMatchObject({ d: 'infinity' })
    for (const negative of SENTINELS.date.negative) expect((await bothPaths(avro({ d: negative }), reader)).value).toMatchObject({ d: '-infinity' })
    expect((await bothPaths(avro({ ts: SENTINELS[6].positive[0], tz: 'infinity' }), reader)).value).toMatchObject({ ts: 'infinity', tz: 'infinity' })
  })

  it('reads a zoneless timestamp with its Z unless the reader says local', async () => {
    const v = avro({ ts: 1_700_000_000_123_456 })
    expect((await bothPaths(v)).value).toMatchObject({ ts: '2023-11-14T22:13:20.123456Z' })
    expect((await bothPaths(v, reader)).value).toMatchObject({ ts: '2023-11-14T22:13:20.123456' })
  })

  it('keeps an interval exactly, and refuses the int64 limits Debezium sends for one beyond them, naming the field', async () => {
    // PostgreSQL's '178000000 years': 5.6e21 µs, which MicroDuration's int64 cannot hold.
    expect((await bothPaths(avro({ iv: 2n ** 63n - 2n }), reader)).value).toMatchObject({ iv: 2n ** 63n - 2n })
    expect((await bothPaths(avro({ iv: -(2n ** 53n) - 1n }))).value).toMatchObject({ iv: -(2n ** 53n) - 1n })
    for (const limit of [2n ** 63n - 1n, -(2n ** 63n)]) {
      const d = await bothPaths(avro({ iv: limit }), reader)
      expect(d.error).toMatchObject({ code: 'TRIB_DECODE_ENVELOPE', field: 'after.iv', message: expect.stringContaining('MicroDuration') })
      expect(d.paths).toEqual(['reference'])
    }
  })

  it('refuses a time past 24:00:00 and names the field', async () => {
    const d = await bothPaths(avro({ t: 86_400_000_001 }), reader)
    expect(d.error).toMatchObject({ code: 'TRIB_DECODE_ENVELOPE', field: 'after.t' })
  })

  it('makes a string that is not UTF-8 a dead letter naming the field, never U+FFFD', async () => {
    const bytes = avro({ name: 'zz' })
    bytes[bytes.indexOf(Buffer.from('zz'))] = 0xfe
    const d = await bothPaths(bytes, reader)
    expect(d.error).toEqual({ code: 'TRIB_DECODE_UTF8', message: 'pg.public.t[0]@9: field after.name is not valid UTF-8', field: 'after.name' })
  })
})

describe('PostgreSQL edge values from Debezium JSON', () => {
  const wrapped = (payload: string) =>
    `{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"float32","optional":true,"field":"r"},{"type":"float64","optional":true,"field":"x"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"ts"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"d"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroDuration","version":1,"field":"iv"}],"optional":true,"name":"pg.public.t.Value","field":"after"},{"type":"string","optional":false,"field":"op"}],"optional":false,"name":"pg.public.t.Envelope"},"payload":${payload}}`

  it('reads the float words Jackson writes, -0.0, int64 beyond 2^53 and the sentinels, with the wrapper', () => {
    const e = new JsonChangeReader({}).read(wrapped('{"after":{"id":9223372036854775807,"r":"NaN","x":-0.0,"ts":9223372036825200000,"d":2147483647},"op":"c"}'))
    expect(e.after).toEqual({ id: 2n ** 63n - 1n, r: Number.NaN, x: -0, ts: 'infinity', d: 'infinity' })
    expect(Object.is(e.after!.x, -0)).toBe(true)
    const f = new JsonChangeReader({}).read(wrapped('{"after":{"id":1,"r":"-Infinity","x":"Infinity","ts":null,"d":null},"op":"c"}'))
    expect(f.after).toMatchObject({ r: Number.NEGATIVE_INFINITY, x: Number.POSITIVE_INFINITY })
  })

  it('refuses the int64 limit of a MicroDuration, with the wrapper, naming the field', () => {
    expect(new JsonChangeReader({}).read(wrapped('{"after":{"id":1,"iv":-9223372036854775807},"op":"c"}')).after).toMatchObject({ iv: -(2n ** 63n) + 1n })
    expect(() => new JsonChangeReader({}).read(wrapped('{"after":{"id":1,"iv":9223372036854775807},"op":"c"}'))).toThrow(
      expect.objectContaining({ code: 'TRIB_DECODE_ENVELOPE', details: expect.objectContaining({ field: 'after.iv' }) }),
    )
  })

  it('names the field of bytes that are not UTF-8', () => {
    const text = Buffer.concat([Buffer.from('{"after":{"id":1,"name":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('"},"op":"c"}')])
    expect(() => new JsonChangeReader({}).read(text, { topic: 't', partition: 1, offset: 2 })).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_UTF8', message: 't[1]@2: field after.name is not valid UTF-8' }))
  })

  it('keeps a key that is neither JSON nor UTF-8 as its bytes', () => {
    const key = Buffer.from([0xff, 0x00, 0x01])
    expect(new JsonChangeReader({}).key(key)).toEqual(key)
  })
})

describe('Debezium JSON without the wrapper, read with the reader schema', () => {
  const bareReader = {
    type: 'record',
    name: 'B',
    fields: [
      { name: 'd', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
      { name: 'tm', type: ['null', { type: 'int', logicalType: 'time-millis' }], default: null },
      { name: 'ts', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
      { name: 'amount', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }], default: null },
      { name: 'vsd', type: ['null', 'string'], default: null },
      { name: 'days', type: { type: 'array', items: ['null', { type: 'int', logicalType: 'date' }] }, default: [] },
      { name: 'n', type: ['null', 'long'], default: null },
      { name: 'iv', type: ['null', { type: 'long', 'connect.name': 'io.debezium.time.MicroDuration' }], default: null },
      { name: 'other', type: ['null', 'string'], default: null },
    ],
  }
  it('converts counts in the reader unit, base64 decimals at the reader scale, variable decimals and arrays, as the wrapper would', () => {
    const codec = createCodec(registry)
    const decoder = codec.decoder({ format: 'json', envelope: 'debezium', readerSchema: bareReader })
    const value = (after: string) => decoder.decode(record(`{"before":null,"after":${after},"op":"c"}`)).value
    expect(value(`{"d":-719162,"tm":86400000,"ts":-2208988800000,"amount":"${Buffer.from([0x04, 0xe2]).toString('base64')}","vsd":{"scale":3,"value":"${Buffer.from([0x30, 0x39]).toString('base64')}"},"days":[0,null,2147483647],"n":9223372036854775807,"other":"x"}`)).toEqual({
      d: '0001-01-01',
      tm: '24:00:00.000',
      ts: '1900-01-01T00:00:00.000Z',
      amount: '12.50',
      vsd: '12.345',
      days: ['1970-01-01', null, 'infinity'],
      n: 2n ** 63n - 1n,
      iv: null,
      other: 'x',
    })
    expect(value(`{"ts":${SENTINELS[3].positive[0]}}`)).toMatchObject({ ts: 'infinity' })
    // A reader long that says it is a MicroDuration refuses Debezium's int64 limits (a plain long keeps them).
    expect(value('{"iv":9223372036854775806}')).toMatchObject({ iv: 2n ** 63n - 2n })
    expect(() => value('{"iv":-9223372036854775808}')).toThrow(expect.objectContaining({ code: 'TRIB_DECODE_ENVELOPE', details: expect.objectContaining({ field: 'iv' }) }))
    // A count past a day is not a time: the conformer refuses it, naming the field.
    expect(() => value('{"tm":86400001}')).toThrow(expect.objectContaining({ code: 'TRIB_VALIDATE_TYPE', message: expect.stringMatching(/^tm: /) }))
  })
})
