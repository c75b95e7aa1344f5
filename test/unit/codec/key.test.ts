import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalKey, keySql, keyText } from '../../../runtime/codec/key.ts'
import { formatDecimal } from '../../../runtime/codec/values/decimal.ts'
import { narrow } from '../../../runtime/codec/values/long.ts'
import { formatDate, formatTime, formatTimestamp } from '../../../runtime/codec/values/temporal.ts'
import { KeyIndex } from '../../../runtime/compactor/key-index.ts'
import { quoteIdent } from '../../../runtime/lake/duckdb.ts'
import { StateDb } from '../../../runtime/state/db.ts'
import { tempLakes } from '../lake/support.ts'

describe('the canonical key', () => {
  it.each([
    [{ id: 42 }, '42'],
    [42, '42'],
    ['user-1', 'user-1'],
    [{ email: 'a@b.c' }, 'a@b.c'],
    [{ id: 12345678901234567890n }, '12345678901234567890'],
    [2n ** 53n, '9007199254740992'],
    [{ tenant: 'acme', id: 7 }, 'acme\u001f7'],
    [{ id: 7, tenant: 'acme' }, '7\u001facme'],
    [{ blob: Buffer.from([0xde, 0xad]) }, '3q0='],
    [{ a: null, b: 1 }, '\\N\u001f1'],
    [{ a: 'x\\N', b: 'y\u001fz' }, 'x\\\\N\u001fy\\x1fz'],
    [{ tags: ['x', 'y'] }, '["x","y"]'],
    [null, ''],
    [true, 'true'],
    [-0, '-0'],
  ])('%o -> %j', (key, text) => {
    expect(canonicalKey(key)).toBe(text)
  })

  it('is the same for a key struct and its fields in order, and never the same for two different keys', () => {
    expect(canonicalKey({ a: 'x', b: 2n ** 60n })).toBe(keyText(['x', 2n ** 60n]))
    expect(canonicalKey({ id: 5 })).toBe(keyText([5]))
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: fc.constantFrom('a', '\\', '\u001f', 'N') }), fc.constant(null)), { minLength: 2, maxLength: 3 }),
        fc.array(fc.oneof(fc.string({ unit: fc.constantFrom('a', '\\', '\u001f', 'N') }), fc.constant(null)), { minLength: 2, maxLength: 3 }),
        (a, b) => {
          if (a.length === b.length && a.every((x, i) => x === b[i])) return
          expect(keyText(a)).not.toBe(keyText(b))
        },
      ),
      { seed: 15, numRuns: 3000 },
    )
  })
})

const schema = {
  type: 'record',
  name: 'K',
  fields: [
    { name: 'n', type: 'long' },
    { name: 'i', type: 'int' },
    { name: 's', type: 'string' },
    { name: 'b', type: 'boolean' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'tsm', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'lts', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 't', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 20, scale: 4 } },
    { name: 'bin', type: 'bytes' },
    { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'opt', type: ['null', 'string'], default: null },
    { name: 'x', type: 'double' },
  ],
}

// Years 0001..9999: DuckDB writes other years its own way (see keySql).
const micros = fc.bigInt({ min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n }).map(narrow)
const row = fc.record({
  n: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(narrow),
  i: fc.integer(),
  s: fc.string({ unit: fc.constantFrom('a', 'é', '\\', '\u001f', 'N', '🎧', '"', "'") }),
  b: fc.boolean(),
  day: fc.integer({ min: -719_162, max: 2_932_896 }).map(formatDate),
  ts: micros.map((v) => formatTimestamp(v, 6, true)),
  tsm: micros.map((v) => formatTimestamp(typeof v === 'bigint' ? v / 1000n : Math.trunc(v / 1000), 3, true)),
  lts: micros.map((v) => formatTimestamp(v, 6, false)),
  t: fc.integer({ min: 0, max: 86_399_999_999 }).map((v) => formatTime(v, 6)),
  dec: fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n }).map((v) => formatDecimal(v, 4)),
  bin: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  u: fc.uuid(),
  opt: fc.option(fc.string({ maxLength: 3 }), { nil: null }),
  x: fc.double(),
})

const lakes = tempLakes('trib-key-')

describe('the key in SQL', () => {
  it('gives, for rows the lake wrote, exactly the text the runtime gives their key fields', async () => {
    const rows = fc.sample(row, { seed: 16, numRuns: 80 })
    const lake = await lakes()
    const table = await lake.create({ avroSchema: schema })
    const snapshot = await table.newSnapshot({ addRows: rows })
    const view = await table.localSql({ snapshotId: snapshot['snapshot-id'] })
    const conn = await table.lake.duckdb.connect()
    try {
      const keys: string[][] = [['n'], ['i'], ['s'], ['b'], ['day'], ['ts'], ['tsm'], ['lts'], ['t'], ['dec'], ['bin'], ['u'], ['opt'], ['s', 'n'], ['opt', 'day', 's'], ['bin', 'dec', 'u', 'ts']]
      for (const fields of keys) {
        const sql = (await conn.runAndReadAll(`SELECT ${keySql(schema, fields, quoteIdent)} FROM (${view})`)).getRows().map((r) => String(r[0]))
        const js = rows.map((r) => keyText(fields.map((f) => (r as Record<string, unknown>)[f])))
        expect(sql.sort(), fields.join(',')).toEqual(js.sort())
      }
    } finally {
      conn.closeSync()
    }
    // The index rebuild is that query: every row's key finds its row.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-key-index-'))
    const db = StateDb.open(dir)
    try {
      const index = new KeyIndex(db, 'k')
      await index.rebuild(table, snapshot['snapshot-id'], ['s', 'n'], schema)
      for (const r of rows) expect(index.get(keyText([r.s, r.n]))).toBeDefined()
    } finally {
      await db.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a float key, whose text SQL and JavaScript do not share', () => {
    expect(() => keySql(schema, ['x'], quoteIdent)).toThrow(/key field x is a double/)
  })
})
