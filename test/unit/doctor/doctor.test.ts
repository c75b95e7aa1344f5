import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../../connectors/embedded-log/index.ts'
import { openEmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { loadConfig } from '../../../runtime/config/load.ts'
import { examine, formatReport, repair, type DoctorReport } from '../../../runtime/doctor/doctor.ts'
import { tableId, tableRequest } from '../../../runtime/lake/index.ts'
import { openTestLake } from '../../helpers/lake.ts'
import type { LogRecord } from '../../../runtime/log/log.ts'
import { StateDb } from '../../../runtime/state/db.ts'
import { tempDir } from '../../helpers/runtime.ts'
import { flipByte, leaveDeadWritersLock, snapshotFiles } from '../embedded-log/fixtures/damage.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** A value in the Confluent wire format: magic 0, schema id, then an (opaque here) body. */
const framed = (schemaId: number, body: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, schemaId]), Buffer.from(body)])

/** A data folder with every part: log (2 topics), registry (3 schemas), a state store, a lake table with 3 versions. */
async function dataFolder(): Promise<string> {
  const dir = tempDir('trib-doctor-')
  dirs.push(dir)
  const registry = await openEmbeddedRegistry({ dir: path.join(dir, 'registry') })
  for (const n of ['a', 'b', 'c']) await registry.register(`${n}-value`, { type: 'record', name: n, fields: [{ name: 'x', type: 'long' }] })
  await registry.close()
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log') })
  await log.ensureTopic('a', { partitions: 2 })
  for (let i = 0; i < 50; i++) await log.append(Array.from({ length: 10 }, (_, k) => ({ topic: 'a', partition: k % 2, key: null, value: framed(3, `a-${i}-${k}`.padEnd(200, '.')) })))
  await log.append(Array.from({ length: 20 }, (_, k) => ({ topic: 'b', partition: 0, key: null, value: Buffer.from(`b-${k}`) })))
  await log.setGroupOffsets('g', [{ topic: 'a', partition: 0, offset: 100 }])
  await log.close()
  const db = StateDb.open(path.join(dir, 'state', 'p', '0'))
  db.apply('kv', [['k1', 'one'], ['k2', 'two']], [{ topic: 'a', partition: 0, offset: 5 }])
  await db.close()
  const lake = await openTestLake(pathToFileURL(path.join(dir, 'lake')).href)
  try {
    const table = await lake.catalog.createTable(tableId('p', 't'), tableRequest({ avroSchema: { type: 'record', name: 'r', fields: [{ name: 'id', type: 'long' }] } }))
    await table.newSnapshot({ addRows: [{ id: 1 }, { id: 2 }] })
    await table.newSnapshot({ addRows: [{ id: 3 }] })
  } finally {
    await lake.close()
  }
  return dir
}

const config = (dir: string) => loadConfig({ env: {}, flags: { dataDir: dir } })
const damaged = (report: DoctorReport) => report.findings.filter((f) => !f.ok)
const finding = (report: DoctorReport, subject: string) => report.findings.find((f) => f.subject === subject)!

async function readAll(dir: string, topic: string): Promise<LogRecord[]> {
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), readOnly: true })
  const consumer = log.consumer({ group: null, topics: [topic] })
  const out: LogRecord[] = []
  for (let got = await consumer.poll({ maxWaitMs: 0, maxRecords: 10_000 }); got.length > 0; got = await consumer.poll({ maxWaitMs: 0, maxRecords: 10_000 })) out.push(...got)
  await log.close()
  return out
}

describe('tributary doctor', () => {
  it('reports every part of a sound data folder as intact, and offers no repair', async () => {
    const dir = await dataFolder()
    const report = await examine(config(dir))
    expect(damaged(report)).toEqual([])
    expect(report.findings.map((f) => `${f.part} ${f.subject}`)).toEqual([
      'log log/journal/000000000000.jrn',
      'log log/topics/a/0',
      'log log/topics/a/1',
      'log log/topics/b/0',
      'registry registry/registry.jsonl',
      'state state/p/0',
      'lake p/t',
    ])
    expect(finding(report, 'log/topics/a/0').detail).toMatch(/^offsets 0\.\.249 intact \([\d,]+ bytes in 1 segment\)$/)
    expect(finding(report, 'registry/registry.jsonl').detail).toBe('4 lines intact, 3 schemas (ids up to 3) in 3 subjects')
    expect(finding(report, 'lake p/t'.slice(5)).detail).toMatch(/^v3\.metadata\.json is intact \(2 snapshots, main at \d+\); 2 data files referenced, all present$/)
    expect(formatReport(report)).not.toContain('Repairs')
  })

  it('a journal cut in half: reports it, changes nothing, and the repair commits every intact record again (issue 10)', async () => {
    const dir = await dataFolder()
    const before = await readAll(dir, 'a')
    const journal = path.join(dir, 'log/journal/000000000000.jrn')
    const original = fs.readFileSync(journal)
    fs.writeFileSync(journal, original.subarray(0, Math.floor(original.length / 2)))
    // LMDB registers every reader, even a read-only one, in its lock file: that file aside, nothing changes.
    const dataFiles = (): Record<string, string> => Object.fromEntries(Object.entries(snapshotFiles(dir)).filter(([f]) => !f.endsWith('lock.mdb')))
    const damagedFiles = dataFiles()

    const report = await examine(config(dir))
    expect(dataFiles()).toEqual(damagedFiles)
    const j = finding(report, 'log/journal/000000000000.jrn')
    expect(j.ok).toBe(false)
    expect(j.detail).toMatch(/lines intact \(bytes 0\.\.\d+\); bytes \d+\.\.\d+ are an unterminated line and no writer died holding the lock/)
    expect(finding(report, 'log/topics/a/0').detail).toMatch(/offsets \d+\.\.249 are intact on disk but missing from the journal/)
    expect(j.repair?.loses).toMatch(/^group offsets committed in damaged journal lines/)

    const { outcomes } = await repair(report)
    expect(outcomes.map((o) => o.error)).toEqual([undefined])
    expect(damaged(await examine(config(dir)))).toEqual([])
    const after = await readAll(dir, 'a')
    expect(after.map((r) => r.value?.toString())).toEqual(before.map((r) => r.value?.toString()))
  })

  it('a damaged record: the partition keeps what precedes it, the rest goes to the quarantine, other topics are untouched', async () => {
    const dir = await dataFolder()
    const seg = path.join(dir, 'log/topics/a/0/00000000000000000000.seg')
    const size = fs.statSync(seg).size
    const frame = size / 250 // every record of topic a has the same size
    flipByte(seg, frame * 125 + 100) // inside the value of offset 125
    const report = await examine(config(dir))
    const a0 = finding(report, 'log/topics/a/0')
    const kept = 124
    expect(a0.detail).toMatch(/^offsets 0\.\.124 intact/)
    expect(a0.detail).toMatch(new RegExp(`offsets ${Number(kept) + 1}\\.\\.249 are damaged or missing \\(${seg} at byte \\d+: the record of offset ${Number(kept) + 1} fails its checksum\\)`))
    expect(finding(report, 'log/topics/a/1').ok && finding(report, 'log/topics/b/0').ok).toBe(true)
    const loses = report.findings.find((f) => f.repair)!.repair!.loses
    expect(loses).toMatch(new RegExp(`^a-0: offsets ${Number(kept) + 1}\\.\\.249, which the journal commits but are damaged or missing; [\\d,]+ bytes of segment files past offset ${kept}`))

    const { quarantine } = await repair(report)
    const cut = fs.readdirSync(path.join(quarantine, 'log/topics/a/0'))
    expect(cut).toHaveLength(1)
    expect(fs.statSync(seg).size + fs.statSync(path.join(quarantine, 'log/topics/a/0', cut[0]!)).size).toBe(size)
    expect(damaged(await examine(config(dir)))).toEqual([])
    expect((await readAll(dir, 'a')).filter((r) => r.partition === 0)).toHaveLength(Number(kept) + 1)
    expect(await readAll(dir, 'b')).toHaveLength(20)
    const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), readOnly: true })
    expect(await log.groupOffsets('g')).toEqual([{ topic: 'a', partition: 0, offset: 100 }])
    await log.close()
  })

  it('a garbled registry line: its id, and every id the log uses, are never given again', async () => {
    const dir = await dataFolder()
    const file = path.join(dir, 'registry/registry.jsonl')
    const lines = fs.readFileSync(file, 'utf8').split('\n')
    lines[3] = lines[3]!.replace('"subject":"c-value"', '"subject":"C-value"') // the last line: schema id 3
    fs.writeFileSync(file, lines.join('\n'))
    const report = await examine(config(dir))
    const r = finding(report, 'registry/registry.jsonl')
    expect(r.detail).toMatch(/^3 lines intact, 2 schemas \(ids up to 2\) in 2 subjects; line 4 \(bytes \d+\.\.\d+\) checksum mismatch: /)
    await repair(report)
    expect(damaged(await examine(config(dir)))).toEqual([])
    const registry = await openEmbeddedRegistry({ dir: path.join(dir, 'registry') })
    const again = await registry.register('c-value', { type: 'record', name: 'c', fields: [{ name: 'x', type: 'long' }] })
    expect(again.id).toBe(4) // id 3 is in the log's records: reserved
    await registry.close()
  })

  it('an unreadable newest metadata version: reports the intact one and rolls the table back to it', async () => {
    const dir = await dataFolder()
    const v3 = path.join(dir, 'lake/p/t/metadata/v3.metadata.json')
    const text = fs.readFileSync(v3, 'utf8')
    const at = text.indexOf(':', text.indexOf('"location"'))
    fs.writeFileSync(v3, `${text.slice(0, at)};${text.slice(at + 1)}`)
    const report = await examine(config(dir))
    const t = finding(report, 'p/t')
    expect(t.detail).toMatch(new RegExp(`^v2\\.metadata\\.json is intact \\(1 snapshot, main at \\d+\\); v3\\.metadata\\.json is unreadable at byte ${at} \\(not JSON from there\\);`))
    expect(t.repair).toMatchObject({ action: 'move v3.metadata.json aside and point the version hint at v2' })
    await repair(report)
    expect(damaged(await examine(config(dir)))).toEqual([])
    const lake = await openTestLake(pathToFileURL(path.join(dir, 'lake')).href)
    expect((await lake.catalog.loadTable(tableId('p', 't'))).metadata.snapshots).toHaveLength(1)
    await lake.close()
  })

  it('a missing data file is named with the snapshots that need it; no repair is guessed', async () => {
    const dir = await dataFolder()
    const dataDir = path.join(dir, 'lake/p/t/data')
    const [file] = fs.readdirSync(dataDir).sort((a, b) => fs.statSync(path.join(dataDir, a)).mtimeMs - fs.statSync(path.join(dataDir, b)).mtimeMs)
    fs.unlinkSync(path.join(dataDir, file!))
    const t = finding(await examine(config(dir)), 'p/t')
    expect(t.ok).toBe(false)
    expect(t.detail).toContain(`${file} is missing (referenced by 2 snapshots`)
    expect(t.repair).toBeUndefined()
  })

  it('an unreadable state store is moved aside: the product rebuilds it from the log', async () => {
    const dir = await dataFolder()
    fs.writeFileSync(path.join(dir, 'state/p/0/data.mdb'), Buffer.alloc(8192, 0x42))
    const report = await examine(config(dir))
    const s = finding(report, 'state/p/0')
    expect(s.ok).toBe(false)
    expect(s.repair?.loses).toMatch(/^nothing that the log does not hold/)
    const { quarantine } = await repair(report)
    expect(fs.existsSync(path.join(dir, 'state/p/0'))).toBe(false)
    expect(fs.existsSync(path.join(quarantine, 'state/p/0/data.mdb'))).toBe(true)
  })

  it('a dead writer’s torn append is not damage: the next writer cuts it', async () => {
    const dir = await dataFolder()
    const seg = path.join(dir, 'log/topics/b/0/00000000000000000000.seg')
    fs.appendFileSync(seg, Buffer.alloc(40, 7))
    leaveDeadWritersLock(path.join(dir, 'log/writer.lock'))
    const report = await examine(config(dir))
    expect(damaged(report)).toEqual([])
    expect(finding(report, 'log/writer.lock').detail).toMatch(/which died: the next writer cuts its unacknowledged append/)
    expect(finding(report, 'log/topics/b/0').detail).toMatch(/^offsets 0\.\.19 intact .*past the intact records, 00000000000000000000\.seg from byte \d+: .* \(the torn append of a writer that died\)$/)
  })
})
