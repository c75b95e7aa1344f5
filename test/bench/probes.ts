import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateSampleData, playsTopic, usersTopic } from '../../products/sample-data/generate.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { openRuntime } from '../../runtime/runtime.ts'
import { freePort, repoRoot, tempDir } from '../helpers/runtime.ts'

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN) * 10) / 10
}

/**
 * Health probes while the container is saturated: `tributary serve` works through a backlog of
 * the example mesh (every product and table busy), and a client asks /healthz and /readyz every
 * 20 ms, on the main port (answered by the main event loop) and on the probe port (a worker
 * thread, http.probePort): one client per port, one request at a time. Latencies in ms, measured
 * by the client. A request that gets no answer within 10 s counts as 10 s.
 */
export async function benchProbes(users = 20_000, plays = 200_000, seconds = 45): Promise<Record<string, unknown>> {
  const dataDir = tempDir('trib-bench-probes-')
  try {
    const rt = await openRuntime(loadConfig({ env: {}, flags: { dataDir } }))
    for (const t of [usersTopic, playsTopic]) await rt.log.ensureTopic(t, { partitions: 3 })
    const { records } = await generateSampleData(rt.registry, { users, plays, seed: 3 })
    for (let i = 0; i < records.length; i += 10_000) await rt.log.append(records.slice(i, i + 10_000))
    await rt.close()
    const [port, probePort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, [path.join(repoRoot, 'runtime/cli/bin.js'), '--data-dir', dataDir, 'serve', '--port', String(port), '--probe-port', String(probePort), '--host', '127.0.0.1'], {
      cwd: repoRoot,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      const ask = async (url: string): Promise<number> => {
        const started = performance.now()
        try {
          await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text()
          return performance.now() - started
        } catch {
          return 10_000
        }
      }
      // Serving: the probe port answers once the process is up.
      for (let i = 0; i < 600 && (await ask(`http://127.0.0.1:${probePort}/healthz`)) >= 10_000; i++) await sleep(100)
      const samples: Record<string, number[]> = { mainHealthz: [], mainReadyz: [], probeHealthz: [], probeReadyz: [] }
      const until = Date.now() + seconds * 1000
      // One client per port, each one request at a time: a slow main port does not slow the other.
      const poll = async (name: 'main' | 'probe', at: number): Promise<void> => {
        for (let i = 0; Date.now() < until; i++) {
          const route = i % 2 === 0 ? 'Healthz' : 'Readyz'
          samples[`${name}${route}`]!.push(await ask(`http://127.0.0.1:${at}/${route.toLowerCase()}`))
          await sleep(20)
        }
      }
      await Promise.all([poll('main', port), poll('probe', probePort)])
      const out: Record<string, unknown> = { users, plays, seconds }
      for (const [name, xs] of Object.entries(samples)) out[name] = { n: xs.length, p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), maxMs: percentile(xs, 100) }
      return out
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}
