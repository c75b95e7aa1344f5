import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadProduct } from '../../runtime/product/load.ts'
import { createRunnables, runProducts } from '../../runtime/runner.ts'
import { keySubject, valueSubject } from '../../runtime/registry/registry.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { StateDb } from '../../runtime/state/db.ts'
import { productsDir, readDecoded, tempRuntime } from '../helpers/runtime.ts'
import { readSchemaFile } from '../../runtime/spec/schemas.ts'

const profilesTopic = 'user-profiles.profiles'
const profile = (id: number, country: string) => ({
  user_id: id,
  email: `u${id}@example.com`,
  display_name: `User ${id}`,
  age_band: '25-34',
  country,
  city: null,
  plan: 'free',
  marketing_opt_in: false,
  lifetime_value: '1.00',
  registered_at: '2026-01-01T00:00:00.000000Z',
  updated_at: '2026-11-01T00:00:00.000000Z',
})
const play = (n: number, user: number) => ({
  play_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  user_id: user,
  podcast_id: 'pod-001',
  episode_id: 'pod-001-ep-01',
  played_at: `2026-11-01T10:00:0${n}.000Z`,
  duration_seconds: 10,
  device: 'web',
})

/** Table-mode inputs: latest value per key in a durable store, deletes remove keys, correct after a restart. */
describe('table-mode input port', () => {
  let runtime: Runtime
  let cleanup: () => Promise<void>
  const listeners = loadProduct(path.join(productsDir, 'podcast-listeners'))
  let encodeProfile: (v: unknown) => Buffer
  let encodeKey: (v: unknown) => Buffer

  const run = async () => runProducts(await createRunnables(runtime, [listeners]), { untilIdle: true })
  const known = async () =>
    Object.fromEntries(
      (await readDecoded(runtime.log, runtime.codec.serde, 'podcast-listeners.demographics')).map((r) => {
        const v = r.value as { play_id: string; known_listener: boolean; country: string | null }
        return [v.play_id.slice(-1), v.known_listener ? v.country : null]
      }),
    )

  beforeAll(async () => {
    ;({ runtime, cleanup } = await tempRuntime())
    await runtime.log.ensureTopic(profilesTopic, { partitions: 3 })
    await runtime.log.ensureTopic('podcast.plays', { partitions: 3 })
    encodeProfile = await runtime.codec.serde.encoder(valueSubject(profilesTopic), readSchemaFile(path.join(productsDir, '../schemas/users.user-profile.avsc')).schema)
    encodeKey = await runtime.codec.serde.encoder(keySubject(profilesTopic), '"long"')
  })
  afterAll(async () => cleanup())

  it('joins plays with the latest profile, then after a restart sees updates and deletes', async () => {
    await runtime.log.append([
      { topic: profilesTopic, key: encodeKey(1), value: encodeProfile(profile(1, 'DE')) },
      { topic: profilesTopic, key: encodeKey(2), value: encodeProfile(profile(2, 'FR')) },
      { topic: profilesTopic, key: encodeKey(1), value: encodeProfile(profile(1, 'GB')) },
      { topic: 'podcast.plays', key: Buffer.from('1'), value: Buffer.from(JSON.stringify(play(1, 1))) },
      { topic: 'podcast.plays', key: Buffer.from('2'), value: Buffer.from(JSON.stringify(play(2, 2))) },
    ])
    await run()
    expect(await known()).toEqual({ '1': 'GB', '2': 'FR' })

    // The store is on disk with its position: after the restart it is used, not rebuilt.
    const db = StateDb.open(path.join(runtime.stateDir, 'podcast-listeners', '0'))
    expect(db.positions('table:profiles').reduce((n, p) => n + p.offset, 0)).toBe(3)
    expect((db.db('table:profiles').get('1') as { country: string }).country).toBe('GB')
    await db.close()

    await runtime.log.append([
      { topic: profilesTopic, key: encodeKey(1), value: null },
      { topic: profilesTopic, key: encodeKey(2), value: encodeProfile(profile(2, 'ES')) },
      { topic: 'podcast.plays', key: Buffer.from('1'), value: Buffer.from(JSON.stringify(play(3, 1))) },
      { topic: 'podcast.plays', key: Buffer.from('2'), value: Buffer.from(JSON.stringify(play(4, 2))) },
    ])
    await run()
    expect(await known()).toEqual({ '1': 'GB', '2': 'FR', '3': null, '4': 'ES' })
  })
})
