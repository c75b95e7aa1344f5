import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import { encodeLine } from '../../../connectors/shared/journal.ts'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { journalFiles, readAll, tempDir } from './fixtures/tmp.ts'

const b = (s: string): Buffer => Buffer.from(s)
const seqOf = (file: string): number => Number(path.basename(file, '.jrn'))

describe('embedded log journal', () => {
  it('rotates past journalBytes into a file that starts with a full checkpoint; readers follow', async () => {
    const dir = tempDir()
    const writer = await openEmbeddedLog({ dir, journalBytes: 4096 })
    const reader = await openEmbeddedLog({ dir, journalBytes: 4096 })
    await writer.ensureTopic('t', { partitions: 2 })
    await writer.setGroupOffsets('early', [{ topic: 't', partition: 0, offset: 0 }])
    const consumer = reader.consumer({ group: null, topics: ['t'] })
    const streamed: LogRecord[] = []
    const append = (i: number): Promise<unknown> => writer.append([{ topic: 't', partition: i % 2, key: null, value: b(`r${i}`) }])
    // Phase 1: the reader keeps up and crosses each rotation through its marker.
    for (let i = 0; i < 300; i++) {
      await append(i)
      if (i % 10 === 0) streamed.push(...(await consumer.poll({ maxWaitMs: 0, maxRecords: 5000 })))
    }
    const seqAfterPhase1 = seqOf(journalFiles(dir)[0]!)
    expect(seqAfterPhase1).toBeGreaterThanOrEqual(2)
    // Phase 2: the reader falls several rotations behind and must jump to the newest file.
    for (let i = 300; i < 1000; i++) await append(i)
    expect(seqOf(journalFiles(dir)[0]!)).toBeGreaterThanOrEqual(seqAfterPhase1 + 3)
    expect((await reader.describeTopic('t'))?.partitions.map((p) => p.end)).toEqual([500, 500])
    for (let got = await consumer.poll({ maxWaitMs: 0 }); got.length > 0; got = await consumer.poll({ maxWaitMs: 0 })) streamed.push(...got)
    expect(streamed.map((r) => r.value?.toString()).sort()).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`).sort())

    const files = journalFiles(dir)
    expect(files).toHaveLength(1)
    await consumer.close()
    await reader.close()
    await writer.close()

    const reopened = await openEmbeddedLog({ dir })
    const records = await readAll(reopened, 't')
    expect(records.map((r) => r.value?.toString()).sort()).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`).sort())
    expect(await reopened.groupOffsets('early')).toEqual([{ topic: 't', partition: 0, offset: 0 }])
    await reopened.close()
  })

  it('finishes a rotation a writer died in the middle of', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir })
    await log.append([{ topic: 't', key: null, value: b('before') }])
    await log.setGroupOffsets('g', [{ topic: 't', partition: 0, offset: 1 }])
    await log.close()
    const [journal] = journalFiles(dir)
    const next = seqOf(journal!) + 1
    // Marker written, new file still a .tmp (the writer died before the rename).
    fs.appendFileSync(journal!, encodeLine({ r: next }))
    fs.writeFileSync(path.join(dir, 'journal', `${String(next).padStart(12, '0')}.jrn.tmp`), b('half written'))

    const reopened = await openEmbeddedLog({ dir })
    const files = journalFiles(dir)
    expect(files.map(seqOf)).toEqual([next])
    expect(fs.readdirSync(path.join(dir, 'journal')).filter((f) => f.endsWith('.tmp'))).toEqual([])
    await reopened.append([{ topic: 't', key: null, value: b('after') }])
    expect((await readAll(reopened, 't')).map((r) => r.value?.toString())).toEqual(['before', 'after'])
    expect(await reopened.groupOffsets('g')).toEqual([{ topic: 't', partition: 0, offset: 1 }])
    await reopened.close()
  })

  it('reads journal records larger than its read buffer, written by another instance', async () => {
    const dir = tempDir()
    const writer = await openEmbeddedLog({ dir })
    const reader = await openEmbeddedLog({ dir })
    await writer.ensureTopic('wide', { partitions: 5000 })
    const offsets = Array.from({ length: 5000 }, (_, partition) => ({ topic: 'wide', partition, offset: 0 }))
    await writer.setGroupOffsets('big-commit', offsets)
    expect(await reader.groupOffsets('big-commit')).toEqual(offsets)
    await writer.close()
    await reader.close()
    const reopened = await openEmbeddedLog({ dir })
    expect(await reopened.groupOffsets('big-commit')).toHaveLength(5000)
    await reopened.close()
  })
})
