import { describe, expect, it } from 'vitest'
import { compileAvroChange, createEnvelopeType } from '../../../../runtime/codec/debezium/avro.ts'
import { compileFastChange, type FastChange } from '../../../../runtime/codec/debezium/avro-fast.ts'
import { buildAvro } from '../../../../products/sample-data/debezium/build.ts'
import { compileConformer } from '../../../../runtime/codec/types/conform.ts'
import { planRow } from '../../../../runtime/codec/types/conform-plan.ts'
import { createType } from '../../../../runtime/codec/types/logical-types.ts'
import { alice, bob, bobUpdated, fixtureJson, logicalTypesRow, logicalTypesWire, usersTable } from './tables.ts'

const typesSchema = fixtureJson('logical-types/logical_types.envelope.avsc')

const source = {
  version: '2.7.3.Final',
  connector: 'postgresql',
  name: 'registration',
  ts_ms: 1_700_000_000_600,
  snapshot: 'false',
  db: 'registration',
  sequence: '["24030000","24030248"]',
  ts_us: 1_700_000_000_600_000,
  ts_ns: 1_700_000_000_600_000_000n,
  schema: 'public',
  table: 'logical_types',
  txId: 801,
  lsn: 24030248,
  xmin: null,
}

/** The users table as buildAvro writes it, and a reader schema of it in canonical logical types. */
const usersWriter = buildAvro(usersTable, { op: 'c', after: alice, tsMs: 1 }).valueSchema
const usersReader = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'id', type: 'int' },
    { name: 'email', type: 'string' },
    { name: 'display_name', type: ['null', 'string'], default: null },
    { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'pro', 'team'] } },
    { name: 'signup_date', type: { type: 'int', logicalType: 'date' } },
    { name: 'created_at', type: 'string' },
    { name: 'last_login', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }], default: null },
    { name: 'balance', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'external_id', type: ['null', { type: 'string', logicalType: 'uuid' }], default: null },
    { name: 'preferences', type: ['null', 'string'], default: null },
  ],
}

const typesEnvelope = (row: object | null, op: string, before: object | null = null) =>
  createEnvelopeType(typesSchema).toBuffer({ before, after: row, source, transaction: null, op, ts_ms: 1_700_000_000_650, ts_us: 1, ts_ns: 1n })

/** Key order and value types matter: compare a rendering that shows both. */
function show(v: unknown): string {
  if (v === null || v === undefined) return String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (Buffer.isBuffer(v)) return `<${v.toString('hex')}>`
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}:${show(x)}`).join(',')}}`
  return `${typeof v}:${String(v)}`
}

const framed = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body])

/** What the processor gets on the exact path: decode, convert, conform `after` (c/u/r). */
function exactDecoder(writer: object, reader?: object) {
  const codec = compileAvroChange(writer, { withSource: false })
  const conform = reader ? compileConformer(createType(reader)) : (row: unknown) => row
  return (body: Buffer) => {
    const e = codec.decode(body)
    return { op: e.op, before: e.before, after: e.after && e.op !== 'd' ? conform(e.after) : e.after, tsMs: e.tsMs }
  }
}

function fastDecoder(writer: object, reader?: object): FastChange {
  const type = reader ? createType(reader) : undefined
  const fast = compileFastChange(writer, type && ((fields) => planRow(type, fields)))
  if (!fast) throw new Error('expected a fast decoder')
  return fast
}

/**
 * For every body: when the fast decoder returns, the exact path returns the same value; when the
 * exact path throws, the fast decoder declines. Returns how many the fast path took.
 */
function agree(writer: object, reader: object | undefined, bodies: Buffer[]): number {
  const exact = exactDecoder(writer, reader)
  const fast = fastDecoder(writer, reader)
  const conform = reader ? compileConformer(createType(reader)) : (row: unknown) => row
  let taken = 0
  for (const body of bodies) {
    let expected: string
    try {
      expected = show(exact(body))
    } catch {
      expect(() => fast.decode(framed(body), 5), `accepted what the exact path refuses: ${body.toString('hex')}`).toThrow()
      continue
    }
    let got
    try {
      got = fast.decode(framed(body), 5)
    } catch {
      continue // declined: the exact path decides, which is always allowed
    }
    const after = got.after && got.op !== 'd' && !fast.conformed ? conform(got.after) : got.after
    expect(show({ op: got.op, before: got.before, after, tsMs: got.tsMs })).toBe(expected)
    taken++
  }
  return taken
}

/** Deterministic damage: bit flips, random bytes, truncation, a trailing byte. */
function damaged(bodies: Buffer[]): Buffer[] {
  let seed = 7
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const out: Buffer[] = []
  for (const body of bodies) {
    for (let k = 0; k < 8; k++) {
      const copy = Buffer.from(body)
      const i = Math.floor(rand() * copy.length)
      copy[i] = k < 4 ? copy[i]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256)
      out.push(copy)
    }
    out.push(body.subarray(0, Math.floor(rand() * body.length)), Buffer.concat([body, Buffer.from([0])]))
  }
  return out
}

describe('Debezium Avro fast path', () => {
  it('decodes every semantic type exactly like the exact path, nanoseconds and ts_ns included', () => {
    const fast = fastDecoder(typesSchema)
    const event = fast.decode(framed(typesEnvelope(logicalTypesWire, 'c')), 5)
    expect(event.after).toEqual({ ...logicalTypesRow, big: 9_007_199_254_740_990 })
    expect(event).toMatchObject({ op: 'c', before: null, source: null, tsMs: 1_700_000_000_650 })
    expect(fast.conformed).toBe(false)
    const bodies = ['c', 'u', 'd', 'r'].map((op) => typesEnvelope(op === 'd' ? null : logicalTypesWire, op, op === 'u' || op === 'd' ? logicalTypesWire : null))
    expect(agree(typesSchema, undefined, bodies)).toBe(4)
  })

  it('reads a NanoTimestamp beyond 2^53 as a bigint-backed exact value', () => {
    const fast = fastDecoder(typesSchema)
    const late = { ...logicalTypesWire, ts_ns: 9_000_000_000_000_000_001n, t_ns: 86_399_999_999_999 }
    expect(agree(typesSchema, undefined, [typesEnvelope(late, 'c')])).toBe(1)
    expect(fast.decode(framed(typesEnvelope(late, 'c')), 5).after?.ts_ns).toBe('2255-03-14T16:00:00.000000001Z')
  })

  it('builds `after` in the reader shape with the plan, equal to conforming it', () => {
    const bodies = [alice, bob, bobUpdated].map((row) => {
      const built = buildAvro(usersTable, { op: 'c', after: row, tsMs: 1 })
      return createEnvelopeType(built.valueSchema).toBuffer(built.value)
    })
    const fast = fastDecoder(usersWriter, usersReader)
    expect(fast.conformed).toBe(true)
    expect(fast.decode(framed(bodies[0]!), 5).after).toEqual({ ...alice, signup_date: '2023-11-01' })
    expect(agree(usersWriter, usersReader, bodies)).toBe(3)
  })

  it('agrees with a reader that adds, drops, narrows and re-types fields', () => {
    const reader = {
      type: 'record',
      name: 'Reader',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'email', type: 'string' },
        { name: 'plan', type: { type: 'enum', name: 'Plan', symbols: ['free', 'pro'] } }, // 'team' does not fit
        { name: 'signup_date', type: { type: 'int', logicalType: 'date' } },
        { name: 'last_login', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null }, // micros do not narrow
        { name: 'balance', type: { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 } }, // small precision
        { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-micros' } }, // a zoned string to normalize
        { name: 'extra', type: 'string', default: 'x' },
      ],
    }
    const rows = [alice, bob, bobUpdated, { ...alice, plan: 'team', balance: '12345.00', last_login: null }]
    const bodies = rows.flatMap((r) => {
      const built = buildAvro(usersTable, { op: 'u', before: r, after: r, tsMs: 5 })
      return [createEnvelopeType(built.valueSchema).toBuffer(built.value)]
    })
    const taken = agree(usersWriter, reader, [...bodies, ...damaged(bodies)])
    expect(agree(usersWriter, usersReader, [...bodies, ...damaged(bodies)])).toBeGreaterThan(0)
    expect(taken).toBeGreaterThan(0)
  })

  it('declines whatever the exact path refuses, and never disagrees on damaged bytes', () => {
    const bodies = ['c', 'u', 'd'].map((op) => typesEnvelope(op === 'd' ? null : logicalTypesWire, op, op === 'c' ? null : logicalTypesWire))
    const all = damaged(bodies)
    const taken = agree(typesSchema, undefined, all)
    expect(taken).toBeLessThan(all.length)
    const fast = fastDecoder(typesSchema)
    const good = framed(typesEnvelope(logicalTypesWire, 'c'))
    expect(() => fast.decode(good.subarray(0, good.length - 1), 5)).toThrow()
    expect(() => fast.decode(Buffer.concat([good, Buffer.from([0])]), 5)).toThrow()
    expect(() => fast.decode(framed(typesEnvelope(null, 't')), 5)).toThrow() // truncates go the exact way
    expect(() => fast.decode(framed(typesEnvelope({ ...logicalTypesWire, doc: '{nope' }, 'c')), 5)).toThrow()
    // A uuid column: upper case is lowered like the exact path does; text that is no uuid goes the exact way.
    const upper = typesEnvelope({ ...logicalTypesWire, uid: logicalTypesWire.uid.toUpperCase() }, 'c')
    expect(fast.decode(framed(upper), 5).after?.uid).toBe(logicalTypesWire.uid)
    expect(() => fast.decode(framed(typesEnvelope({ ...logicalTypesWire, uid: 'not-a-uuid' }, 'c')), 5)).toThrow()
    expect(agree(typesSchema, undefined, [upper, typesEnvelope({ ...logicalTypesWire, uid: 'not-a-uuid' }, 'c')])).toBe(1)
  })

  it('has no fast decoder for a recursive row type', () => {
    const schema = {
      type: 'record',
      name: 'Envelope',
      fields: [
        { name: 'before', type: ['null', { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] }], default: null },
        { name: 'after', type: ['null', 'Node'], default: null },
        { name: 'op', type: 'string' },
      ],
    }
    expect(compileFastChange(schema)).toBeUndefined()
  })
})
