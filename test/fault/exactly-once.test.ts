import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { readDecoded, readTopic, repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')

/** Runs the mesh in a child process; kills it with SIGKILL `delayMs` after its products started. */
function runChild(dataDir: string, killAfterStartMs: number | null, threads = 1): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'run', '--until-idle'], {
      cwd: repoRoot,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', TRIBUTARY_STREAM_THREADS: String(threads) },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let started = 0
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      // The last product to start is top-podcasts; from then on every product is working.
      if (killAfterStartMs !== null && !started && stderr.includes('"product":"top-podcasts"')) {
        started = Date.now()
        setTimeout(() => child.kill('SIGKILL'), killAfterStartMs)
      }
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0) resolve('finished')
      else reject(new Error(`run exited with ${code}: ${stderr.slice(-2000)}`))
    })
  })
}

describe('exactly-once consume → transform → produce under SIGKILL, with 1 and 2 stream threads', () => {
  it('after 20+ kills at random points and a final run, every expected output exists exactly once', async () => {
    const dataDir = tempDir('trib-eos-')
    try {
      const setup = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
      for (const t of [usersTopic, playsTopic]) await setup.log.ensureTopic(t, { partitions: 3 })
      const { records, summary } = await generateSampleData(setup.registry, { users: 4000, plays: 60_000, seed: 11 })
      await setup.log.append(records)
      await setup.close()

      let kills = 0
      let seed = 1
      while (kills < 20) {
        seed = (seed * 48271) % 2147483647
        // Every other run uses two stream threads: partitions and their state move between stores.
        const outcome = await runChild(dataDir, seed % 350, (kills % 2) + 1)
        if (outcome === 'killed') kills++
        else break
      }
      expect(kills).toBeGreaterThanOrEqual(20)
      expect(await runChild(dataDir, null)).toBe('finished')

      const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
      try {
        const invalidPlays = Object.values(summary.invalid[playsTopic] ?? {}).reduce((a, b) => a + b, 0)
        const invalidUsers = Object.values(summary.invalid[usersTopic] ?? {}).reduce((a, b) => a + b, 0)

        const demographics = await readDecoded(rt.log, rt.codec.serde, 'podcast-listeners.demographics')
        const playIds = demographics.map((r) => (r.value as { play_id: string }).play_id)
        expect(new Set(playIds).size).toBe(playIds.length)
        expect(playIds.length).toBe(summary.records[playsTopic]! - invalidPlays)

        const changes = summary.userChanges
        expect((await readTopic(rt.log, 'user-profiles.profiles')).length).toBe(changes.read + changes.create + changes.update + changes.delete)
        expect((await readTopic(rt.log, 'user-profiles.dlq')).length).toBe(invalidUsers)
        expect((await readTopic(rt.log, 'podcast-listeners.dlq')).length).toBe(invalidPlays)

        // ctx.state was committed with the outputs: final totals equal a count of the demographics.
        const expected = new Map<string, number>()
        for (const r of demographics) {
          const v = r.value as { play_day: string; podcast_id: string }
          expected.set(`${v.play_day}|${v.podcast_id}`, (expected.get(`${v.play_day}|${v.podcast_id}`) ?? 0) + 1)
        }
        const latest = new Map<string, number>()
        const daily = await readDecoded(rt.log, rt.codec.serde, 'top-podcasts.daily-plays')
        for (const r of daily) {
          const v = r.value as { day: string; podcast_id: string; plays: number }
          latest.set(`${v.day}|${v.podcast_id}`, Math.max(latest.get(`${v.day}|${v.podcast_id}`) ?? 0, v.plays))
        }
        expect(Object.fromEntries(latest)).toEqual(Object.fromEntries(expected))
        expect(daily.length).toBe(demographics.length)
      } finally {
        await rt.close()
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 300_000)
})
