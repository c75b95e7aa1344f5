import { describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import { TributaryError, type ErrorCode } from '../../../runtime/errors.ts'
import { tempDir } from './fixtures/tmp.ts'

const b = (s: string): Buffer => Buffer.from(s)

async function expectCode(run: () => unknown, code: ErrorCode, mention?: string): Promise<void> {
  let caught: unknown
  try {
    await run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(TributaryError)
  expect((caught as TributaryError).code).toBe(code)
  if (mention !== undefined) expect((caught as TributaryError).message).toContain(mention)
}

describe('embedded log API rules', () => {
  it('validates options at the edge', async () => {
    await expectCode(() => openEmbeddedLog({ dir: '' }), 'TRIB_CONFIG_INVALID', 'dir')
    await expectCode(() => openEmbeddedLog({ dir: tempDir(), segmentBytes: 10 }), 'TRIB_CONFIG_INVALID', 'segmentBytes')
    await expectCode(() => openEmbeddedLog({ dir: tempDir(), fsync: 'sometimes' as 'never' }), 'TRIB_CONFIG_INVALID', 'fsync')
  })

  it("enforces Kafka's topic names and partition ranges", async () => {
    const log = await openEmbeddedLog({ dir: tempDir() })
    for (const name of ['', '.', '..', 'a/b', 'sp ace', 'x'.repeat(250)]) {
      await expectCode(() => log.ensureTopic(name), 'TRIB_TOPIC_INVALID')
      await expectCode(() => log.append([{ topic: name, key: null, value: null }]), 'TRIB_TOPIC_INVALID')
    }
    await log.ensureTopic('ok.name_with-chars', { partitions: 2 })
    await expectCode(() => log.append([{ topic: 'ok.name_with-chars', partition: 2, key: null, value: null }]), 'TRIB_TOPIC_INVALID', 'ok.name_with-chars')
    await expectCode(() => log.ensureTopic('zero', { partitions: 0 }), 'TRIB_TOPIC_INVALID', 'zero')
    await expectCode(() => log.offsetsForTimestamp('nope', 0), 'TRIB_TOPIC_NOT_FOUND', 'nope')
    expect(await log.describeTopic('nope')).toBeUndefined()
    // A bad record leaves nothing behind, not even half of the append.
    await expectCode(() => log.append([{ topic: 'fresh', key: null, value: b('a') }, { topic: 'fresh', key: null, value: 'text' as unknown as Buffer }]), 'TRIB_TOPIC_INVALID')
    expect(await log.describeTopic('fresh')).toBeUndefined()
    await log.close()
  })

  it('auto-creates a topic on append with the default partition count, spreading null keys', async () => {
    const log = await openEmbeddedLog({ dir: tempDir(), defaultPartitions: 3 })
    const positions = await log.append([0, 1, 2, 3, 4, 5].map((i) => ({ topic: 'auto', key: null, value: b(`${i}`) })))
    expect(positions.map((p) => p.partition).sort()).toEqual([0, 0, 1, 1, 2, 2])
    expect((await log.describeTopic('auto'))?.partitions.map((p) => p.end)).toEqual([2, 2, 2])
    expect((await log.ensureTopic('made', {})).partitions).toHaveLength(3)
    await log.close()
  })

  it('allows one live consumer per group and refuses to move its offsets meanwhile', async () => {
    const log = await openEmbeddedLog({ dir: tempDir() })
    await log.append([{ topic: 't', key: null, value: b('x') }])
    const first = log.consumer({ group: 'solo', topics: ['t'] })
    await expectCode(() => log.consumer({ group: 'solo', topics: ['t'] }), 'TRIB_LOG_GROUP_BUSY', 'solo')
    await expectCode(() => log.setGroupOffsets('solo', [{ topic: 't', partition: 0, offset: 0 }]), 'TRIB_LOG_GROUP_BUSY', 'solo')
    const other = log.consumer({ group: 'other group/with odd chars', topics: ['t'] })
    await other.close()
    await first.close()
    await log.setGroupOffsets('solo', [{ topic: 't', partition: 0, offset: 1 }])
    const again = log.consumer({ group: 'solo', topics: ['t'] })
    expect(await again.poll({ maxWaitMs: 0 })).toEqual([])
    expect(again.caughtUp()).toBe(true)
    await again.close()
    await log.close()
  })

  it('splits a group between static members, one live member per partition', async () => {
    const log = await openEmbeddedLog({ dir: tempDir() })
    await log.ensureTopic('split', { partitions: 5 })
    await log.append([0, 1, 2, 3, 4].map((p) => ({ topic: 'split', partition: p, key: null, value: b(`p${p}`) })))
    const even = log.consumer({ group: 'g', topics: ['split'], member: { index: 0, count: 2 } })
    const odd = log.consumer({ group: 'g', topics: ['split'], member: { index: 1, count: 2 } })
    expect(even.assignment().map((a) => a.partition)).toEqual([0, 2, 4])
    expect(odd.assignment().map((a) => a.partition)).toEqual([1, 3])
    expect((await odd.poll({ maxWaitMs: 0 })).map((r) => r.value?.toString()).sort()).toEqual(['p1', 'p3'])
    // A whole-group consumer or an overlapping member cannot join while those partitions are held.
    await expectCode(() => log.consumer({ group: 'g', topics: ['split'] }), 'TRIB_LOG_GROUP_BUSY', 'split-0')
    await expectCode(() => log.consumer({ group: 'g', topics: ['split'], member: { index: 1, count: 3 } }), 'TRIB_LOG_GROUP_BUSY')
    await expectCode(() => log.consumer({ group: 'g', topics: ['split'], member: { index: 2, count: 2 } }), 'TRIB_USAGE')
    // Each member commits only its own partitions; the group's offsets are the union.
    await expectCode(() => even.commit({ offsets: [{ topic: 'split', partition: 1, offset: 1 }] }), 'TRIB_USAGE', 'split-1')
    await odd.commit({ offsets: [{ topic: 'split', partition: 1, offset: 1 }, { topic: 'split', partition: 3, offset: 1 }] })
    await even.commit({ offsets: [{ topic: 'split', partition: 0, offset: 1 }] })
    expect((await log.groupOffsets('g')).map((o) => [o.partition, o.offset]).sort()).toEqual([[0, 1], [1, 1], [3, 1]])
    await even.close()
    await odd.close()
    const whole = log.consumer({ group: 'g', topics: ['split'] })
    expect((await whole.poll({ maxWaitMs: 0 })).map((r) => r.value?.toString()).sort()).toEqual(['p2', 'p4'])
    await whole.close()
    await log.close()
  })

  it('checks committed offsets and refuses commits without a group', async () => {
    const log = await openEmbeddedLog({ dir: tempDir() })
    await log.append([{ topic: 't', key: null, value: b('x') }])
    await expectCode(() => log.setGroupOffsets('g', [{ topic: 't', partition: 0, offset: 2 }]), 'TRIB_OFFSET_OUT_OF_RANGE', 't-0')
    await expectCode(() => log.setGroupOffsets('g', [{ topic: 'absent', partition: 0, offset: 0 }]), 'TRIB_TOPIC_NOT_FOUND', 'absent')
    const c = log.consumer({ group: null, topics: ['t'] })
    await expectCode(() => c.commit({ offsets: [{ topic: 't', partition: 0, offset: 1 }] }), 'TRIB_USAGE')
    await expectCode(() => c.seek({ topic: 't', partition: 1, offset: 0 }), 'TRIB_TOPIC_INVALID', 't-1')
    await c.close()
    await expectCode(() => c.poll(), 'TRIB_LOG_CLOSED')
    await log.close()
    await expectCode(() => log.append([{ topic: 't', key: null, value: null }]), 'TRIB_LOG_CLOSED')
    await expectCode(() => log.listTopics(), 'TRIB_LOG_CLOSED')
  })

  it('picks up a subscribed topic created after the consumer started', async () => {
    const log = await openEmbeddedLog({ dir: tempDir() })
    const c = log.consumer({ group: 'late', topics: ['later'] })
    expect(c.assignment()).toEqual([])
    expect(await c.poll({ maxWaitMs: 0 })).toEqual([])
    await log.append([{ topic: 'later', key: null, value: b('hello') }])
    expect((await c.poll({ maxWaitMs: 1000 })).map((r) => r.value?.toString())).toEqual(['hello'])
    expect(c.assignment()).toEqual([{ topic: 'later', partition: 0 }])
    await c.close()
    await log.close()
  })

  it("works the same with fsync: 'always' across segment rolls and reopen", async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir, fsync: 'always', segmentBytes: 4096 })
    for (let i = 0; i < 20; i++) await log.append([{ topic: 'sync', key: null, value: Buffer.alloc(500, i) }])
    await log.close()
    const reopened = await openEmbeddedLog({ dir })
    const c = reopened.consumer({ group: null, topics: ['sync'] })
    const got = await c.poll({ maxWaitMs: 0, maxRecords: 100 })
    expect(got.map((r) => r.value![0])).toEqual(Array.from({ length: 20 }, (_, i) => i))
    await c.close()
    await reopened.close()
  })
})
