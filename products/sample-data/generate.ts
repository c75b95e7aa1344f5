/**
 * Deterministic sample data for the example mesh: Debezium CDC of the registration service's users
 * table (Avro, snapshot reads, creates, updates, deletes and tombstones) and podcast play events
 * (JSON), plus a few invalid records of several kinds. The same seed always gives the same bytes.
 */
import { createEnvelopeType, createPlainType } from '../../runtime/codec/debezium/index.ts'
import { buildAvro, buildAvroTombstone, type ChangeSpec, type TableDef } from './debezium/index.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { frame } from '../../runtime/codec/avro/wire.ts'
import type { SchemaRegistry } from '../../runtime/registry/registry.ts'

export const usersTopic = 'registration.public.users'
export const playsTopic = 'podcast.plays'

export const usersTable: TableDef = {
  topic: usersTopic,
  database: 'registration',
  key: ['id'],
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'email', type: 'string' },
    { name: 'full_name', type: 'string' },
    { name: 'birth_date', type: 'date', optional: true },
    { name: 'country', type: 'string' },
    { name: 'city', type: 'string', optional: true },
    { name: 'plan', type: 'enum', allowed: ['free', 'premium', 'family'] },
    { name: 'marketing_opt_in', type: 'boolean' },
    { name: 'lifetime_value', type: 'decimal', precision: 10, scale: 2 },
    { name: 'external_id', type: 'uuid' },
    { name: 'created_at', type: 'zoned-timestamp' },
    { name: 'updated_at', type: 'micro-timestamp' },
  ],
}

export interface SampleOptions {
  users?: number
  plays?: number
  seed?: number
  /** Include invalid records of every kind (default true). */
  invalid?: boolean
  /** Start of the simulated period; default 2026-11-01T08:00:00Z. */
  start?: number
}

export interface SampleSummary {
  records: Record<string, number>
  /** Invalid records written per topic, by the error code they should get. */
  invalid: Record<string, Record<string, number>>
  userChanges: { read: number; create: number; update: number; delete: number; tombstone: number }
}

type Row = Record<string, unknown>

/** mulberry32: small, fast and deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const firstNames = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Margaret', 'Linus', 'Frances', 'Dennis', 'Radia', 'Tim', 'Hedy', 'John', 'Sophie', 'Yukihiro']
const lastNames = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Hamilton', 'Torvalds', 'Allen', 'Ritchie', 'Perlman', 'Berners-Lee', 'Lamarr', 'Backus', 'Wilson', 'Matsumoto']
const places: Array<[string, string[]]> = [
  ['DE', ['Berlin', 'Hamburg', 'Munich']],
  ['GB', ['London', 'Leeds']],
  ['US', ['New York', 'Austin', 'Seattle']],
  ['FR', ['Paris', 'Lyon']],
  ['BR', ['São Paulo']],
  ['JP', ['Tokyo', 'Osaka']],
  ['NG', ['Lagos']],
]
const devices = ['mobile', 'mobile', 'mobile', 'web', 'smart_speaker', 'car'] as const
const plans = ['free', 'free', 'free', 'premium', 'family'] as const

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!
const pad = (n: number, w: number) => String(n).padStart(w, '0')
const uuid = (r: () => number): string => {
  const h = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16))
  h[12] = '4'
  h[16] = ((parseInt(h[16]!, 16) & 3) | 8).toString(16)
  const s = h.join('')
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}
const microIso = (ms: number, r: () => number): string => new Date(ms).toISOString().replace('Z', `${pad(Math.floor(r() * 1000), 3)}Z`)

function newUser(id: number, r: () => number, at: number): Row {
  const first = pick(r, firstNames)
  const last = pick(r, lastNames)
  const [country, cities] = pick(r, places)
  const year = 1950 + Math.floor(r() * 58)
  return {
    id,
    email: `${first}.${last}${id}@example.com`.toLowerCase(),
    full_name: `${first} ${last}`,
    birth_date: r() < 0.1 ? null : `${year}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`,
    country,
    city: r() < 0.15 ? null : pick(r, cities),
    plan: pick(r, plans),
    marketing_opt_in: r() < 0.4,
    lifetime_value: (Math.floor(r() * 50000) / 100).toFixed(2),
    external_id: uuid(r),
    created_at: microIso(at - Math.floor(r() * 400 * 86_400_000), r),
    updated_at: microIso(at, r),
  }
}

/** Popular podcasts get more plays (a Zipf-like curve), as in real charts. */
function podcastPicker(r: () => number, count: number): () => string {
  const weights = Array.from({ length: count }, (_, i) => 1 / (i + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  return () => {
    let x = r() * total
    for (let i = 0; i < count; i++) if ((x -= weights[i]!) <= 0) return `pod-${pad(i + 1, 3)}`
    return `pod-${pad(count, 3)}`
  }
}

/**
 * Builds the sample records. Schemas are registered in `registry` (Debezium's AvroConverter does
 * the same against Confluent's registry), so every Avro key and value is framed with a real id.
 */
export async function generateSampleData(registry: SchemaRegistry, options: SampleOptions = {}): Promise<{ records: OutgoingRecord[]; summary: SampleSummary }> {
  const r = rng(options.seed ?? 42)
  const userCount = options.users ?? 200
  const playCount = options.plays ?? 2000
  const start = options.start ?? Date.parse('2026-11-01T08:00:00Z')
  const period = 3 * 86_400_000
  const withInvalid = options.invalid ?? true

  const first = buildAvro(usersTable, { op: 'r', after: newUser(1, rng(1), start), tsMs: start })
  const valueId = (await registry.register(`${usersTopic}-value`, first.valueSchema)).id
  const keyId = (await registry.register(`${usersTopic}-key`, first.keySchema!)).id
  const valueType = createEnvelopeType(first.valueSchema)
  const keyType = createPlainType(first.keySchema!)

  const records: OutgoingRecord[] = []
  const summary: SampleSummary = { records: {}, invalid: {}, userChanges: { read: 0, create: 0, update: 0, delete: 0, tombstone: 0 } }
  const emitUser = (spec: ChangeSpec, at: number, row: Row) => {
    const built = buildAvro(usersTable, { ...spec, tsMs: at })
    records.push({
      topic: usersTopic,
      key: frame(keyId, keyType.toBuffer(built.key)),
      value: built.value === null ? null : frame(valueId, valueType.toBuffer(built.value)),
      timestamp: at,
    })
    summary.userChanges[spec.op === 'r' ? 'read' : spec.op === 'c' ? 'create' : spec.op === 'u' ? 'update' : 'delete']++
    if (spec.op === 'd') {
      const tomb = buildAvroTombstone(usersTable, row)
      records.push({ topic: usersTopic, key: frame(keyId, keyType.toBuffer(tomb.key)), value: null, timestamp: at })
      summary.userChanges.tombstone++
    }
  }

  // The connector's initial snapshot: three quarters of the users exist before streaming starts.
  const live = new LiveRows()
  const initial = Math.ceil(userCount * 0.75)
  for (let id = 1; id <= initial; id++) {
    const row = newUser(id, r, start)
    live.set(row)
    emitUser({ op: 'r', after: row }, start, row)
  }
  // Then three days of changes: sign-ups, plan and city changes, a few deletions.
  const changes = userCount - initial + Math.floor(userCount * 0.5)
  for (let i = 0, nextId = initial + 1; i < changes; i++) {
    const at = start + Math.floor(((i + 1) / (changes + 1)) * period)
    const x = r()
    if (nextId <= userCount && (x < 0.45 || live.size < 5)) {
      const row = newUser(nextId++, r, at)
      live.set(row)
      emitUser({ op: 'c', after: row }, at, row)
    } else if (x < 0.93 || live.size < 5) {
      const before = live.pick(r)
      const [country, cities] = pick(r, places)
      const after = { ...before, plan: pick(r, plans), country, city: pick(r, cities), updated_at: microIso(at, r) }
      live.set(after)
      emitUser({ op: 'u', before, after }, at, after)
    } else {
      const before = live.pick(r)
      live.delete(before)
      emitUser({ op: 'd', before }, at, before)
    }
  }

  const nextPodcast = podcastPicker(r, 30)
  const ids = [...Array(userCount).keys()].map((i) => i + 1)
  const playTimes = Array.from({ length: playCount }, () => start + Math.floor(r() * period)).sort((a, b) => a - b)
  for (const at of playTimes) {
    const userId = r() < 0.03 ? 90_000 + Math.floor(r() * 100) : pick(r, ids)
    const podcast = nextPodcast()
    const play = {
      play_id: uuid(r),
      user_id: userId,
      podcast_id: podcast,
      episode_id: `${podcast}-ep-${pad(1 + Math.floor(r() * 20), 2)}`,
      played_at: new Date(at).toISOString(),
      duration_seconds: 30 + Math.floor(r() * 3570),
      device: pick(r, devices),
    }
    records.push({ topic: playsTopic, key: Buffer.from(String(userId)), value: Buffer.from(JSON.stringify(play)), timestamp: at })
  }

  if (withInvalid) appendInvalid(records, summary, { keyId, valueId, keyType, valueType, start, r })
  for (const rec of records) summary.records[rec.topic] = (summary.records[rec.topic] ?? 0) + 1
  return { records, summary }
}

/** Current rows by id, with O(1) random pick and delete. */
class LiveRows {
  readonly #rows: Row[] = []
  readonly #index = new Map<unknown, number>()
  get size(): number {
    return this.#rows.length
  }
  set(row: Row): void {
    const i = this.#index.get(row.id)
    if (i === undefined) {
      this.#index.set(row.id, this.#rows.length)
      this.#rows.push(row)
    } else this.#rows[i] = row
  }
  pick(r: () => number): Row {
    return pick(r, this.#rows)
  }
  delete(row: Row): void {
    const i = this.#index.get(row.id)!
    const last = this.#rows.pop()!
    if (last.id !== row.id) {
      this.#rows[i] = last
      this.#index.set(last.id, i)
    }
    this.#index.delete(row.id)
  }
}

interface InvalidContext {
  keyId: number
  valueId: number
  keyType: ReturnType<typeof createPlainType>
  valueType: ReturnType<typeof createEnvelopeType>
  start: number
  r: () => number
}

/** One record of every kind of bad input, each with the dead-letter code it must get. */
function appendInvalid(records: OutgoingRecord[], summary: SampleSummary, c: InvalidContext): void {
  const at = c.start + 86_400_000
  const key = (id: number) => frame(c.keyId, c.keyType.toBuffer({ id }))
  const userValue = (row: Row) => {
    const built = buildAvro(usersTable, { op: 'c', after: row, tsMs: at })
    return frame(c.valueId, c.valueType.toBuffer(built.value))
  }
  const good = newUser(80_001, c.r, at)
  const bad: Array<[string, string, Buffer | null, Buffer]> = [
    [usersTopic, 'TRIB_DECODE_MAGIC', key(80_001), Buffer.from(JSON.stringify({ id: 80_001, email: 'raw-json@example.com' }))],
    [usersTopic, 'TRIB_DECODE_UNKNOWN_SCHEMA', key(80_002), frame(99_999, Buffer.from([2, 4, 6]))],
    [usersTopic, 'TRIB_DECODE_AVRO', key(80_003), userValue({ ...good, id: 80_003 }).subarray(0, 40)],
    [usersTopic, 'TRIB_VALIDATE_RULE', key(80_004), userValue({ ...good, id: 80_004, email: 'not-an-email' })],
    [usersTopic, 'TRIB_RECORD_TOO_LARGE', key(80_005), userValue({ ...good, id: 80_005, full_name: 'x'.repeat(1_100_000) })],
    [playsTopic, 'TRIB_DECODE_JSON', Buffer.from('7'), Buffer.from('{"play_id": "0c9a", "user_id": 7,')],
    [playsTopic, 'TRIB_VALIDATE_TYPE', Buffer.from('8'), Buffer.from(JSON.stringify({ play_id: uuid(c.r), podcast_id: 'pod-001', episode_id: 'pod-001-ep-01', played_at: new Date(at).toISOString(), duration_seconds: 60, device: 'web' }))],
    [playsTopic, 'TRIB_VALIDATE_RULE', Buffer.from('9'), Buffer.from(JSON.stringify({ play_id: uuid(c.r), user_id: 9, podcast_id: 'pod-002', episode_id: 'pod-002-ep-01', played_at: new Date(at).toISOString(), duration_seconds: -5, device: 'car' }))],
  ]
  for (const [topic, code, k, value] of bad) {
    records.push({ topic, key: k, value, timestamp: at })
    const perTopic = (summary.invalid[topic] ??= {})
    perTopic[code] = (perTopic[code] ?? 0) + 1
  }
}
