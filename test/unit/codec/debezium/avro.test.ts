import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { compileAvroChange, compileAvroValue, createEnvelopeType, rowSchemaOf } from '../../../../runtime/codec/debezium/avro.ts'
import { isTributaryError } from '../../../../runtime/errors.ts'
import { alice, fixtureJson, logicalTypesRow, logicalTypesWire } from './tables.ts'

const usersSchema = fixtureJson('users/users.envelope.avsc')
const typesSchema = fixtureJson('logical-types/logical_types.envelope.avsc')

const source = (table: string, tsNs: bigint) => ({
  version: '2.7.3.Final',
  connector: 'postgresql',
  name: 'registration',
  ts_ms: Number(tsNs / 1_000_000n),
  snapshot: 'false',
  db: 'registration',
  sequence: '["24030000","24030248"]',
  ts_us: Number(tsNs / 1_000n),
  ts_ns: tsNs,
  schema: 'public',
  table,
  txId: 801,
  lsn: 24030248,
  xmin: null,
})

const envelope = (row: object, op = 'c', tsNs = 1_700_000_000_650_000_001n) => ({
  before: op === 'd' ? row : null,
  after: op === 'd' ? null : row,
  source: source('logical_types', 1_700_000_000_600_000_000n),
  transaction: null,
  op,
  ts_ms: Number(tsNs / 1_000_000n),
  ts_us: Number(tsNs / 1_000n),
  ts_ns: tsNs,
})

describe('Avro envelopes', () => {
  const codec = compileAvroChange(typesSchema)
  const bytes = createEnvelopeType(typesSchema).toBuffer(envelope(logicalTypesWire))

  it('decodes and converts every semantic type exactly', () => {
    const event = codec.convert(codec.type.fromBuffer(bytes))
    expect(event.op).toBe('c')
    expect(event.before).toBeNull()
    expect(event.after).toEqual({ ...logicalTypesRow, big: 9_007_199_254_740_990 })
    expect(event.tsMs).toBe(1_700_000_000_650)
  })

  it('decodes NanoTimestamp and ts_ns beyond 2^53 exactly, other longs natively', () => {
    const decoded = codec.type.fromBuffer(bytes) as Record<string, Record<string, unknown>>
    expect(decoded.after?.ts_ns).toBe(1_700_000_000_123_456_789n)
    expect(decoded.ts_ns as unknown).toBe(1_700_000_000_650_000_001n)
    expect(decoded.source?.ts_ns).toBe(1_700_000_000_600_000_000n)
    expect(decoded.source?.ts_us).toBe(1_700_000_000_600_000)
    expect(decoded.after?.t_ns).toBe(49_000_123_456_789) // exact long narrows safe values to numbers
  })

  it('decodes every long exactly: a number while safe, a bigint beyond (never refused, never rounded)', () => {
    // A writer whose every long takes bigints, to produce bytes avsc's own long refuses to write.
    const writer = avro.Type.forSchema(typesSchema as avro.Schema, {
      wrapUnions: false,
      typeHook: (s: unknown) => (s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long') ? bigLong : undefined),
    })
    const fine = writer.toBuffer(envelope({ ...logicalTypesWire, big: 2n ** 53n - 2n }))
    expect((codec.type.fromBuffer(fine) as { after: { big: unknown } }).after.big).toBe(2 ** 53 - 2)
    for (const big of [2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), -9007199254740990n - 1n]) {
      const bytes = writer.toBuffer(envelope({ ...logicalTypesWire, big }))
      const expected = big >= -(2n ** 53n - 1n) && big <= 2n ** 53n - 1n ? Number(big) : big
      expect((codec.type.fromBuffer(bytes) as { after: { big: unknown } }).after.big).toBe(expected)
      expect(codec.decode(bytes).after?.big).toBe(expected)
    }
  })

  it('reads a delete (before only) and names the side in conversion errors', () => {
    const event = codec.convert(codec.type.fromBuffer(createEnvelopeType(typesSchema).toBuffer(envelope(logicalTypesWire, 'd'))))
    expect(event).toMatchObject({ op: 'd', after: null, before: { ...logicalTypesRow, big: 9_007_199_254_740_990 } })

    const bad = codec.type.fromBuffer(createEnvelopeType(typesSchema).toBuffer(envelope({ ...logicalTypesWire, doc: '{not json' })))
    try {
      codec.convert(bad, { topic: 'registration.public.logical_types', partition: 2, offset: 9 })
      expect.unreachable()
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_DECODE_ENVELOPE')).toBe(true)
      expect((e as Error).message).toContain('registration.public.logical_types[2]@9: field after.doc')
    }
  })

  it('checks the envelope rules on Avro too', () => {
    const decoded = codec.type.fromBuffer(createEnvelopeType(typesSchema).toBuffer({ ...envelope(logicalTypesWire), op: 'x' }))
    expect(() => codec.convert(decoded)).toThrow(/unknown value "x"/)
  })

  it('converts the users table (ZonedTimestamp, Enum, Json, Decimal, optional MicroTimestamp)', () => {
    const users = compileAvroChange(usersSchema)
    const row = {
      ...alice,
      signup_date: 19662,
      last_login: 1_700_000_000_123_456,
      balance: Buffer.from([0x30, 0x39]),
      preferences: '{"theme": "dark", "newsletter": true}',
    }
    const value = { ...envelope(row, 'c'), source: source('users', 1_700_000_000_000_000_000n) }
    const event = users.convert(users.type.fromBuffer(createEnvelopeType(usersSchema).toBuffer(value)))
    expect(event.after).toEqual(alice)
    expect(event.source).toMatchObject({ table: 'users', ts_ns: 1_700_000_000_000_000_000n })
  })

  it('skips conversion for rows without semantic types (identity fast path)', () => {
    const schema = {
      type: 'record',
      name: 'Envelope',
      namespace: 't.public.plain',
      fields: [
        { name: 'before', type: ['null', { type: 'record', name: 'Value', fields: [{ name: 'id', type: 'int' }, { name: 'n', type: 'string' }] }], default: null },
        { name: 'after', type: ['null', 'Value'], default: null },
        { name: 'op', type: 'string' },
      ],
    }
    const plain = compileAvroChange(schema)
    const decoded = plain.type.fromBuffer(plain.type.toBuffer({ before: null, after: { id: 1, n: 'x' }, op: 'c' })) as { after: object }
    const event = plain.convert(decoded)
    expect(event.after).toBe(decoded.after)
    expect(event).toMatchObject({ source: null, tsMs: null })
  })

  it('refuses schemas that are not envelopes', () => {
    expect(() => compileAvroChange({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'int' }] })).toThrow(/no `op` field/)
    expect(() => compileAvroChange({ type: 'string' })).toThrow(/not a record/)
  })
})

describe('rowSchemaOf', () => {
  it('lifts the Value record out with full names, resolving the VariableScaleDecimal reference', () => {
    const row = rowSchemaOf(typesSchema) as { name: string; fields: Array<{ name: string; type: unknown }> }
    expect(row.name).toBe('registration.public.logical_types.Value')
    expect(row.fields.map((f) => f.name)).toEqual(Object.keys(logicalTypesWire))
    expect(row.fields.find((f) => f.name === 'ratio')?.type).toEqual(['null', 'io.debezium.data.VariableScaleDecimal'])
    const type = avro.Type.forSchema(row as avro.Schema, { wrapUnions: false, typeHook: () => undefined })
    expect(type.name).toBe('registration.public.logical_types.Value')
  })

  it('matches the row record of the users envelope', () => {
    const row = rowSchemaOf(usersSchema) as { name: string; fields: unknown[] }
    expect(row.name).toBe('registration.public.users.Value')
    expect(row.fields).toHaveLength(10)
  })
})

describe('compileAvroValue (keys)', () => {
  it('decodes and converts a key record', () => {
    const keySchema = {
      type: 'record',
      name: 'Key',
      namespace: 't.public.events',
      fields: [
        { name: 'tenant', type: { type: 'string', 'connect.version': 1, 'connect.name': 'io.debezium.data.Uuid' } },
        { name: 'at', type: { type: 'long', 'connect.version': 1, 'connect.name': 'io.debezium.time.MicroTimestamp' } },
      ],
      'connect.name': 't.public.events.Key',
    }
    const codec = compileAvroValue(keySchema)
    const decoded = codec.type.fromBuffer(codec.type.toBuffer({ tenant: 'ABC', at: 1_700_000_000_123_456 }))
    expect(codec.convert(decoded)).toEqual({ tenant: 'abc', at: '2023-11-14T22:13:20.123456Z' })
    expect(codec.convert(null)).toBeNull()
  })
})

/** A bigint long for building test bytes that avsc's own long refuses to write. */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
  toBuffer: (v: bigint | number) => {
    const b = Buffer.alloc(8)
    b.writeBigInt64LE(BigInt(v))
    return b
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (v: unknown) => typeof v === 'bigint' || Number.isInteger(v),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
})
