import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openMemoryLog } from '../../../connectors/memory-log/index.ts'
import { eventIdMajor } from '../../../runtime/http/events.ts'
import { readVersionBook, registerMajors, VERSIONS_TOPIC, writePromotion, writeRetirement } from '../../../runtime/lifecycle/book.ts'
import { instanceName, majorOf, parseMajor, versionedTopic } from '../../../runtime/lifecycle/versions.ts'
import { loadProduct } from '../../../runtime/product/load.ts'
import { failure, productsDir, repoRoot } from '../../helpers/runtime.ts'

const v1 = loadProduct(path.join(productsDir, 'user-profiles'))
const v2 = loadProduct(path.join(repoRoot, 'test/fixtures/versions/user-profiles-v2'))

describe('major versions', () => {
  it('name a major 2 and later apart from major 1, which keeps the plain names', () => {
    expect([majorOf('1.0.0'), majorOf('2.3.4-rc.1'), majorOf('0.1.0')]).toEqual([1, 2, 0])
    expect(() => majorOf('2')).toThrow(/not semver/)
    expect([instanceName('p', 0), instanceName('p', 1), instanceName('p', 2)]).toEqual(['p', 'p', 'p.v2'])
    expect(versionedTopic('user-profiles', 2, 'user-profiles.profiles')).toBe('user-profiles.v2.profiles')
    expect(versionedTopic('user-profiles', 3, 'shared.profiles')).toBe('shared.profiles.v3')
    expect(versionedTopic('user-profiles', 1, 'user-profiles.profiles')).toBe('user-profiles.profiles')
    expect(['2', 'v2', '2.0.0', 'x', 'v'].map(parseMajor)).toEqual([2, 2, 2, undefined, undefined])

    expect([v1.name, v1.base, v1.major, v1.dlqTopic, v1.outputs[0]!.spec.topic]).toEqual(['user-profiles', 'user-profiles', 1, 'user-profiles.dlq', 'user-profiles.profiles'])
    expect([v2.name, v2.base, v2.major, v2.dlqTopic, v2.outputs[0]!.spec.topic]).toEqual(['user-profiles.v2', 'user-profiles', 2, 'user-profiles.v2.dlq', 'user-profiles.v2.profiles'])
    // Same inputs.
    expect(v2.inputs.map((i) => i.spec.topic)).toEqual(v1.inputs.map((i) => i.spec.topic))
  })

  it('the version book: registered majors, the served one, promotion and retirement', async () => {
    const log = openMemoryLog()
    await log.ensureTopic('registration.public.users', { partitions: 2 })
    await log.append([{ topic: 'registration.public.users', partition: 1, key: null, value: Buffer.from('x') }])
    const book = await readVersionBook(log)
    expect(book.served('user-profiles', [2, 1])).toBe(1) // before anything ran: the lowest major loaded

    await registerMajors(log, book, [v2])
    expect(book.served('user-profiles', [1, 2])).toBe(2) // only major 2 ever ran
    await registerMajors(log, book, [v1, v2])
    expect(book.major('user-profiles', 2)!.backfillTo).toEqual([
      { topic: 'registration.public.users', partition: 0, offset: 0 },
      { topic: 'registration.public.users', partition: 1, offset: 1 },
    ])
    expect(book.served('user-profiles')).toBe(1)

    expect((await failure(writeRetirement(log, book, 'user-profiles', 1, new Date(), 'ops'))).message).toMatch(/v1 is the major its plain names serve: promote another major first/)
    expect((await failure(writePromotion(log, book, 'user-profiles', 3, 'ops'))).code).toBe('TRIB_VERSION_STATE')
    await writePromotion(log, book, 'user-profiles', 2, 'ops')
    expect(book.status('user-profiles', 1)).toBe('running')
    expect(book.status('user-profiles', 2)).toBe('promoted')

    const now = Date.now()
    await writeRetirement(log, book, 'user-profiles', 1, new Date(now + 60_000), 'ops')
    expect(book.status('user-profiles', 1, [], now)).toBe('retiring')
    expect(book.status('user-profiles', 1, [], now + 60_000)).toBe('retired')
    expect((await failure(writePromotion(log, book, 'user-profiles', 1, 'ops'))).message).toMatch(/retired/)

    // What one process wrote, another reads: the book is the topic.
    const again = await readVersionBook(log)
    expect(again.status('user-profiles', 2)).toBe('promoted')
    expect(again.major('user-profiles', 1)!.retireAt).toBe(new Date(now + 60_000).toISOString())
    expect((await log.describeTopic(VERSIONS_TOPIC))!.partitions).toHaveLength(1)
  })

  it('event ids carry their major; ids from before majors belong to the plain-named one', () => {
    expect(eventIdMajor('2@0:13,1:40')).toBe(2)
    expect(eventIdMajor('0:13,1:40')).toBe('legacy')
    expect(eventIdMajor('latest')).toBeUndefined()
  })
})
