/** Table definitions and readers for the fixtures in test/fixtures/debezium (see its README). */
import fs from 'node:fs'
import type { TableDef } from '../../../../products/sample-data/debezium/build-schema.ts'

export const fixture = (path: string): string =>
  fs.readFileSync(new URL(`../../../fixtures/debezium/${path}`, import.meta.url), 'utf8').trimEnd()

export const fixtureJson = (path: string): object => JSON.parse(fixture(path)) as object

export const usersTable: TableDef = {
  topic: 'registration.public.users',
  database: 'registration',
  key: ['id'],
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'email', type: 'string' },
    { name: 'display_name', type: 'string', optional: true },
    { name: 'plan', type: 'enum', allowed: ['free', 'pro', 'team'] },
    { name: 'signup_date', type: 'date' },
    { name: 'created_at', type: 'zoned-timestamp' },
    { name: 'last_login', type: 'micro-timestamp', optional: true },
    { name: 'balance', type: 'decimal', precision: 10, scale: 2 },
    { name: 'external_id', type: 'uuid', optional: true },
    { name: 'preferences', type: 'json', optional: true },
  ],
}

/** The canonical rows of the users scenario. */
export const alice = {
  id: 1,
  email: 'alice@example.com',
  display_name: 'Alice Liddell',
  plan: 'pro',
  signup_date: '2023-11-01',
  created_at: '2023-11-01T09:30:00.123456Z',
  last_login: '2023-11-14T22:13:20.123456Z',
  balance: '123.45',
  external_id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  preferences: '{"theme": "dark", "newsletter": true}',
}

export const bob = {
  id: 2,
  email: 'bob@example.com',
  display_name: null,
  plan: 'free',
  signup_date: '2023-11-14',
  created_at: '2023-11-14T22:13:20.5Z',
  last_login: null,
  balance: '0.00',
  external_id: null,
  preferences: null,
}

export const bobUpdated = { ...bob, plan: 'pro', balance: '-12.50', last_login: '2023-11-14T22:15:00.000000Z' }

export const logicalTypesTable: TableDef = {
  topic: 'registration.public.logical_types',
  database: 'registration',
  key: ['id'],
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'd', type: 'date' },
    { name: 't_ms', type: 'time' },
    { name: 't_us', type: 'micro-time' },
    { name: 't_ns', type: 'nano-time' },
    { name: 'ts_ms', type: 'timestamp' },
    { name: 'ts_us', type: 'micro-timestamp' },
    { name: 'ts_ns', type: 'nano-timestamp' },
    { name: 'ts_tz', type: 'zoned-timestamp' },
    { name: 't_tz', type: 'zoned-time' },
    { name: 'price', type: 'decimal', precision: 10, scale: 2 },
    { name: 'debt', type: 'decimal', precision: 10, scale: 3, optional: true },
    { name: 'amount', type: 'variable-decimal' },
    { name: 'ratio', type: 'variable-decimal', optional: true },
    { name: 'doc', type: 'json' },
    { name: 'uid', type: 'uuid' },
    { name: 'mood', type: 'enum', allowed: ['happy', 'sad', 'meh'] },
    { name: 'c_date', type: 'connect-date' },
    { name: 'c_time', type: 'connect-time' },
    { name: 'c_ts', type: 'connect-timestamp' },
    { name: 'big', type: 'int64' },
    { name: 'blob', type: 'bytes', optional: true },
    { name: 'small', type: 'int16' },
    { name: 'f', type: 'float64' },
    { name: 'flag', type: 'boolean' },
  ],
}

/** The canonical form of the logical-types row (the brief's "Canonical in-memory values"). */
export const logicalTypesRow = {
  id: 1,
  d: '2023-11-14',
  t_ms: '13:36:40.123',
  t_us: '13:36:40.123456',
  t_ns: '13:36:40.123456789',
  ts_ms: '2023-11-14T22:13:20.123Z',
  ts_us: '2023-11-14T22:13:20.123456Z',
  ts_ns: '2023-11-14T22:13:20.123456789Z',
  ts_tz: '2023-11-14T22:13:20.123456Z',
  t_tz: '22:13:20.123456Z',
  price: '123.45',
  debt: '-0.001',
  amount: '3.1415',
  ratio: '-5',
  doc: '{"tags": ["a", "b"], "n": 1}',
  uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  mood: 'happy',
  c_date: '2023-11-14',
  c_time: '13:36:40.123',
  c_ts: '2023-11-14T22:13:20.123Z',
  big: 9007199254740991,
  blob: Buffer.from('deadbeef', 'hex'),
  small: 7,
  f: 1.5,
  flag: true,
}

/** The logical-types row as AvroConverter puts it on the wire. */
export const logicalTypesWire = {
  id: 1,
  d: 19675,
  t_ms: 49_000_123,
  t_us: 49_000_123_456,
  t_ns: 49_000_123_456_789,
  ts_ms: 1_700_000_000_123,
  ts_us: 1_700_000_000_123_456,
  ts_ns: 1_700_000_000_123_456_789n,
  ts_tz: '2023-11-14T22:13:20.123456Z',
  t_tz: '22:13:20.123456Z',
  price: Buffer.from([0x30, 0x39]),
  debt: Buffer.from([0xff]),
  amount: { scale: 4, value: Buffer.from([0x7a, 0xb7]) },
  ratio: { scale: 0, value: Buffer.from([0xfb]) },
  doc: '{"tags": ["a", "b"], "n": 1}',
  uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  mood: 'happy',
  c_date: 19675,
  c_time: 49_000_123,
  c_ts: 1_700_000_000_123,
  big: 9_007_199_254_740_990, // avsc's native long stops at 2^53 - 2
  blob: Buffer.from('deadbeef', 'hex'),
  small: 7,
  f: 1.5,
  flag: true,
}
