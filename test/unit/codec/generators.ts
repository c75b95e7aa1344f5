/**
 * fast-check generators for the codec's property suite: random Avro schemas in the value model
 * (records, nested records, unions, arrays, maps, enums, fixed, every logical type, nullable
 * everything) with values that reach the edges, and random Debezium row schemas with wire values,
 * including Debezium's infinity sentinels and PostgreSQL's edge values. About one value in
 * fifteen is made invalid somewhere (an unsafe number, a lone surrogate, a digit too many…), so the
 * suite compares refusals as well as values.
 */
import fc from 'fast-check'
import { formatDecimal } from '../../../runtime/codec/values/decimal.ts'
import { narrow } from '../../../runtime/codec/values/long.ts'
import { formatDate, formatTime, formatTimestamp } from '../../../runtime/codec/values/temporal.ts'
import { SENTINELS } from '../../../runtime/codec/debezium/semantic.ts'
import type { SchemaRegistry } from '../../../runtime/registry/registry.ts'

export type Spec =
  | { kind: 'boolean' | 'int' | 'long' | 'float' | 'double' | 'string' | 'bytes' }
  | { kind: 'date' | 'time-millis' | 'time-micros' | 'timestamp-millis' | 'timestamp-micros' | 'local-timestamp-millis' | 'local-timestamp-micros' }
  | { kind: 'decimal'; precision: number; scale: number; fixed?: number }
  | { kind: 'uuid'; fixed: boolean }
  | { kind: 'enum'; symbols: string[]; default?: string }
  | { kind: 'fixed'; size: number }
  | { kind: 'array'; items: Spec }
  | { kind: 'map'; values: Spec }
  | { kind: 'record'; fields: Array<{ name: string; type: Spec; withDefault: boolean }> }
  | { kind: 'nullable'; type: Spec; nullFirst: boolean }
  | { kind: 'union'; branches: Spec[] }

const primitive = fc.constantFrom<Spec>(
  ...(['boolean', 'int', 'long', 'long', 'float', 'double', 'string', 'string', 'bytes'] as const).map((kind) => ({ kind }) as Spec),
  ...(['date', 'time-millis', 'time-micros', 'timestamp-millis', 'timestamp-micros', 'local-timestamp-millis', 'local-timestamp-micros'] as const).map((kind) => ({ kind }) as Spec),
)
const decimalSpec: fc.Arbitrary<Spec> = fc
  .record({ precision: fc.integer({ min: 1, max: 38 }), scaleFraction: fc.double({ min: 0, max: 1, noNaN: true }), fixed: fc.boolean() })
  .map(({ precision, scaleFraction, fixed }) => {
    const scale = Math.floor(scaleFraction * precision)
    // The smallest fixed that holds the precision.
    const size = Math.ceil((precision * Math.log2(10) + 1) / 8)
    return fixed ? { kind: 'decimal', precision, scale, fixed: size } : { kind: 'decimal', precision, scale }
  })
const named: fc.Arbitrary<Spec> = fc.oneof(
  fc.uniqueArray(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,5}$/), { minLength: 1, maxLength: 5 }).chain((symbols) =>
    fc.option(fc.constantFrom(...symbols), { nil: undefined }).map((d) => (d === undefined ? { kind: 'enum', symbols } : { kind: 'enum', symbols, default: d }) as Spec),
  ),
  fc.integer({ min: 0, max: 20 }).map((size) => ({ kind: 'fixed', size }) as Spec),
  fc.boolean().map((fixed) => ({ kind: 'uuid', fixed }) as Spec),
)

const leaf = fc.oneof({ weight: 6, arbitrary: primitive }, { weight: 2, arbitrary: decimalSpec }, { weight: 2, arbitrary: named })

/** Unions whose branches the unwrapped form tells apart (no two numbers, no two records). */
const unions = fc.constantFrom<Spec>(
  { kind: 'union', branches: [{ kind: 'string' }, { kind: 'long' }] },
  { kind: 'union', branches: [{ kind: 'long' }, { kind: 'string' }, { kind: 'boolean' }] },
  { kind: 'union', branches: [{ kind: 'double' }, { kind: 'bytes' }] },
)

export const specArb: fc.Arbitrary<Spec> = fc.letrec<{ type: Spec; record: Spec }>((tie) => ({
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: leaf },
    { weight: 3, arbitrary: tie('type').map((type) => (type.kind === 'nullable' || type.kind === 'union' ? type : ({ kind: 'nullable', type, nullFirst: true } as Spec))) },
    { weight: 1, arbitrary: tie('type').map((type) => (type.kind === 'nullable' || type.kind === 'union' ? type : ({ kind: 'nullable', type, nullFirst: false } as Spec))) },
    { weight: 1, arbitrary: unions },
    { weight: 2, arbitrary: tie('type').map((items) => ({ kind: 'array', items }) as Spec) },
    { weight: 1, arbitrary: tie('type').map((values) => ({ kind: 'map', values }) as Spec) },
    { weight: 2, arbitrary: tie('record') },
  ),
  record: fc
    .uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), type: tie('type'), withDefault: fc.boolean() }), {
      minLength: 1,
      maxLength: 6,
      selector: (f) => f.name,
    })
    .map((fields) => ({ kind: 'record', fields }) as Spec),
})).record

/** The Avro schema (JSON) of a spec; named types get unique names. */
export function avroSchema(spec: Spec, names = { n: 0 }): unknown {
  const name = (prefix: string) => `${prefix}${names.n++}`
  switch (spec.kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
    case 'bytes':
      return spec.kind
    case 'date':
    case 'time-millis':
      return { type: 'int', logicalType: spec.kind }
    case 'time-micros':
    case 'timestamp-millis':
    case 'timestamp-micros':
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      return { type: 'long', logicalType: spec.kind }
    case 'decimal':
      return spec.fixed
        ? { type: 'fixed', name: name('Dec'), size: spec.fixed, logicalType: 'decimal', precision: spec.precision, scale: spec.scale }
        : { type: 'bytes', logicalType: 'decimal', precision: spec.precision, scale: spec.scale }
    case 'uuid':
      return spec.fixed ? { type: 'fixed', name: name('Uuid'), size: 16, logicalType: 'uuid' } : { type: 'string', logicalType: 'uuid' }
    case 'enum':
      return { type: 'enum', name: name('E'), symbols: spec.symbols, ...(spec.default ? { default: spec.default } : {}) }
    case 'fixed':
      return { type: 'fixed', name: name('F'), size: spec.size }
    case 'array':
      return { type: 'array', items: avroSchema(spec.items, names) }
    case 'map':
      return { type: 'map', values: avroSchema(spec.values, names) }
    case 'record':
      return {
        type: 'record',
        name: name('R'),
        fields: spec.fields.map((f) => ({
          name: f.name,
          type: avroSchema(f.type, names),
          // Only null defaults for nullable fields (the first branch must match the default).
          ...(f.withDefault && f.type.kind === 'nullable' && f.type.nullFirst ? { default: null } : {}),
        })),
      }
    case 'nullable':
      return spec.nullFirst ? ['null', avroSchema(spec.type, names)] : [avroSchema(spec.type, names), 'null']
    case 'union':
      return spec.branches.map((b) => avroSchema(b, names))
  }
}

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n
/** Longs at the edges the issue names (±2^63, ±2^53±1, around -2^52 where avsc flipped the sign), and anywhere. */
export const int64 = fc.oneof(
  fc.integer(),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }).map(narrow),
  fc.constantFrom(I64_MIN, I64_MAX, 2n ** 53n, -(2n ** 53n), 2n ** 53n + 1n, -(2n ** 53n) - 1n).map(narrow),
  fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 52, -(2 ** 52) - 1, -9007199254740990, -4503599627370497, -6000000000000001, 0, -1, 2 ** 31, -(2 ** 31) - 1),
)
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 65, maxLength: 400 }) },
)
const loneSurrogate = fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 0xd800, max: 0xdfff })).map(([s, c]) => `${s}${String.fromCharCode(c)}`)
const days = fc.oneof(fc.integer({ min: -800_000, max: 3_000_000 }), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), fc.constantFrom(2 ** 31 - 1, -(2 ** 31 - 1), -735160, 106_751))
/** Counts of a timestamp's unit: any int64, the infinities among them. */
export const timestampCount = fc.oneof(int64, fc.constantFrom(I64_MAX, -I64_MAX).map(narrow))

/**
 * A value of the spec in the model's canonical form; `invalid` is the chance that a leaf is made
 * something the type must refuse.
 */
export function valueArb(spec: Spec, invalid = 0.02): fc.Arbitrary<unknown> {
  const bad = (good: fc.Arbitrary<unknown>, wrong: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
    invalid > 0 ? fc.oneof({ weight: Math.round((1 - invalid) * 1000), arbitrary: good }, { weight: Math.round(invalid * 1000), arbitrary: wrong }) : good
  switch (spec.kind) {
    case 'boolean':
      return bad(fc.boolean(), fc.constant(1))
    case 'int':
      return bad(fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31))), fc.constantFrom(2 ** 31, 1.5, 5n))
    case 'long':
      return bad(int64, fc.constantFrom(2 ** 60, -(2 ** 53) - 2, 1.5, 2n ** 63n, -(2n ** 63n) - 1n, '7'))
    case 'float':
      return bad(fc.float(), fc.constantFrom('1', 1n))
    case 'double':
      return bad(fc.double(), fc.constantFrom('NaN', null))
    case 'string':
      return bad(text, loneSurrogate)
    case 'bytes':
      return bad(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.constantFrom('AQID', [1, 2]))
    case 'date':
      return bad(days.map(formatDate), fc.constantFrom('2023-02-30', '2023-1-1', 19000.5))
    case 'time-millis':
      return bad(fc.integer({ min: 0, max: 86_400_000 }).map((n) => formatTime(n, 3)), fc.constantFrom('24:00:00.001', '12:00:00.0001', '25:00:00'))
    case 'time-micros':
      return bad(fc.integer({ min: 0, max: 86_400_000_000 }).map((n) => formatTime(n, 6)), fc.constantFrom('24:00:01', '12:00:00.0000001'))
    case 'timestamp-millis':
    case 'timestamp-micros':
    case 'local-timestamp-millis':
    case 'local-timestamp-micros': {
      const digits = spec.kind.endsWith('millis') ? 3 : 6
      const utc = !spec.kind.startsWith('local')
      return bad(
        timestampCount.map((n) => formatTimestamp(n, digits, utc)),
        fc.constantFrom('yesterday', utc ? '2024-01-01T00:00:00.000' : '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.0000001Z', 2 ** 60),
      )
    }
    case 'decimal': {
      const limit = 10n ** BigInt(spec.precision)
      return bad(
        fc.oneof(fc.bigInt({ min: -limit + 1n, max: limit - 1n }), fc.constantFrom(limit - 1n, -limit + 1n, 0n)).map((n) => formatDecimal(n, spec.scale)),
        fc.constantFrom(formatDecimal(limit, spec.scale), `0.${'1'.repeat(spec.scale + 1)}`, 1.5, 'x'),
      )
    }
    case 'uuid':
      return bad(fc.uuid(), fc.constantFrom('not-a-uuid', 42))
    case 'enum':
      return bad(fc.constantFrom(...spec.symbols), fc.constantFrom('no_such_symbol', 3))
    case 'fixed':
      return bad(fc.uint8Array({ minLength: spec.size, maxLength: spec.size }).map((b) => Buffer.from(b)), fc.constant(Buffer.alloc(spec.size + 1)))
    case 'array':
      return bad(fc.array(valueArb(spec.items, invalid), { maxLength: 4 }), fc.constant({ not: 'an array' }))
    case 'map':
      return bad(fc.dictionary(text, valueArb(spec.values, invalid), { maxKeys: 3 }), fc.constant([]))
    case 'record': {
      const fields = Object.fromEntries(spec.fields.map((f) => [f.name, valueArb(f.type, invalid)]))
      return bad(fc.record(fields), fc.constant('not a record'))
    }
    case 'nullable':
      return fc.option(valueArb(spec.type, invalid), { nil: null, freq: 4 })
    case 'union':
      return fc.oneof(...spec.branches.map((b) => valueArb(b, invalid)))
  }
}

/** Deep equality that tells NaN, -0, bigint and number, Buffer and array, and key order apart. */
export function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b)
  if (typeof a !== typeof b) return false
  if (a === null || b === null || typeof a !== 'object') return a === b
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b)
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]))
  const ka = Object.keys(a)
  const kb = Object.keys(b as object)
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

// ---- Flat records (the lake's columnar path) --------------------------------------------------

/** A leaf the lake's columnar path reads (avro-columns.ts): primitives, dates, timestamps, decimals of ≤ 18 digits, string uuids, enums. */
const flatLeaf: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<Spec>(...(['boolean', 'int', 'long', 'float', 'double', 'string', 'bytes', 'date', 'timestamp-millis', 'timestamp-micros', 'local-timestamp-millis', 'local-timestamp-micros'] as const).map((kind) => ({ kind }))) },
  { weight: 2, arbitrary: decimalSpec.filter((d) => d.kind === 'decimal' && d.precision <= 18) },
  { weight: 1, arbitrary: fc.constant<Spec>({ kind: 'uuid', fixed: false }) },
  { weight: 1, arbitrary: named.filter((n) => n.kind === 'enum') },
)

/** A flat record: top-level fields of columnar leaves, each maybe nullable (null first or last). */
export const flatRecordArb: fc.Arbitrary<Extract<Spec, { kind: 'record' }>> = fc
  .uniqueArray(
    fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/),
      type: fc.tuple(flatLeaf, fc.constantFrom('no', 'first', 'last')).map(([type, n]) => (n === 'no' ? type : ({ kind: 'nullable', type, nullFirst: n === 'first' } as Spec))),
      withDefault: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8, selector: (f) => f.name },
  )
  .map((fields) => ({ kind: 'record', fields }))

// ---- Debezium rows ---------------------------------------------------------------------------

export type Column =
  | { kind: 'boolean' | 'int' | 'long' | 'float' | 'double' | 'string' | 'bytes' }
  | { kind: 'Date' | 'Time' | 'MicroTime' | 'NanoTime' | 'Timestamp' | 'MicroTimestamp' | 'NanoTimestamp' | 'ZonedTimestamp' | 'MicroDuration' | 'Json' | 'Uuid' | 'VariableScaleDecimal' }
  | { kind: 'Decimal'; precision: number; scale: number }
  | { kind: 'Enum'; symbols: string[] }
  | { kind: 'array'; items: 'int' | 'string' | 'Date' }

export const columnArb: fc.Arbitrary<Column> = fc.oneof(
  fc.constantFrom<Column>(
    ...(['boolean', 'int', 'long', 'long', 'float', 'double', 'string', 'string', 'bytes'] as const).map((kind) => ({ kind })),
    ...(['Date', 'Time', 'MicroTime', 'NanoTime', 'Timestamp', 'MicroTimestamp', 'MicroTimestamp', 'NanoTimestamp', 'ZonedTimestamp', 'MicroDuration', 'Json', 'Uuid', 'VariableScaleDecimal'] as const).map((kind) => ({ kind })),
  ),
  fc.record({ precision: fc.integer({ min: 1, max: 30 }), scale: fc.integer({ min: 0, max: 6 }) }).map(({ precision, scale }) => ({ kind: 'Decimal', precision: Math.max(precision, scale), scale }) as Column),
  fc.constantFrom<Column>({ kind: 'Enum', symbols: ['free', 'premium', 'family'] }, { kind: 'array', items: 'int' }, { kind: 'array', items: 'string' }, { kind: 'array', items: 'Date' }),
)

/** A Debezium envelope schema for the columns, as AvroConverter writes it (nullable columns, before/after). */
export function envelopeSchema(columns: Array<{ name: string; column: Column; optional: boolean }>, table: string): object {
  const row = {
    type: 'record',
    name: 'Value',
    fields: columns.map((c, i) => {
      const t = columnAvro(c.column, table, i)
      return c.optional ? { name: c.name, type: ['null', t], default: null } : { name: c.name, type: t }
    }),
    'connect.name': `db.public.${table}.Value`,
  }
  return {
    type: 'record',
    name: 'Envelope',
    namespace: `db.public.${table}`,
    fields: [
      { name: 'before', type: ['null', row], default: null },
      { name: 'after', type: ['null', 'Value'], default: null },
      {
        name: 'source',
        type: { type: 'record', name: 'Source', namespace: 'io.debezium.connector.postgresql', fields: [{ name: 'db', type: 'string' }, { name: 'ts_ns', type: ['null', 'long'], default: null }] },
      },
      { name: 'op', type: 'string' },
      { name: 'ts_ms', type: ['null', 'long'], default: null },
    ],
    'connect.name': `db.public.${table}.Envelope`,
  }
}

const connect = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ type, 'connect.version': 1, ...extra, 'connect.name': name })

/** The Avro type AvroConverter writes for a column (non-null). */
export function columnAvro(c: Column, table: string, index: number): unknown {
  switch (c.kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
    case 'bytes':
      return c.kind
    case 'Date':
      return connect('io.debezium.time.Date', 'int')
    case 'Time':
      return connect('io.debezium.time.Time', 'int')
    case 'MicroTime':
      return connect('io.debezium.time.MicroTime', 'long')
    case 'NanoTime':
      return connect('io.debezium.time.NanoTime', 'long')
    case 'Timestamp':
      return connect('io.debezium.time.Timestamp', 'long')
    case 'MicroTimestamp':
      return connect('io.debezium.time.MicroTimestamp', 'long')
    case 'NanoTimestamp':
      return connect('io.debezium.time.NanoTimestamp', 'long')
    case 'MicroDuration':
      return connect('io.debezium.time.MicroDuration', 'long')
    case 'ZonedTimestamp':
      return connect('io.debezium.time.ZonedTimestamp', 'string')
    case 'Json':
      return connect('io.debezium.data.Json', 'string')
    case 'Uuid':
      return connect('io.debezium.data.Uuid', 'string')
    case 'Enum':
      return connect('io.debezium.data.Enum', 'string', { 'connect.parameters': { allowed: c.symbols.join(',') } })
    case 'Decimal':
      return {
        type: 'bytes',
        scale: c.scale,
        precision: c.precision,
        'connect.version': 1,
        'connect.parameters': { scale: String(c.scale), 'connect.decimal.precision': String(c.precision) },
        'connect.name': 'org.apache.kafka.connect.data.Decimal',
        logicalType: 'decimal',
      }
    case 'VariableScaleDecimal':
      return {
        type: 'record',
        name: `VariableScaleDecimal${table}${index}`,
        namespace: 'io.debezium.data',
        fields: [
          { name: 'scale', type: 'int' },
          { name: 'value', type: 'bytes' },
        ],
        'connect.doc': 'Variable scaled decimal',
        'connect.version': 1,
        'connect.name': 'io.debezium.data.VariableScaleDecimal',
      }
    case 'array':
      return { type: 'array', items: ['null', c.items === 'Date' ? connect('io.debezium.time.Date', 'int') : c.items] }
  }
}

const twos = (n: bigint): Buffer => {
  let bytes = 1
  while (n < -(1n << BigInt(bytes * 8 - 1)) || n >= 1n << BigInt(bytes * 8 - 1)) bytes++
  const u = n < 0n ? (1n << BigInt(bytes * 8)) + n : n
  return Buffer.from(u.toString(16).padStart(bytes * 2, '0'), 'hex')
}

/** A wire value of a column as Debezium writes it, edges and sentinels included. */
export function wireArb(c: Column): fc.Arbitrary<unknown> {
  switch (c.kind) {
    case 'boolean':
      return fc.boolean()
    case 'int':
      return fc.oneof(fc.integer(), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -32768, 32767))
    case 'long':
      return int64
    case 'float':
      return fc.float()
    case 'double':
      return fc.double()
    case 'string':
      return text
    case 'bytes':
      return fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b))
    case 'Date':
      return fc.oneof(days, fc.constantFrom(...SENTINELS.date.positive, ...SENTINELS.date.negative))
    case 'Time':
      return fc.oneof(fc.integer({ min: 0, max: 86_400_000 }), fc.constantFrom(86_400_000, 86_400_001, -1))
    case 'MicroTime':
      return fc.oneof(fc.integer({ min: 0, max: 86_400_000_000 }), fc.constantFrom(86_400_000_000, 86_400_000_001))
    case 'NanoTime':
      return fc.oneof(fc.bigInt({ min: 0n, max: 86_400_000_000_000n }).map(narrow), fc.constant(86_400_000_000_000))
    case 'Timestamp':
      return fc.oneof(int64, fc.constantFrom(...SENTINELS[3].positive, ...SENTINELS[3].negative).map(narrow))
    case 'MicroTimestamp':
      return fc.oneof(int64, fc.constantFrom(...SENTINELS[6].positive, ...SENTINELS[6].negative).map(narrow))
    case 'NanoTimestamp':
      return int64
    case 'MicroDuration':
      // The int64 limits are what Debezium sends for an interval it cannot hold: refused.
      return int64
    case 'ZonedTimestamp':
      return fc.oneof(
        timestampCount.map((n) => formatTimestamp(n, 6, true)),
        fc.constantFrom('infinity', '-infinity', '-0043-03-15T12:00:00.000000Z', '2024-01-01T10:00:00+02:00', '2024-01-01T10:00:00.5Z', 'not a time'),
      )
    case 'Json':
      return fc.oneof(fc.json(), fc.constant('{not json'))
    case 'Uuid':
      return fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.constant('nope'))
    case 'Enum':
      return fc.constantFrom(...c.symbols)
    case 'Decimal': {
      const limit = 10n ** BigInt(c.precision)
      return fc.bigInt({ min: -limit + 1n, max: limit - 1n }).map(twos)
    }
    case 'VariableScaleDecimal':
      return fc.record({ scale: fc.integer({ min: -3, max: 12 }), value: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(twos) })
    case 'array':
      return fc.array(fc.option((c.items === 'int' ? fc.integer() : c.items === 'string' ? text : days) as fc.Arbitrary<unknown>, { nil: null }), { maxLength: 4 })
  }
}

/** A reader type for a column: the natural canonical one, or another a reader may declare (some refuse values). */
export function readerArb(c: Column): fc.Arbitrary<unknown> {
  const ts = (unit: 'millis' | 'micros') => [{ type: 'long', logicalType: `timestamp-${unit}` }, { type: 'long', logicalType: `local-timestamp-${unit}` }]
  switch (c.kind) {
    case 'boolean':
    case 'string':
    case 'bytes':
      return fc.constant(c.kind)
    case 'int':
      return fc.constantFrom('int', 'long', 'double', 'float')
    case 'long':
      return fc.constantFrom('long', 'long', 'double')
    case 'float':
      return fc.constantFrom('float', 'double')
    case 'double':
      return fc.constantFrom('double', 'float')
    case 'Date':
      return fc.constantFrom({ type: 'int', logicalType: 'date' }, 'string')
    case 'Time':
      return fc.constantFrom({ type: 'int', logicalType: 'time-millis' }, { type: 'long', logicalType: 'time-micros' }, 'string')
    case 'MicroTime':
      return fc.constantFrom({ type: 'long', logicalType: 'time-micros' }, { type: 'int', logicalType: 'time-millis' }, 'string')
    case 'NanoTime':
    case 'NanoTimestamp':
    case 'Json':
      return fc.constant('string')
    case 'MicroDuration':
      return fc.constantFrom('long', 'double', 'string')
    case 'Timestamp':
      return fc.constantFrom(...ts('millis'), ...ts('micros'), 'string')
    case 'MicroTimestamp':
      return fc.constantFrom(...ts('micros'), ...ts('millis'), 'string')
    case 'ZonedTimestamp':
      return fc.constantFrom('string', ...ts('micros'), { type: 'long', logicalType: 'timestamp-millis' })
    case 'Uuid':
      return fc.constantFrom({ type: 'string', logicalType: 'uuid' }, 'string')
    case 'Enum':
      return fc.constantFrom('string', { type: 'enum', name: 'Plan', symbols: c.symbols }, { type: 'enum', name: 'Plan', symbols: ['free', 'other'], default: 'other' })
    case 'Decimal':
      return fc.constantFrom(
        { type: 'bytes', logicalType: 'decimal', precision: c.precision, scale: c.scale },
        { type: 'bytes', logicalType: 'decimal', precision: Math.min(38, c.precision + 2), scale: Math.min(c.scale + 2, 38) },
        { type: 'bytes', logicalType: 'decimal', precision: Math.max(1, c.precision - 1), scale: Math.max(0, c.scale - 1) },
        'string',
      )
    case 'VariableScaleDecimal':
      return fc.constantFrom('string', { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 6 })
    case 'array':
      return fc.constant({ type: 'array', items: ['null', c.items === 'Date' ? { type: 'int', logicalType: 'date' } : c.items] })
  }
}

/**
 * A registry that only registers and looks up by id, without compatibility rules: random schemas
 * under one subject are not compatible versions (the registry's rules have their own contract suite).
 */
export function memoryRegistry(): SchemaRegistry {
  const texts: string[] = []
  return {
    async register(_subject, schema) {
      const text = typeof schema === 'string' ? schema : JSON.stringify(schema)
      let id = texts.indexOf(text)
      if (id < 0) id = texts.push(text) - 1
      return { id: id + 1, version: 1 }
    },
    async schemaById(id) {
      const text = texts[id - 1]
      if (text === undefined) throw new Error(`no schema ${id}`)
      return text
    },
  } as SchemaRegistry
}
