import { describe, expect, it } from 'vitest'
import { avroToIcebergSchema } from '../../../runtime/lake/iceberg/schema.ts'

const base = {
  type: 'record',
  name: 'Profile',
  namespace: 'users',
  fields: [
    { name: 'user_id', type: 'long' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'age', type: ['null', 'int'], default: null },
    { name: 'joined', type: { type: 'int', logicalType: 'date' } },
    { name: 'updated_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'local_at', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'balance', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'ref', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'premium'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 16 } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'scores', type: { type: 'map', values: ['null', 'double'] } },
    { name: 'address', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }] }], default: null },
    { name: 'previous', type: ['null', 'Address'], default: null },
    { name: 'at', type: { type: 'int', 'connect.name': 'io.debezium.time.Date' } },
  ],
}

describe('Avro to Iceberg schemas', () => {
  it('maps every supported type with field ids, nullability and nested ids', () => {
    const { schema, lastColumnId } = avroToIcebergSchema(base, { identifierFields: ['user_id'] })
    const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]))
    expect(schema.fields.map((f) => [f.id, f.name, f.required])).toEqual([
      [1, 'user_id', true], [2, 'email', false], [3, 'age', false], [4, 'joined', true], [5, 'updated_at', true], [6, 'local_at', true],
      [7, 'balance', true], [8, 'ref', true], [9, 'plan', true], [10, 'hash', true], [11, 'tags', true], [12, 'scores', true],
      [13, 'address', false], [14, 'previous', false], [15, 'at', true],
    ])
    expect(byName.joined?.type).toBe('date')
    expect(byName.updated_at?.type).toBe('timestamptz')
    expect(byName.local_at?.type).toBe('timestamp')
    expect(byName.balance?.type).toBe('decimal(12, 2)')
    expect([byName.ref?.type, byName.plan?.type, byName.hash?.type, byName.at?.type]).toEqual(['string', 'string', 'binary', 'date'])
    // nested ids come after every top-level id, level by level
    expect(byName.tags?.type).toEqual({ type: 'list', 'element-id': 16, element: 'string', 'element-required': true })
    expect(byName.scores?.type).toEqual({ type: 'map', 'key-id': 17, key: 'string', 'value-id': 18, value: 'double', 'value-required': false })
    expect(byName.address?.type).toEqual({ type: 'struct', fields: [{ id: 19, name: 'city', required: true, type: 'string' }, { id: 20, name: 'zip', required: false, type: 'string' }] })
    // a named type used twice gets its own ids the second time
    expect(byName.previous?.type).toEqual({ type: 'struct', fields: [{ id: 21, name: 'city', required: true, type: 'string' }, { id: 22, name: 'zip', required: false, type: 'string' }] })
    expect(lastColumnId).toBe(22)
    expect(schema['identifier-field-ids']).toEqual([1])
  })

  it('keeps ids by name path when evolving and gives new fields new ids', () => {
    const v1 = avroToIcebergSchema(base)
    const v2 = {
      ...base,
      fields: [
        ...base.fields.filter((f) => f.name !== 'age'),
        { name: 'nickname', type: ['null', 'string'], default: null },
        { name: 'level', type: 'int', default: 1 },
      ].map((f) => (f.name === 'address' ? { ...f, type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }, { name: 'country', type: ['null', 'string'], default: null }] }] } : f)),
    }
    const { schema, lastColumnId } = avroToIcebergSchema(v2, { previous: v1.schema, lastColumnId: v1.lastColumnId, schemaId: 1 })
    const ids = Object.fromEntries(schema.fields.map((f) => [f.name, f.id]))
    expect(ids.user_id).toBe(1)
    expect(ids.address).toBe(13)
    expect(ids.nickname).toBe(23)
    expect(ids.level).toBe(24)
    // v2 has no initial-default: a new field with a default is optional (old files read null)
    expect(schema.fields.find((f) => f.name === 'level')?.required).toBe(false)
    const address = schema.fields.find((f) => f.name === 'address')?.type as { fields: { id: number; name: string }[] }
    expect(address.fields.map((f) => [f.id, f.name])).toEqual([[19, 'city'], [20, 'zip'], [25, 'country']])
    // `previous` names the same Address record, so it gains country too (id 26)
    expect(lastColumnId).toBe(26)
  })

  it('allows promotions and widening to optional, refuses the rest', () => {
    const v1 = avroToIcebergSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }, { name: 'f', type: 'float' }, { name: 'o', type: ['null', 'int'] }] })
    const evolve = (fields: unknown[]) => avroToIcebergSchema({ type: 'record', name: 'R', fields }, { previous: v1.schema, lastColumnId: v1.lastColumnId })
    expect(evolve([{ name: 'n', type: ['null', 'long'] }, { name: 'f', type: 'double' }, { name: 'o', type: ['null', 'long'] }]).schema.fields.map((f) => [f.type, f.required])).toEqual([['long', false], ['double', true], ['long', false]])
    expect(() => evolve([{ name: 'n', type: 'string' }])).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SCHEMA_INCOMPATIBLE', message: expect.stringContaining('field n cannot change from int to string') }))
    expect(() => evolve([{ name: 'o', type: 'int' }])).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SCHEMA_INCOMPATIBLE', message: expect.stringContaining('field o was optional') }))
    expect(() => evolve([{ name: 'n', type: 'int' }, { name: 'must', type: 'string' }])).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SCHEMA_INCOMPATIBLE', message: expect.stringContaining('new field must is required and has no default') }))
  })

  it('refuses types Iceberg v2 cannot hold, naming the field', () => {
    const one = (type: unknown) => () => avroToIcebergSchema({ type: 'record', name: 'R', fields: [{ name: 'x', type }] })
    expect(one(['null', 'int', 'string'])).toThrow(expect.objectContaining({ code: 'TRIB_LAKE_SCHEMA_UNSUPPORTED', message: expect.stringContaining('Avro field x') }))
    expect(one({ type: 'long', logicalType: 'timestamp-nanos' })).toThrow(/needs Iceberg v3/)
    expect(one({ type: 'bytes', logicalType: 'decimal', precision: 40, scale: 2 })).toThrow(/outside Iceberg's range/)
    expect(() => avroToIcebergSchema('string')).toThrow(/top-level Avro type must be a record/)
    expect(() => avroToIcebergSchema(base, { identifierFields: ['email'] })).toThrow(/identifier field email must be a required/)
  })
})
