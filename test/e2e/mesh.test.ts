import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEnvelopeType, createPlainType } from '../../runtime/codec/debezium/index.ts'
import { buildAvro, buildAvroTombstone, type ChangeSpec } from '../../products/sample-data/debezium/index.ts'
import type { OutgoingRecord } from '../../runtime/log/log.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { frame } from '../../runtime/codec/avro/wire.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { playsTopic, usersTable, usersTopic } from '../../products/sample-data/generate.ts'
import { exampleMesh, readDecoded, tempRuntime } from '../helpers/runtime.ts'

/**
 * The example mesh on a small, hand-written input, with every expected output written out by hand.
 * Products run in mesh order until idle, so podcast-listeners sees the profiles as they are after
 * all user changes.
 */
const ada = {
  id: 1,
  email: 'Ada.Lovelace@Example.com',
  full_name: ' Ada Lovelace ',
  birth_date: '1990-05-01',
  country: 'DE',
  city: 'Berlin',
  plan: 'premium',
  marketing_opt_in: true,
  lifetime_value: '120.50',
  external_id: '0b6f5c52-2f1e-4a8e-9a53-3f2b7d9a1c01',
  created_at: '2025-01-02T03:04:05.123456Z',
  updated_at: '2026-11-01T08:00:00.000001Z',
}
const grace = {
  id: 2,
  email: 'grace@example.com',
  full_name: 'Grace Hopper',
  birth_date: null,
  country: 'US',
  city: null,
  plan: 'free',
  marketing_opt_in: false,
  lifetime_value: '0.00',
  external_id: '6c1f9a3e-8a55-4d6b-b2f0-1d3c5e7f9a02',
  created_at: '2026-11-01T08:10:00Z',
  updated_at: '2026-11-01T08:10:00.000000Z',
}
const adaMoved = { ...ada, plan: 'family', city: 'Hamburg', updated_at: '2026-11-01T09:00:00.000000Z' }

const play = (id: string, user: number, podcast: string, at: string, seconds: number) => ({
  play_id: id,
  user_id: user,
  podcast_id: podcast,
  episode_id: `${podcast}-ep-01`,
  played_at: at,
  duration_seconds: seconds,
  device: 'mobile',
})

describe('example mesh, end to end on the embedded runtime', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({ runtime, cleanup } = await tempRuntime())
    const { log, registry } = runtime
    await log.ensureTopic(usersTopic, { partitions: 3 })
    await log.ensureTopic(playsTopic, { partitions: 3 })

    const changes: Array<[ChangeSpec, number]> = [
      [{ op: 'r', after: ada }, Date.parse('2026-11-01T08:00:00Z')],
      [{ op: 'c', after: grace }, Date.parse('2026-11-01T08:10:00Z')],
      [{ op: 'u', before: ada, after: adaMoved }, Date.parse('2026-11-01T09:00:00Z')],
      [{ op: 'd', before: grace }, Date.parse('2026-11-01T10:00:00Z')],
    ]
    const sample = buildAvro(usersTable, changes[0]![0])
    const valueId = (await registry.register(`${usersTopic}-value`, sample.valueSchema)).id
    const keyId = (await registry.register(`${usersTopic}-key`, sample.keySchema!)).id
    const valueType = createEnvelopeType(sample.valueSchema)
    const keyType = createPlainType(sample.keySchema!)
    const records: OutgoingRecord[] = []
    for (const [spec, at] of changes) {
      const built = buildAvro(usersTable, { ...spec, tsMs: at })
      records.push({ topic: usersTopic, key: frame(keyId, keyType.toBuffer(built.key)), value: frame(valueId, valueType.toBuffer(built.value)), timestamp: at })
    }
    const tomb = buildAvroTombstone(usersTable, grace)
    records.push({ topic: usersTopic, key: frame(keyId, keyType.toBuffer(tomb.key)), value: null, timestamp: Date.parse('2026-11-01T10:00:00Z') })

    const plays = [
      play('00000000-0000-4000-8000-000000000001', 1, 'pod-001', '2026-11-01T08:30:00.000Z', 600),
      play('00000000-0000-4000-8000-000000000002', 2, 'pod-001', '2026-11-01T09:30:00.000Z', 300),
      play('00000000-0000-4000-8000-000000000003', 3, 'pod-002', '2026-11-02T00:10:00.000Z', 120),
      play('00000000-0000-4000-8000-000000000004', 1, 'pod-001', '2026-11-02T00:20:00.000Z', 60),
    ]
    for (const p of plays) records.push({ topic: playsTopic, key: Buffer.from(String(p.user_id)), value: Buffer.from(JSON.stringify(p)), timestamp: Date.parse(p.played_at) })
    records.push({ topic: playsTopic, key: Buffer.from('1'), value: Buffer.from('{"play_id":'), timestamp: Date.parse('2026-11-02T01:00:00Z') })
    records.push({
      topic: playsTopic,
      key: Buffer.from('1'),
      value: Buffer.from(JSON.stringify(play('00000000-0000-4000-8000-000000000009', 1, 'pod-003', '2026-11-02T01:00:00.000Z', -1))),
      timestamp: Date.parse('2026-11-02T01:00:00Z'),
    })
    await log.append(records)

    await runProducts(await createRunnables(runtime, exampleMesh()), { untilIdle: true })
  })
  afterAll(async () => cleanup())

  const byKey = (rows: Array<{ key: unknown; value: unknown }>) => {
    const out = new Map<string, unknown[]>()
    for (const r of rows) out.set(JSON.stringify(r.key), [...(out.get(JSON.stringify(r.key)) ?? []), r.value])
    return Object.fromEntries(out)
  }

  it('user-profiles: one profile event per change, a tombstone for the delete, none for the Debezium tombstone', async () => {
    const rows = await readDecoded(runtime.log, runtime.codec.serde, 'user-profiles.profiles')
    const profile = (u: typeof ada, ageBand: string | null) => ({
      user_id: u.id,
      email: u.email.toLowerCase(),
      display_name: u.full_name.trim(),
      age_band: ageBand,
      country: u.country,
      city: u.city,
      plan: u.plan,
      marketing_opt_in: u.marketing_opt_in,
      lifetime_value: u.lifetime_value,
      registered_at: u.created_at.length === 20 ? u.created_at.replace('Z', '.000000Z') : u.created_at,
      updated_at: u.updated_at,
    })
    expect(byKey(rows)).toEqual({
      '1': [profile(ada, '35-44'), profile(adaMoved, '35-44')],
      '2': [profile(grace as unknown as typeof ada, null), null],
    })
  })

  it('podcast-listeners: every valid play joined with the profile as it is now', async () => {
    const rows = await readDecoded(runtime.log, runtime.codec.serde, 'podcast-listeners.demographics')
    const demo = (p: ReturnType<typeof play>, profile: Record<string, unknown> | null) => ({
      play_id: p.play_id,
      podcast_id: p.podcast_id,
      episode_id: p.episode_id,
      played_at: p.played_at,
      play_day: p.played_at.slice(0, 10),
      duration_seconds: p.duration_seconds,
      device: p.device,
      user_id: p.user_id,
      known_listener: profile !== null,
      age_band: profile?.age_band ?? null,
      country: profile?.country ?? null,
      city: profile?.city ?? null,
      plan: profile?.plan ?? null,
    })
    const adaNow = { age_band: '35-44', country: 'DE', city: 'Hamburg', plan: 'family' }
    // Plays of different users come from different input partitions: order per podcast is not defined.
    for (const r of rows) expect(r.key).toBe((r.value as { podcast_id: string }).podcast_id)
    const sorted = (rs: typeof rows) => byKey([...rs].sort((a, b) => ((a.value as { play_id: string }).play_id < (b.value as { play_id: string }).play_id ? -1 : 1)))
    expect(sorted(rows)).toEqual({
      '"pod-001"': [
        demo(play('00000000-0000-4000-8000-000000000001', 1, 'pod-001', '2026-11-01T08:30:00.000Z', 600), adaNow),
        demo(play('00000000-0000-4000-8000-000000000002', 2, 'pod-001', '2026-11-01T09:30:00.000Z', 300), null),
        demo(play('00000000-0000-4000-8000-000000000004', 1, 'pod-001', '2026-11-02T00:20:00.000Z', 60), adaNow),
      ],
      '"pod-002"': [demo(play('00000000-0000-4000-8000-000000000003', 3, 'pod-002', '2026-11-02T00:10:00.000Z', 120), null)],
    })
  })

  it('top-podcasts: running totals per day and podcast', async () => {
    const rows = await readDecoded(runtime.log, runtime.codec.serde, 'top-podcasts.daily-plays')
    const totals = (day: string, podcast: string, plays: number, listeners: number, seconds: number, country: string | null, at: string) => ({
      day,
      podcast_id: podcast,
      plays,
      listeners,
      listened_seconds: seconds,
      top_country: country,
      updated_at: at,
    })
    const grouped = byKey(rows)
    // Two plays of pod-001 on day one came from two users (two input partitions), in either order.
    const dayOne = grouped['{"day":"2026-11-01","podcast_id":"pod-001"}']!
    expect(dayOne).toHaveLength(2)
    expect([600, 300]).toContain((dayOne[0] as { listened_seconds: number }).listened_seconds)
    grouped['{"day":"2026-11-01","podcast_id":"pod-001"}'] = dayOne.slice(1)
    expect(grouped).toEqual({
      '{"day":"2026-11-01","podcast_id":"pod-001"}': [totals('2026-11-01', 'pod-001', 2, 2, 900, 'DE', '2026-11-01T09:30:00.000Z')],
      '{"day":"2026-11-02","podcast_id":"pod-002"}': [totals('2026-11-02', 'pod-002', 1, 1, 120, null, '2026-11-02T00:10:00.000Z')],
      '{"day":"2026-11-02","podcast_id":"pod-001"}': [totals('2026-11-02', 'pod-001', 1, 1, 60, 'DE', '2026-11-02T00:20:00.000Z')],
    })
  })

  it('dead letters keep the original bytes and say why', async () => {
    const rows = await readDecoded(runtime.log, runtime.codec.serde, 'podcast-listeners.dlq')
    expect(rows.map((r) => [r.headers['tributary.error.code'], r.headers['tributary.error.stage'], r.headers['tributary.source.topic']])).toEqual([
      ['TRIB_DECODE_JSON', 'decode', playsTopic],
      ['TRIB_VALIDATE_RULE', 'validate', playsTopic],
    ])
    expect(rows[0]!.value).toBe('{"play_id":')
    expect(rows[1]!.headers['tributary.error.message']).toContain('duration_seconds')
    expect(await readDecoded(runtime.log, runtime.codec.serde, 'user-profiles.dlq')).toEqual([])
  })
})
