import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AUDIT_BRANCH, OFFSETS_PROPERTY, TOPIC_PROPERTY, auditIsAhead, offsetsCovered, resumePoint } from '../../../runtime/compactor/resume.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { failure } from '../../helpers/runtime.ts'
import { tempLakes } from '../lake/support.ts'

/**
 * Where a compactor resumes when other writers commit to its table (resume.ts): the offsets of the
 * newest snapshot in the head's lineage that recorded them, across foreign snapshots and expiry;
 * the audit branch restarted at main when main moved without it; a history cut before any offsets
 * refused, never guessed.
 */
const lakes = tempLakes('trib-resume-')
const avroSchema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] }
const log = moduleLogger('test')
const ours = (offsets: Record<number, number>) => ({ [TOPIC_PROPERTY]: 't', [OFFSETS_PROPERTY]: JSON.stringify(offsets) })

describe('resuming after other writers', () => {
  it('takes the offsets of the newest snapshot that recorded them, across foreign snapshots and an expiry', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema })
    await t.newSnapshot({ addRows: [{ id: 1 }], summary: ours({ 0: 5 }) })
    const mine = await t.newSnapshot({ addRows: [{ id: 2 }], summary: ours({ 0: 9, 1: 4 }) })
    // Two foreign commits on top, then an expiry of everything but the head: its parent is gone.
    await t.newSnapshot({ addRows: [{ id: 3 }] })
    const head = await t.newSnapshot({ addRows: [{ id: 4 }], summary: { [TOPIC_PROPERTY]: 'other-topic', [OFFSETS_PROPERTY]: '{"0":100}' } })
    await t.expireSnapshots({ olderThanMs: Date.now() + 60_000, retainLast: 1 })
    expect(t.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([head['snapshot-id']])
    expect(await offsetsCovered(t, t.snapshot()!, 't')).toEqual(new Map([[0, 9], [1, 4]]))
    // A snapshot of another topic's compactor is not ours.
    expect(await offsetsCovered(t, t.snapshot()!, 'other-topic')).toEqual(new Map([[0, 100]]))
    expect(mine['snapshot-id']).not.toBe(head['snapshot-id'])
  })

  it('starts from the beginning on a table whose whole history records none, and refuses a cut history', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema })
    await t.newSnapshot({ addRows: [{ id: 1 }] })
    expect(await offsetsCovered(t, t.snapshot()!, 't')).toEqual(new Map())

    await t.newSnapshot({ addRows: [{ id: 2 }], summary: ours({ 0: 3 }) })
    await t.newSnapshot({ addRows: [{ id: 3 }] })
    await t.expireSnapshots({ olderThanMs: Date.now() + 60_000, retainLast: 1 })
    // Every earlier version gone (a writer that deletes old metadata): the history cannot be followed.
    for (const f of fs.readdirSync(path.join(lake.dir, 'metadata'))) {
      if (/^v\d+\.metadata\.json$/.test(f) && f !== path.basename(new URL(t.metadataFile).pathname)) fs.rmSync(path.join(lake.dir, 'metadata', f))
    }
    const e = await failure(offsetsCovered(t, t.snapshot()!, 't'))
    expect(e).toMatchObject({ code: 'TRIB_LAKE_OFFSETS_UNKNOWN', retriable: false })
    expect(e.message).toContain(`snapshot ${t.snapshot()!['snapshot-id']} covers input offsets of topic t that no snapshot records any more`)
  })

  it('refuses a snapshot that names the topic without its offsets (a damaged summary) instead of starting over', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema })
    await t.newSnapshot({ addRows: [{ id: 1 }], summary: ours({ 0: 3 }) })
    // As a garbled metadata file that still parses can leave it: the offsets key is gone.
    const damaged = await t.newSnapshot({ addRows: [{ id: 2 }], summary: { [TOPIC_PROPERTY]: 't', 'total-files-si~~~tributary.offsets': '{"0":5}' } })
    const e = await failure(offsetsCovered(t, t.snapshot()!, 't'))
    expect(e).toMatchObject({ code: 'TRIB_LAKE_CORRUPT', retriable: false })
    expect(e.message).toContain(`snapshot ${damaged['snapshot-id']} names topic t (${TOPIC_PROPERTY}) but records no ${OFFSETS_PROPERTY}`)
    await expect(resumePoint(t, 't', log)).rejects.toMatchObject({ code: 'TRIB_LAKE_CORRUPT' })
  })

  it('restarts the audit branch at main when main moved without it, and leaves it when it is ahead', async () => {
    const lake = await lakes()
    const t = await lake.create({ avroSchema })
    const published = await t.newSnapshot({ branch: AUDIT_BRANCH, addRows: [{ id: 1 }], summary: ours({ 0: 1 }) })
    await t.fastForward(AUDIT_BRANCH)
    // Ahead: a commit on audit not yet published.
    const pending = await t.newSnapshot({ branch: AUDIT_BRANCH, addRows: [{ id: 2 }], summary: ours({ 0: 2 }) })
    expect(await auditIsAhead(t)).toBe(true)
    expect(await resumePoint(t, 't', log)).toMatchObject({ head: { 'snapshot-id': pending['snapshot-id'] }, offsets: new Map([[0, 2]]) })

    // Another writer commits to main: audit's pending snapshot is not in main any more.
    const foreign = await t.newSnapshot({ addRows: [{ id: 3 }] })
    expect(foreign['parent-snapshot-id']).toBe(published['snapshot-id'])
    expect(await auditIsAhead(t)).toBe(false)
    const resumed = await resumePoint(t, 't', log)
    expect(t.metadata.refs[AUDIT_BRANCH]?.['snapshot-id']).toBe(foreign['snapshot-id'])
    // So the records of the dropped pending snapshot are read again: main covers offset 1 only.
    expect(resumed).toMatchObject({ head: { 'snapshot-id': foreign['snapshot-id'] }, offsets: new Map([[0, 1]]) })
  })
})
