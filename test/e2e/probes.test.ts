import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { ProbeListener, type Readiness } from '../../runtime/http/probes.ts'

/**
 * The probe port: /healthz and /readyz answered by a worker thread. The main thread is kept busy
 * on purpose (a synchronous child process runs the client, as a long synchronous batch would keep
 * the event loop), and the probes must still answer. Figures under load: `npm run bench` (probes).
 */

/** A GET through curl, run synchronously: the calling thread's event loop is blocked meanwhile. */
function blockedGet(url: string, delaySeconds = 0): { status: number; body: unknown; ms: number } {
  const r = spawnSync('bash', ['-c', `sleep ${delaySeconds}; curl -s -m 5 -o - -w '\\n%{http_code} %{time_total}' ${url}`], { encoding: 'utf8' })
  const lines = r.stdout.trim().split('\n')
  const [status, seconds] = lines.pop()!.split(' ')
  return { status: Number(status), body: JSON.parse(lines.join('\n') || 'null'), ms: Number(seconds) * 1000 }
}

describe('the probe port', () => {
  let probes: ProbeListener | undefined
  afterEach(async () => {
    await probes?.close()
    probes = undefined
  })

  it('answers while the main thread is blocked, with the readiness the main thread published', async () => {
    let readiness: Readiness = { ready: false, reasons: ['starting: processors not created yet'] }
    probes = await ProbeListener.start({ port: 0, host: '127.0.0.1', stallMs: 30_000, readiness: () => readiness })
    const url = `http://127.0.0.1:${probes.port}`
    // The main thread does nothing else until each answer is in.
    expect(blockedGet(`${url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(blockedGet(`${url}/readyz`)).toMatchObject({ status: 503, body: { ready: false, reasons: ['starting: processors not created yet'] } })
    readiness = { ready: true, reasons: [], products: { a: { state: 'running' } } }
    await sleep(500)
    const ready = blockedGet(`${url}/readyz`)
    expect(ready).toMatchObject({ status: 200, body: { ready: true, products: { a: { state: 'running' } } } })
    expect(blockedGet(`${url}/metrics`).status).toBe(404)
  })

  it('fails liveness (and readiness) once the main thread has not turned for stallMs', async () => {
    probes = await ProbeListener.start({ port: 0, host: '127.0.0.1', stallMs: 400, readiness: () => ({ ready: true, reasons: [] }) })
    const url = `http://127.0.0.1:${probes.port}`
    expect(blockedGet(`${url}/healthz`).status).toBe(200)
    // Blocked for a second before asking: the heartbeat is a second old.
    const stalled = blockedGet(`${url}/healthz`, 1)
    expect(stalled.status).toBe(503)
    expect(stalled.body).toMatchObject({ status: 'stalled', stalledMs: expect.any(Number) })
    expect((stalled.body as { stalledMs: number }).stalledMs).toBeGreaterThanOrEqual(900)
    const notReady = blockedGet(`${url}/readyz`, 1)
    expect(notReady).toMatchObject({ status: 503, body: { ready: false, reasons: [expect.stringMatching(/^main thread stalled for \d+ ms$/)] } })
    // Once the main thread turns again, so do the answers.
    await sleep(500)
    expect(blockedGet(`${url}/healthz`).status).toBe(200)
  })

  it('refuses a port that is taken, naming it', async () => {
    probes = await ProbeListener.start({ port: 0, host: '127.0.0.1', stallMs: 30_000, readiness: () => ({ ready: true, reasons: [] }) })
    const taken = probes.port
    const e = await ProbeListener.start({ port: taken, host: '127.0.0.1', stallMs: 30_000, readiness: () => ({ ready: true, reasons: [] }) }).then(
      () => undefined,
      (err: unknown) => err as { code: string; message: string },
    )
    expect(e?.code).toBe('TRIB_CONFIG_INVALID')
    expect(e?.message).toMatch(new RegExp(`http.probePort: cannot listen on 127.0.0.1:${taken} \\(EADDRINUSE\\)`))
  })
})
