import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadProduct } from '../../runtime/product/load.ts'
import { createRunnables, runProducts, type ProductRunnables } from '../../runtime/runner.ts'
import { readTopic, repoRoot, tempRuntime } from '../helpers/runtime.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'

/**
 * Values at the edges of the value model (runtime/codec/VALUES.md) through a real product, Avro,
 * JSON and bare Debezium JSON in, Avro out: what goes in comes out exactly, and what cannot be
 * represented is a dead letter whose code and message name the field. Runs with the fast paths on
 * and, in the e2e-reference project, off: the outputs must be the same.
 */

const exact = {
  type: 'record',
  name: 'Exact',
  namespace: 'exact.test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 's', type: 'string' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 't', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 6 } },
    { name: 'mode', type: 'string' },
  ],
}

function writeProduct(dir: string): void {
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'schemas', 'exact.avsc'), JSON.stringify(exact))
  fs.writeFileSync(
    path.join(dir, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: exact
domain: tests
description: Values at the edges, passed through.
owner: { team: tests }
inputPorts:
  - { name: avro, topic: exact.avro, format: avro, schema: exact.test.Exact }
  - { name: json, topic: exact.json, format: json, schema: exact.test.Exact }
  - { name: cdc, topic: exact.cdc, format: json, envelope: debezium, schema: exact.test.Exact }
outputPorts:
  - { name: out, topic: exact.out, schema: exact.test.Exact, key: id }
`,
  )
  // mode: how the transform changes the value (to reach the encoder's refusals).
  fs.writeFileSync(
    path.join(dir, 'transform.ts'),
    `export default (r: { value: Record<string, unknown> }) => {
  const v = { ...r.value }
  if (v.mode === 'bigint') v.big = BigInt(v.big as number | bigint) * 2n
  if (v.mode === 'unsafe') v.big = 2 ** 60
  if (v.mode === 'surrogate') v.s = 'a\\ud800b'
  return { port: 'out', value: v }
}
`,
  )
}

const base = {
  id: 1,
  big: 0,
  f: 0,
  d: 0,
  s: 'x',
  day: '2024-01-01',
  t: '00:00:00.000000',
  ts: '2024-01-01T00:00:00.000000Z',
  local: '2024-01-01T00:00:00.000000',
  amount: '0.000000',
  mode: 'pass',
}

/** Values at the edges, in canonical form: each must come out exactly so. */
const edges: Array<Record<string, unknown>> = [
  { ...base, id: 10, big: 2n ** 63n - 1n, f: Number.NaN, d: -0, s: 'é🎧' },
  { ...base, id: 11, big: -(2n ** 63n), f: Number.POSITIVE_INFINITY, d: Number.NEGATIVE_INFINITY, s: '' },
  { ...base, id: 12, big: -9007199254740990, d: 5e-324, s: 'x'.repeat(5000) },
  { ...base, id: 13, big: -4503599627370497, day: '-000043-03-15', ts: '-000043-03-15T12:00:00.000000Z' },
  { ...base, id: 14, big: -6000000000000001, day: 'infinity', ts: '-infinity', local: 'infinity' },
  { ...base, id: 15, big: 2n ** 53n + 1n, t: '24:00:00.000000', ts: '+294247-01-10T04:00:25.200000Z', amount: '-99999999999999999999999999999999.999999' },
  { ...base, id: 2n ** 62n, big: 9007199254740991, amount: '12345678901234567890123456789012.123456' },
]

describe('exact values through a product', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  let dataDir: string
  let units: ProductRunnables[]

  const out = async (): Promise<Map<string, { value: unknown; dead?: Record<string, string> }>> => {
    const rows = new Map<string, { value: unknown; dead?: Record<string, string> }>()
    const records = await readTopic(runtime.log, 'exact.out')
    await runtime.codec.prefetch(records.map((r) => r.value!.readInt32BE(1)))
    for (const r of records) {
      const v = runtime.codec.serde.decode(r.value!).value as Record<string, unknown>
      rows.set(String(v.id), { value: v })
    }
    for (const r of await readTopic(runtime.log, 'exact.dlq')) {
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.replace('tributary.', ''), v.toString()]))
      rows.set(`dead@${headers['source.topic']}:${headers['source.offset']}`, { value: null, dead: headers })
    }
    return rows
  }

  beforeAll(async () => {
    ;({ runtime, cleanup, dir: dataDir } = await tempRuntime())
    const productDir = path.join(dataDir, 'product')
    writeProduct(productDir)
    for (const t of ['exact.avro', 'exact.json', 'exact.cdc']) await runtime.log.ensureTopic(t, { partitions: 1 })
    const encode = await runtime.codec.encoder('avro', 'exact.avro-value', exact)
    const records: OutgoingRecord[] = []
    const avro = (value: unknown): OutgoingRecord => ({ topic: 'exact.avro', key: null, value: encode(value) })
    const json = (text: string | Buffer): OutgoingRecord => ({ topic: 'exact.json', key: null, value: Buffer.from(text) })
    for (const e of edges) records.push(avro(e))
    records.push(avro({ ...base, id: 20, big: 2n ** 40n, mode: 'bigint' }))
    records.push(avro({ ...base, id: 21, mode: 'unsafe' }))
    records.push(avro({ ...base, id: 22, mode: 'surrogate' }))
    // Avro whose string bytes are not UTF-8 (written as "zz", then patched).
    const bad = encode({ ...base, id: 23, s: 'zz' })
    bad[bad.indexOf(Buffer.from('zz'))] = 0xff
    records.push({ topic: 'exact.avro', key: null, value: Buffer.from(bad) })
    // JSON: integers beyond 2^53 as literals, the float words, -0.0, BC dates, 24:00, infinity.
    records.push(
      json(
        '{"id": 30, "big": -9223372036854775808, "f": "NaN", "d": -0.0, "s": "é", "day": "-0043-03-15", "t": "24:00:00", "ts": "infinity", "local": "2024-05-01T10:00:00", "amount": "1.5", "mode": "pass"}',
      ),
    )
    records.push(json('{"id": 31, "big": 9223372036854775807, "f": "-Infinity", "d": "Infinity", "s": "x", "day": "2024-01-01", "t": "00:00:00", "ts": "2262-04-11T23:47:16.854776Z", "local": "2024-01-01T00:00:00", "amount": "0", "mode": "pass"}'))
    records.push(json(Buffer.concat([Buffer.from('{"id": 32, "big": 1, "f": 1, "d": 1, "s": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('", "day": "2024-01-01", "t": "00:00:00", "ts": "2024-01-01T00:00:00Z", "local": "2024-01-01T00:00:00", "amount": "0", "mode": "pass"}')])))
    records.push(json('{"id": 33, "big": 1e400, "f": 1, "d": 1, "s": "a", "day": "2024-01-01", "t": "00:00:00", "ts": "2024-01-01T00:00:00Z", "local": "2024-01-01T00:00:00", "amount": "0", "mode": "pass"}'))
    records.push(json('{"id": 34, "big": 9007199254740993.0, "f": 1, "d": 1, "s": "a", "day": "2024-01-01", "t": "00:00:00", "ts": "2024-01-01T00:00:00Z", "local": "2024-01-01T00:00:00", "amount": "0", "mode": "pass"}'))
    // Debezium JSON without the wrapper: the reader schema says how to read each field.
    const amount = Buffer.from('fb1e', 'hex').toString('base64') // -1250 at scale 6
    records.push({
      topic: 'exact.cdc',
      key: Buffer.from('{"id": 40}'),
      value: Buffer.from(
        `{"before": null, "after": {"id": 40, "big": 9223372036854775807, "f": "NaN", "d": -0.0, "s": "ü", "day": -735160, "t": 86400000000, "ts": 9223372036825200000, "local": 1700000000123456, "amount": "${amount}", "mode": "pass"}, "source": {"ts_ns": 1700000000000000001}, "op": "c", "ts_ms": 1}`,
      ),
    })
    await runtime.log.append(records)
    units = await createRunnables(runtime, [loadProduct(productDir)], { lake: false })
    await runProducts(units, { untilIdle: true })
  })
  afterAll(async () => cleanup())

  it('passes every edge value through Avro exactly (int64, NaN, -0.0, BC, infinity, 24:00, after 2262, 38 digits)', async () => {
    const rows = await out()
    for (const e of edges) {
      const got = rows.get(String(e.id))?.value as Record<string, unknown>
      expect(got, `row ${String(e.id)}`).toBeDefined()
      for (const [k, v] of Object.entries(e)) {
        const expected = typeof v === 'bigint' && v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v
        if (typeof expected === 'number') expect(Object.is(got[k], k === 'f' ? Math.fround(expected) : expected), `${String(e.id)}.${k}: ${String(got[k])}`).toBe(true)
        else expect(got[k], `${String(e.id)}.${k}`).toEqual(expected)
      }
    }
    // A transform may return a bigint for a long; a safe one reads back as a number.
    expect((rows.get('20')?.value as { big: unknown }).big).toBe(2 ** 41)
  })

  it('reads JSON exactly: integer literals beyond 2^53, "NaN", "Infinity", -0.0, BC dates, 24:00, infinity', async () => {
    const rows = await out()
    const a = rows.get('30')?.value as Record<string, unknown>
    expect(a.big).toBe(-(2n ** 63n))
    expect(Number.isNaN(a.f)).toBe(true)
    expect(Object.is(a.d, -0)).toBe(true)
    expect([a.day, a.t, a.ts, a.local, a.amount]).toEqual(['-000043-03-15', '24:00:00.000000', 'infinity', '2024-05-01T10:00:00.000000', '1.500000'])
    const b = rows.get('31')?.value as Record<string, unknown>
    expect([b.big, b.f, b.d, b.ts]).toEqual([2n ** 63n - 1n, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, '2262-04-11T23:47:16.854776Z'])
  })

  it('reads bare Debezium JSON with the reader schema: day counts, micros, base64 decimals, sentinels', async () => {
    const c = (await out()).get('40')?.value as Record<string, unknown>
    expect(c).toMatchObject({ big: 2n ** 63n - 1n, s: 'ü', day: '-000043-03-15', t: '24:00:00.000000', ts: 'infinity', local: '2023-11-14T22:13:20.123456', amount: '-0.001250' })
    expect(Number.isNaN(c.f)).toBe(true)
    expect(Object.is(c.d, -0)).toBe(true)
  })

  it('dead-letters what cannot be represented, with its code and the field named', async () => {
    const dead = [...(await out()).values()].flatMap((r) => (r.dead ? [r.dead] : []))
    const by = (code: string) => dead.filter((d) => d['error.code'] === code).map((d) => d['error.message'])
    expect(dead).toHaveLength(6)
    expect(by('TRIB_ENCODE_FAILED')).toEqual([expect.stringMatching(/field big: expected long .*number beyond 2\^53/), expect.stringMatching(/field s: expected string, got string with a lone surrogate/)])
    expect(by('TRIB_DECODE_UTF8')).toEqual([expect.stringMatching(/field s is not valid UTF-8/), expect.stringMatching(/field s is not valid UTF-8/)])
    expect(by('TRIB_DECODE_JSON')).toEqual([expect.stringMatching(/beyond the range of a double/)])
    // 9007199254740993.0 is a double, and a double beyond 2^53 is no long.
    expect(by('TRIB_VALIDATE_TYPE')).toEqual([expect.stringMatching(/^big: expected long .*number beyond 2\^53/)])
    for (const d of dead) expect(['decode', 'validate', 'encode']).toContain(d['error.stage'])
  })

  it('counts records per codec path, and takes the fast path only when it is on', () => {
    const paths = units[0]!.processor.metrics.codecPaths
    expect((paths.get('decode/reference') ?? 0) + (paths.get('decode/fast') ?? 0)).toBeGreaterThan(0)
    if (runtime.config.codec.fastPaths === 'off') expect(paths.get('encode/fast')).toBeUndefined()
    else expect(paths.get('encode/fast')).toBeGreaterThan(0)
  })

  it('prints every int64 exactly, -0.0 and NaN in tail --format json', () => {
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), '--data-dir', dataDir, 'tail', 'exact.out', '--format', 'json'], { cwd: repoRoot, encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    const lines = run.stdout.trim().split('\n')
    const row10 = lines.find((l) => l.includes('"id":10,'))!
    expect(row10).toContain('"big":9223372036854775807,')
    expect(row10).toContain('"f":"NaN"')
    expect(row10).toContain('"d":-0.0')
    const row11 = lines.find((l) => l.includes('"id":11,'))!
    expect(row11).toContain('"big":-9223372036854775808,')
    expect(lines.some((l) => l.includes('"id":4611686018427387904,'))).toBe(true)
  })
})
