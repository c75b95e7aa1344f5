import fs from 'node:fs'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import { log as moduleLog } from '../../../connectors/embedded-log/logger.ts'
import { encodeLine } from '../../../connectors/shared/journal.ts'
import { TributaryError } from '../../../runtime/errors.ts'
import { flipByte, leaveDeadWritersLock, snapshotFiles } from './fixtures/damage.ts'
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

async function expectSeeded(dir: string, options: { readOnly?: boolean } = {}): Promise<void> {
  const log = await openEmbeddedLog({ dir, ...options })
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

const lockOf = (dir: string): string => path.join(dir, 'writer.lock')

describe('embedded log recovery: only a dead writer’s unacknowledged append is repaired', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('a journal cut in half: every open refuses it, naming the file and bytes, and nothing on disk changes (issue 10)', async () => {
    const dir = tempDir()
    const log = await openEmbeddedLog({ dir })
    await log.ensureTopic('big', { partitions: 2 })
    for (let i = 0; i < 200; i++) await log.append(Array.from({ length: 20 }, (_, k) => ({ topic: 'big', key: b(`k${k}`), value: Buffer.alloc(500, i) })))
    await log.setGroupOffsets('g', [{ topic: 'big', partition: 0, offset: 100 }])
    await log.close()
    const [journal] = journalFiles(dir)
    const original = fs.readFileSync(journal!)
    let cut = Math.floor(original.length / 2)
    if (original[cut - 1] === 0x0a) cut-- // mid-line, as a cut almost always is
    fs.writeFileSync(journal!, original.subarray(0, cut))
    const damaged = snapshotFiles(dir)

    for (const readOnly of [true, false]) {
      const e = await corruptError(openEmbeddedLog({ dir, readOnly }))
      expect(e.message).toContain(journal)
      expect(e.details).toMatchObject({ file: journal, end: cut })
    }
    expect(snapshotFiles(dir)).toEqual(damaged)

    fs.writeFileSync(journal!, original)
    const restored = await openEmbeddedLog({ dir, readOnly: true })
    expect((await readAll(restored, 'big')).length).toBe(4000)
    expect(await restored.groupOffsets('g')).toEqual([{ topic: 'big', partition: 0, offset: 100 }])
    await restored.close()
  })

  it('a journal cut at a line boundary: the writer marks the partitions whose bytes it no longer commits, and cuts nothing', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    const original = fs.readFileSync(journal!)
    const lastLine = original.lastIndexOf(0x0a, original.length - 2) + 1
    fs.writeFileSync(journal!, original.subarray(0, lastLine)) // the last append's record is gone
    const damaged = snapshotFiles(dir)
    const log = await openEmbeddedLog({ dir })
    const info = (await log.describeTopic('t'))!
    expect(info.partitions.map((p) => p.damaged)).toEqual([expect.stringContaining('holds bytes past its committed end'), expect.stringContaining('holds bytes past its committed end')])
    const e = await corruptError(log.append([{ topic: 't', partition: 0, key: null, value: b('x') }]))
    expect(e.details).toMatchObject({ topic: 't', partition: 0, file: segmentFiles(dir, 't', 0)[0] })
    await log.close()
    expect(snapshotFiles(dir)).toEqual(damaged)
    fs.writeFileSync(journal!, original)
    await expectSeeded(dir)
  })

  it('cuts the torn tails of a writer that died holding the lock, logs them, keeps every acknowledged record', async () => {
    const dir = tempDir()
    await seed(dir)
    const [seg0] = segmentFiles(dir, 't', 0)
    const [seg1] = segmentFiles(dir, 't', 1)
    const [journal] = journalFiles(dir)
    const sizes = [seg0!, seg1!, journal!].map((f) => fs.statSync(f).size)
    fs.appendFileSync(seg0!, Buffer.alloc(37, 0xab))
    fs.appendFileSync(seg1!, b('12345'))
    fs.appendFileSync(journal!, encodeLine({ g: [['g', 't', 0, 6]] }).subarray(0, 20))
    const roll = path.join(path.dirname(seg0!), `${'7'.padStart(20, '0')}.seg`) // a roll at the partition's end
    fs.writeFileSync(roll, b('uncommitted roll'))
    leaveDeadWritersLock(lockOf(dir))

    // Readers leave everything as it is: the next writer decides.
    const untouched = snapshotFiles(dir)
    await expectSeeded(dir, { readOnly: true })
    expect(snapshotFiles(dir)).toEqual(untouched)

    const warn = vi.spyOn(moduleLog, 'warn')
    await expectSeeded(dir)
    expect([seg0!, seg1!, journal!].map((f) => fs.statSync(f).size)).toEqual(sizes)
    expect(fs.existsSync(roll)).toBe(false)
    expect(fs.existsSync(lockOf(dir))).toBe(false)
    expect(warn).toHaveBeenCalledWith({ file: seg0, bytes: 37 }, 'unacknowledged append of a dead writer cut')
    expect(warn).toHaveBeenCalledWith({ file: seg1, bytes: 5 }, 'unacknowledged append of a dead writer cut')
    expect(warn).toHaveBeenCalledWith({ file: journal, bytes: 20 }, 'torn journal line of a dead writer cut')
    expect(warn).toHaveBeenCalledWith({ file: roll, bytes: 16 }, 'unacknowledged segment of a dead writer deleted')

    const log = await openEmbeddedLog({ dir })
    const [pos] = await log.append([{ topic: 't', partition: 0, key: null, value: b('after') }])
    expect(pos).toEqual({ topic: 't', partition: 0, offset: 7 })
    await log.close()
  })

  it('the same tails with no dead writer are damage: the journal refuses to open, a segment marks only its partition', async () => {
    const journalDir = tempDir()
    await seed(journalDir)
    const [journal] = journalFiles(journalDir)
    fs.appendFileSync(journal!, encodeLine({ g: [['g', 't', 0, 6]] }).subarray(0, 20))
    const before = snapshotFiles(journalDir)
    for (const readOnly of [true, false]) expect((await corruptError(openEmbeddedLog({ dir: journalDir, readOnly }))).message).toContain(journal)
    expect(snapshotFiles(journalDir)).toEqual(before)

    const segDir = tempDir()
    await seed(segDir)
    const [seg0] = segmentFiles(segDir, 't', 0)
    const size = fs.statSync(seg0!).size
    fs.appendFileSync(seg0!, Buffer.alloc(37, 0xab))
    const log = await openEmbeddedLog({ dir: segDir })
    expect((await log.describeTopic('t'))!.partitions.map((p) => p.damaged)).toEqual([expect.stringContaining(`${seg0} holds bytes past its committed end`), undefined])
    expect((await corruptError(log.append([{ topic: 't', partition: 0, key: null, value: null }]))).details).toMatchObject({ file: seg0, position: size, end: size + 37 })
    expect((await log.append([{ topic: 't', partition: 1, key: null, value: b('fine') }]))[0]!.offset).toBe(7)
    await log.close()
    expect(fs.statSync(seg0!).size).toBe(size + 37)
  })

  it('a complete last journal line failing its checksum is damage, even after a crash', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    const line = encodeLine({ g: [['g', 't', 0, 6]] })
    line[line.length - 3] = line[line.length - 3]! ^ 0xff
    fs.appendFileSync(journal!, line)
    leaveDeadWritersLock(lockOf(dir))
    const before = snapshotFiles(dir)
    for (const readOnly of [true, false]) {
      const e = await corruptError(openEmbeddedLog({ dir, readOnly }))
      expect(e.message).toMatch(/checksum mismatch at bytes \d+\.\.\d+ \(line 6\)/)
    }
    expect(snapshotFiles(dir)).toEqual(before)
  })

  it('a damaged segment of one topic affects only that topic, for readers and writers', async () => {
    const dir = tempDir()
    await seed(dir)
    const other = await openEmbeddedLog({ dir })
    await other.append([{ topic: 'other', partition: 0, key: null, value: b('unrelated') }])
    await other.close()
    const [seg0] = segmentFiles(dir, 't', 0)
    flipByte(seg0!, fs.statSync(seg0!).size - 10) // inside the last committed batch
    const before = snapshotFiles(dir)

    for (const readOnly of [true, false]) {
      const log = await openEmbeddedLog({ dir, readOnly })
      const topics = await log.listTopics()
      expect(topics.map((t) => [t.name, t.partitions.map((p) => p.damaged !== undefined)])).toEqual([
        ['other', [false]],
        ['t', [true, false]],
      ])
      expect(topics[1]!.partitions[0]!.damaged).toContain(seg0)
      expect((await readAll(log, 'other')).map((r) => r.value?.toString())).toEqual(['unrelated'])
      const e = await corruptError(readAll(log, 't'))
      expect(e.details).toMatchObject({ topic: 't', partition: 0, file: seg0 })
      if (!readOnly) {
        await corruptError(log.append([{ topic: 't', partition: 0, key: null, value: null }]))
        await log.append([{ topic: 'other', partition: 0, key: null, value: b('still writable') }])
      }
      await log.close()
    }
    expect(snapshotFiles(dir)[path.relative(dir, seg0!)]).toBe(before[path.relative(dir, seg0!)])
  })

  it('a damaged older record is reported when a reader reaches it, and marks its partition', async () => {
    const dir = tempDir()
    await seed(dir)
    const [seg0] = segmentFiles(dir, 't', 0)
    flipByte(seg0!, 36) // inside the value of offset 0
    const log = await openEmbeddedLog({ dir })
    try {
      expect((await log.describeTopic('t'))!.partitions[0]!.damaged).toBeUndefined() // found only by reading
      const e = await corruptError(readAll(log, 't'))
      expect(e.message).toContain(seg0)
      expect(e.details).toMatchObject({ file: seg0, topic: 't', partition: 0, offset: 0, position: 0 })
      expect((await log.describeTopic('t'))!.partitions[0]!.damaged).toContain('checksum mismatch')
    } finally {
      await log.close()
    }
  })

  it('a missing or short segment marks its partition, and the log still opens', async () => {
    const short = tempDir()
    await seed(short)
    const [seg1] = segmentFiles(short, 't', 1)
    fs.truncateSync(seg1!, 30)
    const a = await openEmbeddedLog({ dir: short })
    expect((await a.describeTopic('t'))!.partitions.map((p) => p.damaged)).toEqual([undefined, expect.stringMatching(/is 30 bytes but \d+ are committed/)])
    await a.close()

    const missing = tempDir()
    await seed(missing)
    const [seg0] = segmentFiles(missing, 't', 0)
    fs.unlinkSync(seg0!)
    const m = await openEmbeddedLog({ dir: missing, readOnly: true })
    expect((await m.describeTopic('t'))!.partitions[0]!.damaged).toContain(`${seg0} is missing`)
    await m.close()
  })

  it('keeps segment files the journal never committed when no writer died, and reports them', async () => {
    const dir = tempDir()
    await seed(dir)
    const stray = path.join(dir, 'topics', 't', '0', `${'7'.padStart(20, '0')}.seg`)
    const ghost = path.join(dir, 'topics', 'ghost', '0', `${'0'.padStart(20, '0')}.seg`)
    fs.writeFileSync(stray, b('a roll nobody committed'))
    fs.mkdirSync(path.dirname(ghost), { recursive: true })
    fs.writeFileSync(ghost, b('a topic nobody created'))
    leaveDeadWritersLock(`${lockOf(dir)}.unrelated`) // not the writer lock: no crash
    const log = await openEmbeddedLog({ dir })
    expect((await log.describeTopic('t'))!.partitions[0]!.damaged).toContain(`${stray} is a segment file the journal never committed`)
    expect((log as unknown as { stray: Array<{ file: string }> }).stray.map((s) => s.file)).toEqual([ghost])
    // Creating the topic later never overwrites what is there.
    await corruptError(log.append([{ topic: 'ghost', partition: 0, key: null, value: null }]))
    await log.close()
    expect(fs.readFileSync(stray, 'utf8')).toBe('a roll nobody committed')
    expect(fs.readFileSync(ghost, 'utf8')).toBe('a topic nobody created')
  })

  it('takes back an append whose journal write failed: nothing torn stays behind a live writer', async () => {
    const dir = tempDir()
    await seed(dir)
    const log = await openEmbeddedLog({ dir })
    const [seg0] = segmentFiles(dir, 't', 0)
    const [journal] = journalFiles(dir)
    const sizes = [seg0!, journal!].map((f) => fs.statSync(f).size)
    const real = fs.writeSync.bind(fs)
    let failed = false
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, ...rest: unknown[]) => {
      const isJournal = fs.fstatSync(fd).ino === fs.statSync(journal!).ino
      if (isJournal && !failed) {
        failed = true
        real(fd, buf, 0, 5, rest[2] as number) // a few bytes land, then the disk fails
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      }
      return (real as (...a: unknown[]) => number)(fd, buf, ...rest)
    }) as typeof fs.writeSync)
    await expect(log.append([{ topic: 't', partition: 0, key: null, value: b('lost') }])).rejects.toThrow(/ENOSPC/)
    vi.restoreAllMocks()
    expect([seg0!, journal!].map((f) => fs.statSync(f).size)).toEqual(sizes)
    expect((await log.append([{ topic: 't', partition: 0, key: null, value: b('kept') }]))[0]!.offset).toBe(7)
    await log.close()
    const reopened = await openEmbeddedLog({ dir })
    expect((await readAll(reopened, 't')).filter((r) => r.partition === 0).map((r) => r.value?.toString()).at(-1)).toBe('kept')
    expect((await reopened.describeTopic('t'))!.partitions.every((p) => p.damaged === undefined)).toBe(true)
    await reopened.close()
  })

  it('refuses a journal that is garbage from the start, and segment files without a journal', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    fs.writeFileSync(journal!, Buffer.from(Array.from({ length: 300 }, (_, i) => 0x30 + ((i * 97 + 13) % 40))))
    expect((await corruptError(openEmbeddedLog({ dir }))).message).toContain(journal)

    const noJournal = tempDir()
    await seed(noJournal)
    fs.rmSync(path.join(noJournal, 'journal'), { recursive: true })
    await corruptError(openEmbeddedLog({ dir: noJournal, readOnly: true }))
    await corruptError(openEmbeddedLog({ dir: noJournal }))
    expect(fs.existsSync(path.join(noJournal, 'journal'))).toBe(false)
  })

  it('opens a journal in the binary format of earlier releases; the first writer converts it', async () => {
    const dir = tempDir()
    await seed(dir)
    const [journal] = journalFiles(dir)
    const frames = fs
      .readFileSync(journal!, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const json = Buffer.from(line.slice(9))
        const head = Buffer.alloc(8)
        head.writeUInt32BE(json.length, 0)
        head.writeUInt32BE(crc32(json), 4)
        return Buffer.concat([head, json])
      })
    fs.writeFileSync(journal!, Buffer.concat(frames))
    const before = snapshotFiles(dir)
    await expectSeeded(dir, { readOnly: true })
    expect(snapshotFiles(dir)).toEqual(before)
    await expectSeeded(dir)
    const [converted] = journalFiles(dir)
    expect(converted).not.toBe(journal)
    expect(fs.readFileSync(converted!, 'utf8')).toMatch(/^[0-9a-f]{8} \{"c":1/)
    await expectSeeded(dir)
  })

  it('opened read-only, creates nothing where no log exists', async () => {
    const dir = path.join(tempDir(), 'nothing-here')
    const log = await openEmbeddedLog({ dir, readOnly: true })
    expect(await log.listTopics()).toEqual([])
    await expect(log.append([{ topic: 't', key: null, value: null }])).rejects.toMatchObject({ code: 'TRIB_USAGE' })
    expect(() => log.consumer({ group: 'g', topics: ['t'] })).not.toThrow() // the topic does not exist yet
    await log.close()
    expect(fs.existsSync(dir)).toBe(false)
  })
})
