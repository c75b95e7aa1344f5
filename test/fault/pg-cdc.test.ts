import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Log, LogRecord } from '../../runtime/log/log.ts'
import { readTopic, repoRoot, tempDir } from '../helpers/runtime.ts'
import { pyicebergRawRows } from '../interop/python.ts'
import { cdcServers, createConnector, deleteConnector, psql } from '../integration/cdc-support.ts'
import { kafkaBroker, openTestKafkaLog, resetKafka, unique } from '../integration/kafka-support.ts'

/**
 * A real Debezium PostgreSQL connector (pgoutput, Kafka Connect's JSON converter) on a real
 * PostgreSQL, into a real broker, read by `tributary run` of an exactly-once product with an upsert
 * snapshot keyed by the primary key (test/fixtures/products/pg-mirror). The source table has every
 * common PostgreSQL type with its limits and edge values; the workload is a snapshot, inserts,
 * updates (some leaving the TOASTed column alone), a primary-key change, deletes with tombstones, a
 * TRUNCATE, columns added to the table (followed at run time: `evolution: additive`), and a burst of
 * thousands of changes with `tributary` SIGKILLed in the middle. Then the
 * lake table equals `SELECT *` of the source, column by column (read by pyiceberg and by
 * `tributary query`, both in Iceberg's physical terms: days, microseconds, unscaled text), and the
 * output topic, read read_committed, holds every change exactly once.
 */

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const fixture = path.join(repoRoot, 'test/fixtures/products/pg-mirror')
const children = new Set<ChildProcess>()
const SESSION_TIMEOUT_MS = 6000
const SENTINEL = 999_999_999
const BURST = 3000

type Raw = string | boolean | null | Raw[]
type RawRow = Record<string, Raw>

/** The table, with one column per common PostgreSQL type. */
const createTable = (s: string, identity: 'default' | 'full') => `
CREATE SCHEMA ${s};
CREATE TYPE ${s}.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE ${s}.everything (
  id bigint PRIMARY KEY,
  c_smallint smallint, c_integer integer, c_bigint bigint,
  c_numeric numeric(12,2), c_numeric_free numeric, c_money money,
  c_real real, c_double double precision,
  c_text text, c_varchar varchar(40), c_char char(5), c_toast text,
  c_bytea bytea, c_bool boolean,
  c_date date, c_time time, c_timestamp timestamp, c_timestamptz timestamptz,
  c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_enum ${s}.mood,
  c_int_array int[], c_text_array text[]
);
-- Out of line and uncompressed above ~2 kB: what PostgreSQL does to large values, made certain.
ALTER TABLE ${s}.everything ALTER COLUMN c_toast SET STORAGE EXTERNAL;
ALTER TABLE ${s}.everything REPLICA IDENTITY ${identity.toUpperCase()};
SET lc_monetary = 'C';`

/** Ordinary rows a..b: varied values of every type; every third has a TOASTed c_toast (2.5 kB). */
const insertRows = (s: string, a: number, b: number, tag = 'row') => `
INSERT INTO ${s}.everything
SELECT i,
  (i * 7919 % 65535 - 32767)::smallint,
  (i::bigint * 104729 % 2147483647 - 1073741823)::int,
  i::bigint * 1000000007 * (CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END),
  round(i * 12.34, 2), i::numeric / 7, (i * 1.05)::numeric::money,
  (i / 4.0)::real, i / 3.0::float8,
  '${tag} ' || i || ' ✓ ü 🌊', 'v' || i, chr(65 + i % 26),
  CASE WHEN i % 3 = 0 THEN repeat(md5(i::text), 80) ELSE 'short ' || i END,
  decode(md5(i::text), 'hex'), i % 2 = 0,
  DATE '2000-01-01' + i * 37, TIME '00:00:00' + i * interval '1 minute 1.000001 second',
  TIMESTAMP '1970-01-01' + i * interval '1 day 1 hour 0.000123 second',
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + i * interval '1 hour 0.5 second',
  make_interval(months => i % 15, days => i % 31, secs => i * 1.5),
  md5(i::text)::uuid, json_build_object('i', i, 'name', 'n' || i), jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)),
  (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::${s}.mood, ARRAY[i, -i, NULL], ARRAY['t' || i, NULL, 'ü']
FROM generate_series(${a}, ${b}) i;`

/** Limits the runtime reads exactly today, empty values, and a row of NULLs. */
const insertLimits = (s: string) => `
INSERT INTO ${s}.everything VALUES
 (1000001, 32767, 2147483647, 4503599627370495, 9999999999.99, 3.14159265358979323846264338327950288, 90071992547409.91,
  1.5, 1.7976931348623157e308, 'héllo 🌊 wörld 日本', 'varchar ✓', 'ab', repeat(md5('toast'), 100), '\\x00ff10', true,
  '2024-02-29', '23:59:59.999999', '2038-01-19 03:14:08', '1999-12-31 23:59:59.999999+00',
  '1 year 2 mons 3 days 04:05:06.789', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"a": [1, 2.50, "x"]}', '{"b": {"c": null}}', 'happy', '{1,NULL,-3}', '{"a","b c",NULL,"ü"}'),
 (1000002, -32768, -2147483648, -4503599627370495, -9999999999.99, -0.00000000000000000001, -90071992547409.91,
  -0.25, '-0', '', '', '', '', '\\x', false,
  '1970-01-01', '00:00:00', '1900-01-01 00:00:00', '1970-01-01 00:00:00+00',
  '-1 year -2 days', '00000000-0000-0000-0000-000000000000', '[]', '{}', 'sad', '{}', '{}'),
 (1000003, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`

/**
 * PostgreSQL's edge values: int64 and money at their limits, NaN and infinities, 24:00:00, a
 * timestamp after 2262, BC dates and timestamps, infinity. What the runtime makes of each is the
 * value model's (runtime/codec/VALUES.md, issue 8).
 */
const edges: Array<[column: string, value: string]> = [
  ['c_bigint', '9223372036854775807'], ['c_bigint', '-9223372036854775808'], ['c_bigint', '9007199254740991'],
  ['c_bigint', '9007199254740993'], ['c_bigint', '-4503599627370497'], ['c_bigint', '-9007199254740991'],
  ['c_money', '92233720368547758.07'], ['c_money', '-92233720368547758.08'],
  ['c_real', "'NaN'"], ['c_real', "'Infinity'"], ['c_real', "'-Infinity'"], ['c_double', "'NaN'"], ['c_double', "'Infinity'"], ['c_double', "'-Infinity'"],
  ['c_time', "'24:00:00'"],
  ['c_timestamp', "'2262-04-12 00:00:00.123456'"], ['c_timestamp', "'0044-03-15 12:00:00 BC'"], ['c_timestamp', "'infinity'"], ['c_timestamp', "'-infinity'"],
  ['c_timestamptz', "'2262-04-12 00:00:00.123456+00'"], ['c_timestamptz', "'0044-03-15 12:00:00+00 BC'"], ['c_timestamptz', "'infinity'"], ['c_timestamptz', "'-infinity'"],
  ['c_date', "'4713-01-01 BC'"], ['c_date', "'0001-01-01'"], ['c_date', "'294276-12-31'"], ['c_date', "'infinity'"], ['c_date', "'-infinity'"],
  ['c_numeric_free', "'NaN'"], ['c_interval', "'178000000 years'"],
]
/**
 * Edge values Debezium changes before the change event exists, so no reader of its topic can
 * tell: the lake holds what Debezium sent (runtime/codec/VALUES.md, "PostgreSQL through
 * Debezium"). `snapshotOnly`: the streamed change (from the WAL) is exact.
 */
const upstream: Array<{ column: string; value: string; snapshotOnly: boolean; sent: Raw; why: string }> = [
  { column: 'c_numeric_free', value: "'NaN'", snapshotOnly: false, sent: null, why: 'decimal.handling.mode=precise has no NaN: Debezium logs a warning and sends null' },
  { column: 'c_date', value: "'4713-01-01 BC'", snapshotOnly: true, sent: '1001860', why: 'the snapshot reads a date as java.sql.Date, whose toLocalDate drops the era: 4713-01-01 AD' },
]
/** A source row of the edges workload as Debezium sends it (see `upstream`). */
function asSent(row: RawRow): RawRow {
  const i = Number(row.id) - 2_000_001
  const edge = i >= 0 ? edges[i % 1000] : undefined
  if (!edge) return row // not an edge row (the sentinel)
  const [column, value] = edge
  const known = upstream.find((u) => u.column === column && u.value === value && (i < 1000 || !u.snapshotOnly))
  return known ? { ...row, [column]: known.sent } : row
}
const insertEdges = (s: string) =>
  edges.map(([column, value], i) => `INSERT INTO ${s}.everything (id, ${column}) VALUES (${2_000_001 + i}, ${value});`).join('\n')

/**
 * `SELECT *` of the source in the lake's physical terms, computed by PostgreSQL: the documented
 * conversion of each type (README, "PostgreSQL through Debezium"): money as numeric, numeric
 * without scale without its trailing fraction zeros (Debezium drops them), interval as
 * Debezium's MicroDuration (a month is 30.4375 days), dates as days and times and timestamps as
 * microseconds since the epoch, bytea as hex.
 */
const selectRaw = (s: string, added = false) => `
SELECT coalesce(json_agg(json_build_object(${added ? `
  'c_added', c_added, 'c_added_at', trunc(extract(epoch FROM c_added_at) * 1000000)::text,` : ''}
  'id', id::text, 'c_smallint', c_smallint::text, 'c_integer', c_integer::text, 'c_bigint', c_bigint::text,
  'c_numeric', c_numeric::text, 'c_numeric_free', trim_scale(c_numeric_free)::text, 'c_money', c_money::numeric::text,
  'c_real', c_real::float8::text, 'c_double', c_double::text,
  'c_text', c_text, 'c_varchar', c_varchar, 'c_char', c_char, 'c_toast', c_toast,
  'c_bytea', encode(c_bytea, 'hex'), 'c_bool', c_bool,
  'c_date', CASE WHEN isfinite(c_date) THEN (c_date - DATE '1970-01-01')::text ELSE c_date::text END,
  'c_time', trunc(extract(epoch FROM c_time) * 1000000)::text,
  'c_timestamp', CASE WHEN isfinite(c_timestamp) THEN trunc(extract(epoch FROM c_timestamp) * 1000000)::text ELSE c_timestamp::text END,
  'c_timestamptz', CASE WHEN isfinite(c_timestamptz) THEN trunc(extract(epoch FROM c_timestamptz) * 1000000)::text ELSE c_timestamptz::text END,
  'c_interval', trunc(((extract(year FROM c_interval) * 12 + extract(month FROM c_interval)) * 30.4375 + extract(day FROM c_interval)) * 86400000000
                 + extract(epoch FROM c_interval - date_trunc('day', c_interval)) * 1000000)::text,
  'c_uuid', c_uuid::text, 'c_json', c_json::text, 'c_jsonb', c_jsonb::text, 'c_enum', c_enum::text,
  'c_int_array', (SELECT json_agg(x::text) FROM unnest(c_int_array) x), 'c_text_array', to_json(c_text_array)
) ORDER BY id), '[]') FROM ${s}.everything;`

/** The same through `tributary query` (DuckDB over the lake). */
const queryRaw = (table: string, added = false) => `
SELECT ${added ? 'c_added, CAST(epoch_us(c_added_at) AS VARCHAR) AS c_added_at, ' : ''}CAST(id AS VARCHAR) AS id, CAST(c_smallint AS VARCHAR) AS c_smallint, CAST(c_integer AS VARCHAR) AS c_integer, CAST(c_bigint AS VARCHAR) AS c_bigint,
  CAST(c_numeric AS VARCHAR) AS c_numeric, c_numeric_free, CAST(c_money AS VARCHAR) AS c_money,
  CAST(c_real AS VARCHAR) AS c_real, CAST(c_double AS VARCHAR) AS c_double,
  c_text, c_varchar, c_char, c_toast, lower(hex(c_bytea)) AS c_bytea, c_bool,
  CASE WHEN isfinite(c_date) THEN CAST(c_date - DATE '1970-01-01' AS VARCHAR) ELSE CAST(c_date AS VARCHAR) END AS c_date,
  CAST(epoch_us(DATE '1970-01-01' + c_time) AS VARCHAR) AS c_time,
  CASE WHEN isfinite(c_timestamp) THEN CAST(epoch_us(c_timestamp) AS VARCHAR) ELSE CAST(c_timestamp AS VARCHAR) END AS c_timestamp,
  CASE WHEN isfinite(c_timestamptz) THEN CAST(epoch_us(c_timestamptz) AS VARCHAR) ELSE CAST(c_timestamptz AS VARCHAR) END AS c_timestamptz,
  CAST(c_interval AS VARCHAR) AS c_interval, CAST(c_uuid AS VARCHAR) AS c_uuid, c_json, c_jsonb, c_enum,
  CAST(to_json(list_transform(c_int_array, x -> CAST(x AS VARCHAR))) AS VARCHAR) AS c_int_array, CAST(to_json(c_text_array) AS VARCHAR) AS c_text_array
FROM ${table} ORDER BY id`

/** Floats compare as numbers (PostgreSQL, Python and DuckDB spell NaN, infinities and -0 differently). */
const FLOATS = new Set(['c_real', 'c_double'])
/**
 * `infinity` and `-infinity` of dates and timestamps are in the lake as the extreme count and its
 * negation (runtime/codec/VALUES.md: ±2147483647 days, ±(2^63−1) µs, as DuckDB stores them).
 */
const INFINITE: Record<string, Record<string, string>> = {
  c_date: { '2147483647': 'infinity', '-2147483647': '-infinity' },
  c_timestamp: { '9223372036854775807': 'infinity', '-9223372036854775807': '-infinity' },
  c_timestamptz: { '9223372036854775807': 'infinity', '-9223372036854775807': '-infinity' },
}
const JSON_TEXT = new Set(['c_json', 'c_jsonb'])
function normalise(row: RawRow): RawRow {
  const out: RawRow = {}
  for (const [k, v] of Object.entries(row)) {
    if (FLOATS.has(k) && typeof v === 'string') {
      const n = Number(v.replace(/^(-?)inf(inity)?$/i, '$1Infinity').replace(/^nan$/i, 'NaN'))
      out[k] = Object.is(n, -0) ? '-0' : String(n)
    } else if (k === 'c_bool' && typeof v === 'string') out[k] = v === 'true'
    else if ((k === 'c_int_array' || k === 'c_text_array') && typeof v === 'string') out[k] = JSON.parse(v) as Raw
    else if (JSON_TEXT.has(k) && typeof v === 'string') out[k] = v
    else if (k in INFINITE && typeof v === 'string') out[k] = INFINITE[k]![v] ?? v
    else out[k] = v
  }
  return out
}

/** Rows compared column by column: one line per reader and column that differs, with a count and the first example. */
function differences(expected: RawRow[], actual: RawRow[], reader: string): string[] {
  const found = new Map<string, { n: number; example: string }>()
  expected.forEach((row, i) => {
    for (const column of Object.keys(row)) {
      const [want, got] = [JSON.stringify(row[column]), JSON.stringify(actual[i]?.[column])]
      if (want === got) continue
      const seen = found.get(column) ?? { n: 0, example: `id ${String(row.id)}: want ${want.slice(0, 120)}, got ${String(got).slice(0, 120)}` }
      found.set(column, { n: seen.n + 1, example: seen.example })
    }
  })
  return [...found].map(([column, { n, example }]) => `${reader} ${column}: ${n} rows differ, e.g. ${example}`)
}

/** Runs the product; with a kill time, SIGKILLs it that long after `killAt` resolves. */
function runTributary(dataDir: string, productDir: string, args: string[], kill?: Promise<number>): { done: Promise<'killed' | 'finished'>; child: ChildProcess } {
  const child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'run', productDir, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TRIBUTARY_LOG_LEVEL: 'info',
      TRIBUTARY_TRANSPORT: 'kafka',
      TRIBUTARY_KAFKA_BROKERS: kafkaBroker,
      TRIBUTARY_KAFKA_CLIENT_ID: `${path.basename(productDir)}-instance`,
      TRIBUTARY_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-20_000)))
  void kill?.then((ms) => setTimeout(() => child.kill('SIGKILL'), ms))
  const done = new Promise<'killed' | 'finished'>((resolve, reject) =>
    child.on('exit', (code, signal) => {
      children.delete(child)
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0 || signal === 'SIGTERM') resolve('finished')
      else reject(new Error(`tributary run exited with ${code ?? signal}: ${stderr.slice(-4000)}`))
    }),
  )
  return { done, child }
}

function query(dataDir: string, productDir: string, sql: string): RawRow[] {
  const out = execFileSync(process.execPath, [bin, '--data-dir', dataDir, 'query', sql, '--format', 'json'], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    env: { ...process.env, TRIBUTARY_PRODUCTS: productDir, TRIBUTARY_LOG_LEVEL: 'warn' },
  })
  return JSON.parse(out) as RawRow[]
}

/**
 * Copies the fixture product, renamed for this run (its product name, topics and lake table).
 * Without `evolve` its ports read and write the declared schema only (no `evolution: additive`).
 */
function productFor(id: string, sourceTopic: string, evolve: boolean): { dir: string; name: string; output: string } {
  const dir = tempDir('trib-pgcdc-product-')
  const name = `pg-mirror-${id}`
  for (const f of fs.readdirSync(fixture)) fs.copyFileSync(path.join(fixture, f), path.join(dir, f))
  const spec = path.join(dir, 'product.yaml')
  let text = fs.readFileSync(spec, 'utf8').replace('name: pg-mirror', `name: ${name}`).replace('pgcdc.source.everything', sourceTopic).replace('pg-mirror.mirror', `${name}.mirror`)
  if (!evolve) text = text.replace(/^ *evolution: additive.*\n/gm, '')
  fs.writeFileSync(spec, text)
  return { dir, name, output: `${name}.mirror` }
}

/** The column names of a lake table's current schema, from its metadata (empty before the table exists). */
function tableColumns(table: string): string[] {
  const hint = path.join(table, 'metadata', 'version-hint.text')
  if (!fs.existsSync(hint)) return []
  const md = JSON.parse(fs.readFileSync(path.join(table, 'metadata', `v${fs.readFileSync(hint, 'utf8').trim()}.metadata.json`), 'utf8')) as {
    'current-schema-id': number
    schemas: Array<{ 'schema-id': number; fields: Array<{ name: string }> }>
  }
  return md.schemas.find((x) => x['schema-id'] === md['current-schema-id'])!.fields.map((f) => f.name)
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const keyId = (r: LogRecord): string | undefined => {
  if (!r.key) return undefined
  const k = JSON.parse(r.key.toString()) as { id?: unknown; payload?: { id?: unknown } }
  return String(k.payload?.id ?? k.id)
}

interface Case {
  wrapper: boolean
  identity: 'default' | 'full'
  /**
   * The whole workload (snapshot, streaming, burst), or PostgreSQL's edge values only. An edge
   * value must reach the lake exactly or its row must be a dead letter naming the column: never a
   * different value.
   */
  workload: 'changes' | 'edges'
  kill: boolean
  /**
   * Why the case cannot pass yet: it waits for the codec side of issue 8 (branch codec). Skipped
   * unless TRIBUTARY_PGCDC_ALL=1, which runs it as it is.
   */
  blockedBy?: string
}

// The workload runs twice, covering each setting once: the JSON wrapper on with REPLICA IDENTITY
// DEFAULT (where unchanged TOASTed values arrive as Debezium's placeholder) and the SIGKILL; off
// with FULL. The edge values run apart (snapshot and stream), with and without the wrapper.
const cases: Case[] = [
  { wrapper: true, identity: 'default', workload: 'changes', kill: true },
  { wrapper: false, identity: 'full', workload: 'changes', kill: false },
  { wrapper: true, identity: 'default', workload: 'edges', kill: false },
  { wrapper: false, identity: 'default', workload: 'edges', kill: false },
]
const runAll = process.env.TRIBUTARY_PGCDC_ALL === '1'
const title = (c: Case): string =>
  c.workload === 'edges'
    ? `PostgreSQL's edge values, wrapper ${c.wrapper ? 'on' : 'off'}: each is exact in the lake or its row a dead letter naming the column, never a different value`
    : `wrapper ${c.wrapper ? 'on' : 'off'}, REPLICA IDENTITY ${c.identity.toUpperCase()}${c.kill ? ', SIGKILL mid-burst' : ''}: the lake equals the source table, every change once in the output`

describe('PostgreSQL → Debezium → Kafka → tributary → Iceberg (real servers)', () => {
  let log: Log
  const dirs: string[] = []
  const cleanups: Array<() => Promise<void>> = []
  beforeAll(async () => {
    cdcServers()
    log = await openTestKafkaLog()
  }, 20 * 60_000)
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    for (const c of cleanups) await c().catch(() => undefined)
    await log?.close()
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })

  for (const c of cases) {
    // Blocked cases are skipped with their reason in the title (see Case.blockedBy).
    ;(c.blockedBy && !runAll ? it.skip : it)(c.blockedBy && !runAll ? `${title(c)} [skipped: ${c.blockedBy}]` : title(c), async () => {
      const started = Date.now()
      const id = unique('x').slice(2)
      const s = `cdc_${id}`
      const topicPrefix = `pgcdc_${id}`
      const sourceTopic = `${topicPrefix}.${s}.everything`
      const connector = `pgcdc_${id}`
      // With the wrapper each event says its columns' types, so the port follows an added column
      // (evolution: additive); without it the port reads its declared columns (README).
      const evolve = c.wrapper
      const product = productFor(id, sourceTopic, evolve)
      const dataDir = tempDir('trib-pgcdc-data-')
      const table = path.join(dataDir, 'lake', product.name, 'mirror')
      dirs.push(product.dir, dataDir)

      // The snapshot: rows before the connector starts.
      await psql(createTable(s, c.identity) + (c.workload === 'edges' ? insertEdges(s) : insertRows(s, 1, 300) + insertLimits(s)))
      cleanups.push(async () => {
        await deleteConnector(connector)
        await psql(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
        // The shared broker keeps nothing of this run.
        await resetKafka({ topics: (t) => t.startsWith(`${topicPrefix}.`) || t.startsWith(`${product.name}.`), groups: (g) => g === product.name })
      })
      await createConnector({ name: connector, tables: [`${s}.everything`], topicPrefix, wrapper: c.wrapper })
      await waitFor('the snapshot topic', async () => ((await log.describeTopic(sourceTopic)) ? true : undefined))

      // The product's topics exist before it starts: a `run` that creates them itself can exit at
      // once on the broker's "not the leader" while leaders are elected (retriable, but not retried).
      for (const topic of [product.output, `${product.name}.dlq`]) await log.ensureTopic(topic, { partitions: topic === product.output ? 3 : 1 })
      await new Promise((r) => setTimeout(r, 2000))
      let first: ReturnType<typeof runTributary> | undefined
      if (c.workload === 'edges') {
        // The same values again, streamed (Debezium reads a snapshot over JDBC, changes from the WAL).
        await psql(`CREATE TEMP TABLE copy AS SELECT * FROM ${s}.everything; UPDATE copy SET id = id + 1000; INSERT INTO ${s}.everything SELECT * FROM copy;`)
      } else {
        let burstStarted!: (ms: number) => void
        const killAt = new Promise<number>((r) => (burstStarted = r))
        first = runTributary(dataDir, product.dir, [], c.kill ? killAt : undefined)

        // Streaming: inserts, a TRUNCATE (rows 151..300 never come back), rows again, updates that
        // leave the TOASTed column alone and some that change it, a primary-key change, deletes.
        await psql(insertRows(s, 301, 400))
        await psql(`TRUNCATE ${s}.everything`)
        await psql(insertRows(s, 1, 150, 'again') + insertLimits(s))
        await psql(`UPDATE ${s}.everything SET c_text = 'updated ' || id, c_integer = c_integer + 1 WHERE id % 5 = 0;
UPDATE ${s}.everything SET c_toast = repeat(md5('new' || id), 70) WHERE id % 7 = 0;
UPDATE ${s}.everything SET id = id + 500000 WHERE id IN (3, 6, 10);
DELETE FROM ${s}.everything WHERE id % 11 = 0 OR id = 1000002;`)
        // Columns added to the source: Debezium sends a new writer schema mid-stream. With the
        // wrapper the product follows it while it runs (no restart): the output schema gains a
        // version and the lake table the columns before the burst (and its SIGKILL) starts.
        // Without a DEFAULT: PostgreSQL fills a default into existing rows with no change event.
        await psql(`ALTER TABLE ${s}.everything ADD COLUMN c_added text, ADD COLUMN c_added_at timestamp;
UPDATE ${s}.everything SET c_added = 'set ' || id || ' ✓', c_added_at = TIMESTAMP '2001-02-03 04:05:06.789012' + id * interval '1 second' WHERE id % 13 = 0;`)
        if (evolve) await waitFor('the lake table to gain the added columns while tributary runs', async () => (tableColumns(table).includes('c_added_at') ? true : undefined))
        // The burst: thousands of changes in many transactions, with tributary killed in the middle.
        burstStarted(1500)
        for (let b = 0; b < 6; b++) {
          const from = 10_000 + b * (BURST / 6)
          await psql(`${insertRows(s, from, from + BURST / 6 - 1, 'burst')}
UPDATE ${s}.everything SET c_bigint = -c_bigint, c_text = c_text || ' again' WHERE id BETWEEN ${from} AND ${from + 200};
DELETE FROM ${s}.everything WHERE id BETWEEN ${from + 300} AND ${from + 350};`)
        }
      }
      await psql(`INSERT INTO ${s}.everything (id, c_text) VALUES (${SENTINEL}, 'the end')`)

      // Everything Debezium produced, up to the sentinel (one partition: it is the last change).
      const input = await waitFor('the sentinel in the source topic', async () => {
        const records = await readTopic(log, sourceTopic)
        return records.some((r) => keyId(r) === String(SENTINEL)) ? records : undefined
      })
      if (first && c.kill) expect(await first.done).toBe('killed')
      else if (first) {
        first.child.kill('SIGTERM')
        expect(await first.done).toBe('finished')
      }
      // A killed member may still hold partitions until its session expires (README: known limits on Kafka).
      if (first) await new Promise((r) => setTimeout(r, SESSION_TIMEOUT_MS + 1000))
      expect(await runTributary(dataDir, product.dir, ['--until-idle']).done).toBe('finished')

      const added = evolve && c.workload === 'changes'
      const expected = (JSON.parse(await psql(selectRaw(s, added))) as RawRow[]).map(normalise)
      const byId = (rows: RawRow[]) => [...rows].sort((a, b) => (BigInt(a.id as string) < BigInt(b.id as string) ? -1 : 1))
      const lake = byId((pyicebergRawRows(table) as RawRow[]).map(normalise))
      const sql = byId(query(dataDir, product.dir, queryRaw(`"${product.name}".mirror`, added)).map(normalise))
      const counts = { source: expected.length, pyiceberg: lake.length, query: sql.length, changes: input.length }
      process.stderr.write(`pg-cdc ${JSON.stringify(c)}: ${JSON.stringify(counts)} in ${Math.round((Date.now() - started) / 1000)} s\n`)
      // Dead letters, summarised by reason, and by the source row they stand for.
      const reasons = new Map<string, number>()
      const deadRows = new Map<string, string>()
      for (const r of await readTopic(log, `${product.name}.dlq`)) {
        const message = r.headers['tributary.error.message']?.toString() ?? ''
        const reason = `${r.headers['tributary.error.code']?.toString()}: ${message.replace(/^[^:]*@\d+: /, '').slice(0, 300)}`
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
        const row = keyId(r)
        if (row !== undefined) deadRows.set(row, message)
      }
      if (reasons.size > 0) process.stderr.write(`pg-cdc ${JSON.stringify(c)} dead letters:\n${[...reasons].map(([m, n]) => `  ${n} × ${m}`).join('\n')}\n`)
      if (c.workload === 'edges') {
        const inLake = new Map(lake.map((r) => [r.id as string, r]))
        const inQuery = new Map(sql.map((r) => [r.id as string, r]))
        // Every edge row that is wrong, at once: the column, what PostgreSQL holds, what each reader shows.
        const wrong: string[] = []
        for (const row of expected.map(asSent)) {
          const id = row.id as string
          const stored = inLake.get(id)
          if (stored) {
            for (const [reader, got] of [['pyiceberg', stored], ['tributary query', inQuery.get(id)]] as const)
              for (const column of Object.keys(row))
                if (JSON.stringify(got?.[column]) !== JSON.stringify(row[column]))
                  wrong.push(`${reader} row ${id} ${column}: want ${JSON.stringify(row[column])}, got ${JSON.stringify(got?.[column])}`)
          } else {
            // Refused: a dead letter naming a column that holds a value of this row.
            const message = deadRows.get(id)
            if (message === undefined) wrong.push(`row ${id} is neither in the lake nor a dead letter`)
            else if (!Object.keys(row).some((column) => row[column] !== null && message.includes(column))) wrong.push(`dead letter of row ${id} names no column: ${message}`)
          }
        }
        expect(wrong).toEqual([])
        expect(lake.length).toBeLessThanOrEqual(expected.length)
        return
      }
      expect([...reasons.keys()]).toEqual([])
      expect(lake.map((r) => r.id)).toEqual(expected.map((r) => r.id))
      // The added columns are in the lake exactly when the product follows them (compared below).
      expect(tableColumns(table).includes('c_added')).toBe(added)
      if (added) expect(expected.filter((r) => r.c_added !== null).length).toBeGreaterThan(10)
      // Column by column: every difference, per reader and column, with the first row it shows in.
      expect(differences(expected, lake, 'pyiceberg')).toEqual([])
      expect(differences(expected, sql, 'tributary query')).toEqual([])

      // Exactly once: each change (every source record but Debezium's tombstones) is in the
      // output once, read read_committed, named by the input offset the transform put in a header;
      // a truncate once in each partition of the output.
      const isTruncateEvent = (r: LogRecord) => /"op":"t"/.test(r.value!.toString())
      const changes = input.filter((r) => r.value !== null && !isTruncateEvent(r)).map((r) => String(r.offset))
      const truncates = input.filter((r) => r.value !== null && isTruncateEvent(r)).map((r) => String(r.offset))
      const outputs = await readTopic(log, product.output)
      const offsetOf = (r: LogRecord) => r.headers['pgcdc.offset']?.toString() ?? 'none'
      const rows = outputs.filter((r) => !r.headers['tributary.op']).map(offsetOf)
      const markers = outputs.filter((r) => r.headers['tributary.op']?.toString() === 'truncate')
      expect(rows.length).toBe(changes.length)
      expect(new Set(rows).size).toBe(rows.length)
      expect([...rows].sort()).toEqual([...changes].sort())
      expect(truncates.length).toBe(c.workload === 'changes' ? 1 : 0)
      expect(markers.map((r) => `${offsetOf(r)}@${r.partition}`).sort()).toEqual(truncates.flatMap((o) => [0, 1, 2].map((p) => `${o}@${p}`)).sort())
    }, 15 * 60_000)
  }
})
