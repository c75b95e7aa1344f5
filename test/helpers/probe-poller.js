// A worker thread that asks /healthz and /readyz of some probe ports, one request at a time per
// port, every `everyMs` (see probe-poller.ts). A thread of its own, so the latencies it measures
// are the container's, not the delays of the test's own busy event loop. Plain JavaScript: a
// worker does not go through vitest's TypeScript transform.
import http from 'node:http'
import { parentPort as maybeParent, workerData } from 'node:worker_threads'

if (!maybeParent) throw new Error('probe-poller.js runs as a worker thread')
const parentPort = maybeParent
const { everyMs, timeoutMs } = workerData
/** @type {Set<number>} */
const ports = new Set()
/** @type {Array<{ port: number, route: string, at: number, ms: number, status: number | 'refused' | 'timeout' | 'error' }>} */
const samples = []
let stopped = false

/** @param {number} port @param {string} route */
const ask = (port, route) =>
  new Promise((resolve) => {
    const at = Date.now()
    const started = performance.now()
    const done = (/** @type {number | 'refused' | 'timeout' | 'error'} */ status) => resolve({ port, route, at, ms: performance.now() - started, status })
    const req = http.get({ host: '127.0.0.1', port, path: route, agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => done(res.statusCode ?? 0))
      res.on('error', () => done('error'))
    })
    req.on('timeout', () => {
      req.destroy()
      done('timeout')
    })
    req.on('error', (/** @type {NodeJS.ErrnoException} */ e) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error'))
  })

/** @param {number} port */
async function poll(port) {
  for (let i = 0; !stopped && ports.has(port); i++) {
    samples.push(/** @type {any} */ (await ask(port, i % 2 === 0 ? '/healthz' : '/readyz')))
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

parentPort.on('message', (/** @type {{ add?: number, remove?: number, stop?: true }} */ m) => {
  if (m.add !== undefined && !ports.has(m.add)) {
    ports.add(m.add)
    void poll(m.add)
  }
  if (m.remove !== undefined) ports.delete(m.remove)
  if (m.stop) {
    stopped = true
    parentPort.postMessage({ samples })
  }
})
