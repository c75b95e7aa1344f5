import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { readDecoded, readTopic, repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const dataDir = tempDir('trib-replay-')
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } })

async function dailyPlays(): Promise<{ count: number; latest: Record<string, number> }> {
  const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
  try {
    const rows = await readDecoded(rt.log, rt.codec.serde, 'top-podcasts.daily-plays')
    const latest: Record<string, number> = {}
    for (const r of rows) {
      const v = r.value as { day: string; podcast_id: string; plays: number }
      latest[`${v.day}|${v.podcast_id}`] = v.plays
    }
    return { count: rows.length, latest }
  } finally {
    await rt.close()
  }
}

describe('tributary replay', () => {
  it('rebuilds a product from the beginning: outputs are appended again, state starts empty', async () => {
    expect(cli('demo', '--users', '40', '--plays', '300').status).toBe(0)
    const before = await dailyPlays()
    expect(before.count).toBe(300)

    const replay = cli('replay', 'top-podcasts', '--from', 'earliest')
    expect(replay.status).toBe(0)
    expect(replay.stdout).toMatch(/top-podcasts rewound to earliest on podcast-listeners\.demographics; \d+ state keys reset/)
    expect(cli('run', 'top-podcasts', '--until-idle').status).toBe(0)

    const after = await dailyPlays()
    expect(after.count).toBe(600)
    // Without the state reset the totals would double; with it they are rebuilt to the same values.
    expect(after.latest).toEqual(before.latest)
  })

  it('rewinds to a time: only records from then on are reprocessed', async () => {
    const before = await dailyPlays()
    expect(cli('replay', 'top-podcasts', '--from', '2026-11-03T00:00:00Z').status).toBe(0)
    expect(cli('run', 'top-podcasts', '--until-idle').status).toBe(0)
    const after = await dailyPlays()
    // Kafka semantics: per partition, from the first record stamped at or after the time, to the end.
    const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
    const inputs = await readTopic(rt.log, 'podcast-listeners.demographics')
    await rt.close()
    const since = Date.parse('2026-11-03T00:00:00Z')
    let expected = 0
    for (const partition of new Set(inputs.map((r) => r.partition))) {
      const records = inputs.filter((r) => r.partition === partition)
      const first = records.findIndex((r) => r.timestamp >= since)
      if (first >= 0) expected += records.length - first
    }
    expect(expected).toBeGreaterThan(0)
    expect(expected).toBeLessThan(inputs.length)
    expect(after.count - before.count).toBe(expected)
  })
})
