import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openEmbeddedLog } from '../../connectors/embedded-log/index.ts'
import { repoRoot, tempDir } from '../helpers/runtime.ts'
import { flipByte, snapshotFiles } from '../unit/embedded-log/fixtures/damage.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const dataDir = tempDir('trib-damage-')
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const logDir = path.join(dataDir, 'log')
const journal = path.join(logDir, 'journal', '000000000000.jrn')
const segment = (topic: string, p: number): string => path.join(logDir, 'topics', topic, String(p), '00000000000000000000.seg')

describe('damaged data through the CLI', () => {
  it('a journal cut in half: `topics` reports it and changes nothing; with the journal back, every record is there (issue 10)', { timeout: 120_000 }, async () => {
    const log = await openEmbeddedLog({ dir: logDir })
    await log.ensureTopic('big', { partitions: 2 })
    // About 1.1 MB per partition, as in the issue.
    for (let i = 0; i < 110; i++) await log.append(Array.from({ length: 20 }, (_, k) => ({ topic: 'big', partition: k % 2, key: null, value: Buffer.alloc(1000, i) })))
    await log.append([{ topic: 'other', key: null, value: Buffer.from('{"n":1}') }])
    await log.close()
    expect(fs.statSync(segment('big', 0)).size).toBeGreaterThan(1_100_000)
    const original = fs.readFileSync(journal)
    let cut = Math.floor(original.length / 2)
    if (original[cut - 1] === 0x0a) cut--
    fs.writeFileSync(journal, original.subarray(0, cut))
    const damaged = snapshotFiles(dataDir)

    const r = cli(['topics'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^error TRIB_LOG_CORRUPT: ${journal.replace(/[/.]/g, '\\$&')}: unterminated last line, .* at bytes \\d+\\.\\.${cut}\n`))
    expect(snapshotFiles(dataDir)).toEqual(damaged)

    fs.writeFileSync(journal, original)
    const ok = cli(['topics', '--format', 'json'])
    expect(ok.code).toBe(0)
    const topics = (JSON.parse(ok.stdout) as { topics: Array<{ name: string; partitions: Array<{ end: number }> }> }).topics
    expect(topics.map((t) => [t.name, t.partitions.map((p) => p.end)])).toEqual([
      ['big', [1100, 1100]],
      ['other', [1]],
    ])
  })

  it('a damaged segment affects only its topic: `topics` marks it, `tail` of another topic works; doctor repairs it', { timeout: 180_000 }, () => {
    const seg = segment('big', 0)
    flipByte(seg, fs.statSync(seg).size - 100) // inside the last committed batch
    const topics = cli(['topics'])
    expect(topics.code).toBe(0)
    expect(topics.stdout).toMatch(/^big\s+2\s+2200\s+1100,1100\s+0\nother\s+1\s+1\s+1\s+-\n/m)
    const damage = `${seg.replace(/[/.]/g, '\\$&')}: checksum mismatch at byte \\d+ \\(big-0 offset 1099\\)`
    expect(topics.stderr).toMatch(new RegExp(`^damaged: big-0: ${damage}\n$`))

    expect(cli(['tail', 'other', '--format', 'json'])).toMatchObject({ code: 0, stdout: expect.stringContaining('"n":1') })
    const bad = cli(['tail', 'big'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(new RegExp(`^error TRIB_LOG_CORRUPT: ${damage}\n`))

    const report = cli(['doctor'])
    expect(report.code).toBe(1)
    expect(report.stdout).toMatch(/^DAMAGED {2}log {6}log\/topics\/big\/0 +offsets 0\.\.1098 intact .* offsets 1099\.\.1099 are damaged or missing/m)
    expect(report.stdout).toMatch(/^intact {3}log {6}log\/topics\/other\/0 +offsets 0\.\.0 intact/m)
    expect(report.stdout).toMatch(/loses: big-0: offsets 1099\.\.1099, which the journal commits but are damaged or missing; 1,0\d\d bytes of segment files past offset 1098/)
    expect(report.stderr).toMatch(/^error TRIB_DATA_DAMAGED: 1 damaged part in .*; nothing was changed/)

    const repaired = cli(['doctor', '--repair'])
    expect(repaired.code, repaired.stderr).toBe(0)
    expect(repaired.stdout).toMatch(/what the repairs took out is in .*doctor.*\nevery part is intact now/)
    const after = cli(['tail', 'big', '--format', 'json'])
    expect(after.code).toBe(0)
    expect(after.stdout.trim().split('\n')).toHaveLength(2199)
  })
})
