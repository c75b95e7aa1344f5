import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import { frameEntry } from '../../../connectors/embedded-log/journal.ts'
import { log as moduleLog } from '../../../connectors/embedded-log/logger.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import { journalFiles, readAll, segmentFiles, tempDir } from './fixtures/tmp.ts'

const b = (s: string): Buffer => Buffer.from(s)

/** 14 records over two partitions in two batches, plus a committed group offset. */
async function seed(dir: string): Promise<void> {
  const log = await openEmbeddedLog({ dir })
  await log.ensureTopic('t', { partitions: 2 })
  await log.append(Array.from({ length: 10 }, (_, i) => ({ topic: 't', partition: i % 2, key: b(`k${i}`), value: b(`value-${i}`) })))
  await log.setGroupOffsets('g', [{ topic: 't', partition: 0, offset: 3 }])
  await log.append(Array.from({ length: 4 }, (_, i) => ({ topic: 't', partition: i % 2, key: b(`k${10 + i}`), value: b(`value-${10 + i}`) })))
  await log.close()
}

async function expectSeeded(dir: string): Promise<void> {
  const log = await openEmbeddedLog({ dir })
  try {
    const records = await readAll(log, 't')
    expect(records.map((r) => [r.partition, r.offset, r.value?.toString()])).toEqual([
      ...[0, 2, 4, 6, 8, 10, 12].map((v, o) => [0, o, `value-${v}`]),
      ...[1, 3, 5, 7, 9, 11, 13].map((v, o) => [1, o, `value-${v}`]),
    ])
    expect(await log.groupOffsets('g')).toEqual([{ topic: 't', partition: 0, offset: 3 }])
  } finally {
    await log.close()
  }
}

async function corruptError(promise: Promise<unknown>): Promise<TributaryError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(TributaryError)
  expect((e as TributaryError).code).toBe('TRIB_LOG_CORRUPT')
  return e as TributaryError
}

const flipByte = (file: string, position: number): void => {
  const fd = fs.openSync(file, 'r+')
  const one = Buffer.alloc(1)
  fs.readSync(fd, one, 0, 1, position)
  one[0] = one[0]! ^ 0x5a
  fs.writeSync(fd, one, 0, 1, position)
  fs.closeSync(fd)
}

describe('embedded log recovery', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('truncates torn tails of segments and journal on open, logs them, keeps every committed record', async () => {
    const dir = tempDir()
    await seed(dir)
    const [seg0] = segmentFiles(dir, 't', 0)
    const [seg1] = segmentFiles(dir, 't', 1)
    const [journal] = journalFiles(dir)
    const sizes = [seg0!, seg1!, journal!].map((f) => fs.statSync(f).size)
    fs.appendFileSync(seg0!, Buffer.alloc(37, 0xab))
    fs.appendFileSync(seg1!, b('12345'))
    const partial = frameEntry({ g: [['g', 't', 0, 6]] }).subarray(0, 20)
    fs.appendFileSync(journal!, partial)

    const warn = vi.spyOn(moduleLog, 'warn')
    await expectSeeded(dir)
    expect([seg0!, seg1!, journal!].map((f) => fs.statSync(f).size)).toEqual(sizes)
    expect(warn).toHaveBeenCalledWith({ file: seg0, bytes: 37 }, 'torn tail truncated')
    expect(warn).toHaveBeenCalledWith({ file: seg1, bytes: 5 }, 'torn tail truncated')
    expect(warn).toHaveBeenCalledWith({ file: journal, bytes: 20 }, 'torn tail truncated')

    const log = await openEmbeddedLog({ dir })
    const [pos] = await log.append([{ topic: 't', partition: 0, key: null, value: b('after') }])
    expect(pos).toEqual({ topic: 't', partition: 0, offset: 7 })
    await log.close()
  })

  it.each([
    ['a last record with a bad checksum', (): Buffer => {
      const frame = frameEntry({ g: [['g', 't', 0, 6]] })
      frame[frame.length - 3] = frame[frame.length - 3]! ^ 0xff
      return frame
    }],
    ['a zero-filled tail', (): Buffer => Buffer.alloc(64)],
  ])('treats %s in the journal as torn', async (_name, tail) => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    const size = fs.statSync(journal!).size
    fs.appendFileSync(journal!, tail())
    const warn = vi.spyOn(moduleLog, 'warn')
    await expectSeeded(dir)
    expect(fs.statSync(journal!).size).toBe(size)
    expect(warn).toHaveBeenCalledWith({ file: journal, bytes: tail().length }, 'torn tail truncated')
  })

  it('refuses a damaged record in the last committed batch on open, naming the file', async () => {
    const dir = tempDir()
    await seed(dir)
    const [seg0] = segmentFiles(dir, 't', 0)
    flipByte(seg0!, fs.statSync(seg0!).size - 10)
    const e = await corruptError(openEmbeddedLog({ dir }))
    expect(e.message).toContain(seg0)
    expect(e.details.file).toBe(seg0)
  })

  it('reports a damaged older record when a reader reaches it, naming file and offset', async () => {
    const dir = tempDir()
    await seed(dir)
    const [seg0] = segmentFiles(dir, 't', 0)
    flipByte(seg0!, 36) // inside the value of offset 0
    const log = await openEmbeddedLog({ dir })
    try {
      const e = await corruptError(readAll(log, 't'))
      expect(e.message).toContain(seg0)
      expect(e.details).toMatchObject({ file: seg0, topic: 't', partition: 0, offset: 0, position: 0 })
    } finally {
      await log.close()
    }
  })

  it('refuses a journal damaged before its last record', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    const firstLength = 8 + fs.readFileSync(journal!).readUInt32BE(0)
    flipByte(journal!, firstLength + 12) // inside the second record; more records follow it
    const e = await corruptError(openEmbeddedLog({ dir }))
    expect(e.message).toContain(journal)
  })

  it('refuses a journal that is garbage from the start', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    fs.writeFileSync(journal!, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff)))
    const e = await corruptError(openEmbeddedLog({ dir }))
    expect(e.message).toContain(journal)
  })

  it('refuses segment files without a journal, and a committed segment that is short or missing', async () => {
    const noJournal = tempDir()
    await seed(noJournal)
    fs.rmSync(path.join(noJournal, 'journal'), { recursive: true })
    await corruptError(openEmbeddedLog({ dir: noJournal }))

    const short = tempDir()
    await seed(short)
    const [seg1] = segmentFiles(short, 't', 1)
    fs.truncateSync(seg1!, 30)
    expect((await corruptError(openEmbeddedLog({ dir: short }))).message).toContain(seg1)

    const missing = tempDir()
    await seed(missing)
    const [seg0] = segmentFiles(missing, 't', 0)
    fs.unlinkSync(seg0!)
    expect((await corruptError(openEmbeddedLog({ dir: missing }))).message).toContain(seg0)
  })

  it('deletes segment files the journal never committed', async () => {
    const dir = tempDir()
    await seed(dir)
    const stray = path.join(dir, 'topics', 't', '0', `${'7'.padStart(20, '0')}.seg`)
    const ghost = path.join(dir, 'topics', 'ghost', '0', `${'0'.padStart(20, '0')}.seg`)
    fs.writeFileSync(stray, b('uncommitted roll'))
    fs.mkdirSync(path.dirname(ghost), { recursive: true })
    fs.writeFileSync(ghost, b('uncommitted topic'))
    const warn = vi.spyOn(moduleLog, 'warn')
    await expectSeeded(dir)
    expect(fs.existsSync(stray)).toBe(false)
    expect(fs.existsSync(ghost)).toBe(false)
    expect(warn).toHaveBeenCalledWith({ file: stray, bytes: 16 }, 'uncommitted segment deleted')
    expect(warn).toHaveBeenCalledWith({ file: ghost, bytes: 17 }, 'uncommitted segment deleted')
  })
})
