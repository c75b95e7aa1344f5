import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { tableId } from '../../runtime/lake/index.ts'
import { openTestLake } from '../helpers/lake.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { repoRoot, tempDir, testEnv } from '../helpers/runtime.ts'
import { pyicebergRows, pythonPath } from '../interop/python.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')
const EVENTS = 160_000
const IDS = 1_500

/**
 * A pass-through product whose two tables commit every few thousand records. The append table
 * comes first, so most kills land while it compacts: a duplicate or a gap would show there.
 */
function writeProduct(dir: string): void {
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'schemas', 'counter.avsc'),
    JSON.stringify({
      type: 'record',
      name: 'Counter',
      namespace: 'crash',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'seq', type: 'long' },
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      ],
    }),
  )
  fs.writeFileSync(
    path.join(dir, 'product.yaml'),
    `apiVersion: tributary/v1
kind: DataProduct
name: lake-crash
domain: tests
description: Counters, compacted into an upsert table and an append table.
owner: { team: tests }
inputPorts:
  - { name: counters, topic: crash.in, format: json, schema: crash.Counter }
outputPorts:
  - name: events
    topic: lake-crash.events
    schema: crash.Counter
    key: id
    snapshot: { mode: append, commit: { interval: 1h, records: 6000 }, partitionBy: { day: at } }
  - name: latest
    topic: lake-crash.latest
    schema: crash.Counter
    key: id
    snapshot: { mode: upsert, commit: { interval: 1h, records: 4000 }, quality: { unique: true, notNull: [id] } }
`,
  )
  fs.writeFileSync(
    path.join(dir, 'transform.ts'),
    `export default (r: { value: object }) => [{ port: 'latest', value: r.value }, { port: 'events', value: r.value }]\n`,
  )
}

/** Runs the product; with killAfterMs, SIGKILLs it that long after its first lake commit of this run. */
function runChild(dataDir: string, productDir: string, killAfterMs: number | null): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'run', productDir, '--until-idle'], {
      cwd: repoRoot,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    let armed = false
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-20_000)
      if (killAfterMs !== null && !armed && stderr.includes('"msg":"snapshot committed"')) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0) resolve('finished')
      else reject(new Error(`run exited with ${code}: ${stderr.slice(-2000)}`))
    })
  })
}

describe('exactly once into the lake under SIGKILL', () => {
  it('after 20+ kills during compaction and a final run, each table holds every row exactly once', async () => {
    pythonPath()
    const dataDir = tempDir('trib-lake-crash-')
    const productDir = tempDir('trib-lake-crash-product-')
    try {
      writeProduct(productDir)
      const base = Date.parse('2026-11-01T00:00:00Z')
      const events: Array<{ id: number; seq: number; at: string }> = []
      /** Appends the next `count` counter events to the input topic. */
      const produce = async (count: number) => {
        const rt = await openRuntime(loadConfig({ env: testEnv(), flags: { dataDir } }))
        await rt.log.ensureTopic('crash.in', { partitions: 3 })
        const batch = Array.from({ length: count }, (_, i) => {
          const seq = events.length + i
          return { id: seq % IDS, seq, at: new Date(base + seq * 10_000).toISOString() }
        })
        for (const e of batch) events.push(e)
        await rt.log.append(batch.map((e) => ({ topic: 'crash.in', key: Buffer.from(String(e.id)), value: Buffer.from(JSON.stringify(e)), timestamp: base + e.seq })))
        await rt.close()
      }
      await produce(EVENTS)

      let kills = 0
      let seed = 7
      // Kills land at random points of compaction: writing files, committing, auditing, publishing.
      // Should a run finish before 20 kills (a faster machine), more input keeps the work going.
      while (kills < 20) {
        seed = (seed * 48271) % 2147483647
        if ((await runChild(dataDir, productDir, seed % 400)) === 'killed') kills++
        else await produce(20_000)
      }
      expect(await runChild(dataDir, productDir, null)).toBe('finished')

      const lake = await openTestLake(`file://${path.join(dataDir, 'lake')}`)
      const [latest, appended] = await Promise.all([lake.catalog.loadTable(tableId('lake-crash', 'latest')), lake.catalog.loadTable(tableId('lake-crash', 'events'))]).finally(() => lake.close())
      expect(latest.metadata.snapshots.length).toBeGreaterThan(5)

      const eventsRows = pyicebergRows(appended.metadataFile)
      const seqs = eventsRows.map((r) => r.seq as number)
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(seqs.length).toBe(events.length)

      const latestRows = pyicebergRows(latest.metadataFile)
      expect(latestRows.length).toBe(IDS)
      const lastSeq = new Map<number, number>()
      for (const e of events) lastSeq.set(e.id, e.seq)
      for (const r of latestRows) expect(r.seq).toBe(lastSeq.get(r.id as number))
      // main was published (the audit passed) and matches the audit branch.
      expect(latest.metadata.refs.main?.['snapshot-id']).toBe(latest.metadata.refs.audit?.['snapshot-id'])
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
      fs.rmSync(productDir, { recursive: true, force: true })
    }
  }, 600_000)
})
