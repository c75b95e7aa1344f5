import { describe, expect, it } from 'vitest'
import { buildAvro, buildAvroTombstone, buildJson, buildJsonTombstone, type ChangeSpec } from '../../../../products/sample-data/debezium/build.ts'
import { avroValueSchema } from '../../../../products/sample-data/debezium/build-avro.ts'
import { compileAvroChange, compileAvroValue, createEnvelopeType, rowSchemaOf } from '../../../../runtime/codec/debezium/avro.ts'
import { parseJsonChange } from '../../../../runtime/codec/debezium/json.ts'
import { keyFromMessage } from '../../../../runtime/codec/debezium/keys.ts'
import { isTributaryError } from '../../../../runtime/errors.ts'
import { alice, bob, bobUpdated, fixture, fixtureJson, logicalTypesRow, logicalTypesTable, usersTable } from './tables.ts'

/** The users scenario of test/fixtures/debezium, as build specs. */
const scenario: Array<[name: string, spec: ChangeSpec]> = [
  ['01-read', { op: 'r', after: alice, tsNs: 1700000000250000000n, source: { ts_ns: 1700000000000000000n, snapshot: 'last', sequence: '[null,"24023128"]', txId: 775, lsn: 24023128 } }],
  ['02-create', { op: 'c', after: bob, tsNs: 1700000000512345678n, source: { ts_ns: 1700000000480123000n, sequence: '["24023128","24023312"]', txId: 776, lsn: 24023312 } }],
  ['03-update', { op: 'u', before: bob, after: bobUpdated, tsNs: 1700000100021000042n, source: { ts_ns: 1700000100000456000n, sequence: '["24023312","24023560"]', txId: 777, lsn: 24023560 } }],
  ['04-delete', { op: 'd', before: bobUpdated, tsNs: 1700000200034567890n, source: { ts_ns: 1700000200000789000n, sequence: '["24023560","24023808"]', txId: 778, lsn: 24023808 } }],
  ['06-truncate', { op: 't', tsNs: 1700000300012000345n, source: { ts_ns: 1700000300000111000n, sequence: '["24023808","24024056"]', txId: 779, lsn: 24024056 } }],
]

describe('buildJson reproduces Debezium byte for byte', () => {
  it.each(scenario)('%s with the schema wrapper', (name, spec) => {
    const built = buildJson(usersTable, spec)
    expect(built.value).toBe(fixture(`users/json/${name}.value.json`))
    expect(built.key).toBe(spec.op === 't' ? null : fixture(`users/json/${name}.key.json`))
  })

  it.each(scenario)('%s without the wrapper', (name, spec) => {
    const built = buildJson(usersTable, spec, { schemas: false })
    expect(built.value).toBe(fixture(`users/json-bare/${name}.value.json`))
    expect(built.key).toBe(spec.op === 't' ? null : fixture(`users/json-bare/${name}.key.json`))
  })

  it('builds the tombstone after a delete', () => {
    expect(buildJsonTombstone(usersTable, bobUpdated)).toEqual({ key: fixture('users/json/05-tombstone.key.json'), value: null })
    expect(buildJsonTombstone(usersTable, bobUpdated, { schemas: false }).key).toBe(fixture('users/json-bare/05-tombstone.key.json'))
  })

  it('builds the logical-types event', () => {
    const spec: ChangeSpec = {
      op: 'c',
      after: logicalTypesRow,
      tsNs: 1700000000650000001n,
      source: { ts_ns: 1700000000600000000n, sequence: '["24030000","24030248"]', txId: 801, lsn: 24030248 },
    }
    const built = buildJson(logicalTypesTable, spec)
    expect(built.value).toBe(fixture('logical-types/json/create.value.json'))
    expect(built.key).toBe(fixture('logical-types/json/create.key.json'))
    expect(buildJson(logicalTypesTable, spec, { schemas: false }).value).toBe(fixture('logical-types/json-bare/create.value.json'))
  })

  it('round-trips canonical rows, also from the natural alternatives', () => {
    const row = { ...logicalTypesRow, d: new Date('2023-11-14T00:00:00Z'), ts_us: new Date(1700000000123), c_ts: 1700000000123 }
    const event = parseJsonChange(buildJson(logicalTypesTable, { op: 'c', after: row, tsMs: 5 }).value!)
    expect(event.after).toEqual({ ...logicalTypesRow, ts_us: '2023-11-14T22:13:20.123000Z' })
    expect(event.tsMs).toBe(5)
  })
})

describe('buildAvro reproduces AvroConverter', () => {
  it('writes the registered envelope and key schemas', () => {
    const built = buildAvro(usersTable, scenario[1]![1])
    expect(built.valueSchema).toEqual(fixtureJson('users/users.envelope.avsc'))
    expect(built.keySchema).toEqual(fixtureJson('users/users.key.avsc'))
    expect(buildAvro(logicalTypesTable, { op: 'c', after: logicalTypesRow }).valueSchema).toEqual(
      fixtureJson('logical-types/logical_types.envelope.avsc'),
    )
    expect(JSON.stringify(built.valueSchema)).toBe(JSON.stringify(fixtureJson('users/users.envelope.avsc'))) // attribute order too
  })

  it('builds values that encode and read back to the canonical rows', () => {
    for (const [, spec] of scenario) {
      const built = buildAvro(usersTable, spec)
      const codec = compileAvroChange(built.valueSchema)
      const bytes = createEnvelopeType(built.valueSchema).toBuffer(built.value)
      const event = codec.convert(codec.type.fromBuffer(bytes))
      expect(event.op).toBe(spec.op)
      expect(event.after).toEqual(spec.op === 'd' || spec.op === 't' ? null : spec.after)
      if (built.keySchema !== null && built.key !== null) {
        const key = compileAvroValue(built.keySchema)
        expect(key.convert(key.type.fromBuffer(key.type.toBuffer(built.key)))).toEqual({ id: spec.op === 'r' ? 1 : 2 })
      }
    }
    const types = buildAvro(logicalTypesTable, { op: 'c', after: logicalTypesRow })
    const codec = compileAvroChange(types.valueSchema)
    const event = codec.convert(codec.type.fromBuffer(createEnvelopeType(types.valueSchema).toBuffer({ ...types.value, after: { ...(types.value!.after as object), big: 1 } })))
    expect(event.after).toEqual({ ...logicalTypesRow, big: 1 })
  })

  it('builds the Avro tombstone and a standalone row schema equal to rowSchemaOf', () => {
    const t = buildAvroTombstone(usersTable, bobUpdated)
    expect(t).toMatchObject({ key: { id: 2 }, value: null })
    const lifted = rowSchemaOf(t.valueSchema) as { fields: unknown[] }
    expect(lifted.fields).toEqual((avroValueSchema(usersTable) as { fields: unknown[] }).fields)
  })
})

describe('build errors', () => {
  const expectEncodeError = (fn: () => unknown, message: RegExp) => {
    try {
      fn()
      expect.unreachable()
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_ENCODE_FAILED')).toBe(true)
      expect((e as Error).message).toMatch(message)
    }
  }

  it('names the column that does not encode', () => {
    expectEncodeError(() => buildJson(usersTable, { op: 'c', after: { ...bob, balance: 1.5 } }), /users: column balance: expected a decimal string/)
    expectEncodeError(() => buildJson(usersTable, { op: 'c', after: { ...bob, plan: 'gold' } }), /column plan: "gold" is not one of free, pro, team/)
    expectEncodeError(() => buildJson(usersTable, { op: 'c', after: { ...bob, email: null } }), /column email is required/)
    expectEncodeError(() => buildJson(usersTable, { op: 'c', after: { ...bob, nickname: 'b' } }), /row has no column nickname/)
    expectEncodeError(() => buildJson(usersTable, { op: 'd', after: bob }), /op "d" needs before/)
    expectEncodeError(() => buildJson(usersTable, { op: 'c', after: { ...bob, signup_date: '2023-13-01' } }), /signup_date: .*not a valid date/)
  })

  it('writes no key for a table without primary key', () => {
    const built = buildJson({ ...usersTable, key: [] }, { op: 'c', after: bob })
    expect(built.key).toBeNull()
    expect(keyFromMessage(built.key)).toBeNull()
  })
})
