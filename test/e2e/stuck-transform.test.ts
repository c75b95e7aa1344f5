import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { until, writeTickProduct } from '../helpers/products.ts'
import { freePort, repoRoot, tempDir } from '../helpers/runtime.ts'

const bin = path.join(repoRoot, 'runtime/cli/bin.js')

interface Child {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  logs: () => string
  stdout: () => string
  kill: (signal: NodeJS.Signals) => void
}

function start(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let logs = ''
  child.stderr!.on('data', (c: Buffer) => (logs += c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let stdout = ''
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
  return { exited, logs: () => logs, stdout: () => stdout, kill: (signal) => child.kill(signal) }
}

describe('a transform that hangs or leaks', () => {
  let dir: string
  let dataDir: string
  beforeAll(() => {
    dir = tempDir('trib-stuck-')
    dataDir = path.join(dir, 'data')
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  const feed = async (topic: string, n: number) => {
    const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
    await rt.log.ensureTopic(topic, { partitions: 1 })
    await rt.log.append(Array.from({ length: n }, (_, i) => ({ topic, key: null, value: Buffer.from(JSON.stringify({ id: i, note: 'tick' })) })))
    await rt.close()
  }

  it('SIGTERM during a transform call that never settles exits 0 within the deadline, leaving the batch uncommitted', async () => {
    // A transform timeout longer than the shutdown deadline: only the stop's grace ends the wait.
    const product = writeTickProduct(dir, 'hangs', { transform: 'export default () => new Promise(() => {})\n', processing: '{ transformTimeout: 5m }' })
    await feed('hangs.in', 5)
    const serve = start(['--data-dir', dataDir, 'serve', product, '--port', String(await freePort()), '--host', '127.0.0.1'], { TRIBUTARY_SHUTDOWN_DEADLINE_MS: '20000' })
    await until('the product started', () => serve.logs().includes('product started'))
    await sleep(500)
    const signalled = Date.now()
    serve.kill('SIGTERM')
    const { code } = await serve.exited
    const tookMs = Date.now() - signalled
    expect(code).toBe(0)
    expect(tookMs).toBeLessThan(15_000)
    expect(serve.logs()).toContain('the batch is left uncommitted')
    console.info(`[figures] SIGTERM with a stuck transform: exit 0 after ${tookMs} ms (deadline 20000 ms, grace 5000 ms)`)
    // Nothing was committed: the next start reads the batch again.
    const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
    try {
      expect(await rt.log.groupOffsets('hangs')).toEqual([])
    } finally {
      await rt.close()
    }
  }, 90_000)

  it('run --until-idle: a product that cannot start stops alone; the others run to the end, then the run fails naming it', async () => {
    const broken = writeTickProduct(dir, 'broken', { transform: 'export const notATransform = 1\n' })
    const fine = writeTickProduct(dir, 'fine')
    await feed('broken.in', 3)
    await feed('fine.in', 7)
    const run = start(['--data-dir', dataDir, 'run', broken, fine, '--until-idle', '--format', 'json'], { TRIBUTARY_LAKE_ENABLED: 'false', TRIBUTARY_LOG_LEVEL: 'warn' })
    const { code } = await run.exited
    expect(code).toBe(1)
    const lines = run.logs().trim().split('\n')
    expect(lines.at(-1)).toMatch(/^error TRIB_TRANSFORM_INVALID: product broken stopped \(broken\): /)
    const summary = JSON.parse(run.stdout()) as { products: Array<{ product: string; in: number; out: number }>; stopped: Array<{ product: string; code: string }> }
    expect(summary.products.find((p) => p.product === 'fine')).toMatchObject({ in: 7, out: 7 })
    expect(summary.stopped).toEqual([expect.objectContaining({ product: 'broken', runnable: 'broken', code: 'TRIB_TRANSFORM_INVALID' })])
  }, 90_000)

  it('a leaking transform: the heap watermark (its default) warns before the process runs out of memory', async () => {
    const leak = `const kept: number[][] = []
export default async (r: { value: { id: number } }) => {
  await new Promise((resolve) => setTimeout(resolve, 20))
  kept.push(new Array(16 * 1024).fill(r.value.id))
  return { port: 'out', value: r.value }
}
`
    const product = writeTickProduct(dir, 'leaks', { transform: leak })
    await feed('leaks.in', 2000)
    const run = start(['--data-dir', dataDir, 'run', product], { NODE_OPTIONS: '--max-old-space-size=96', TRIBUTARY_LAKE_ENABLED: 'false' })
    const { code, signal } = await run.exited
    const logs = run.logs()
    // The process dies of the leak (V8 aborts), but it said so first.
    expect(code === 0 && signal === null).toBe(false)
    const warned = logs.indexOf('heap above its watermark')
    const died = logs.search(/heap out of memory|Allocation failed/)
    expect(warned).toBeGreaterThanOrEqual(0)
    expect(died).toBeGreaterThan(warned)
    const line = JSON.parse(logs.slice(logs.lastIndexOf('\n', warned) + 1, logs.indexOf('\n', warned))) as { usedMiB: number; limitMiB: number; watermark: number }
    // The default watermark, 0.85 of the old generation's limit (96 MiB here).
    expect(line).toMatchObject({ watermark: 0.85, limitMiB: 96 })
    expect(line.usedMiB).toBeGreaterThanOrEqual(96 * 0.85 - 1)
  }, 120_000)
})
