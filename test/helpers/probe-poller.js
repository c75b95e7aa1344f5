// A worker thread that asks /healthz and /readyz of some probe ports, one request at a time per
// port, every `everyMs` (see probe-poller.ts). A thread of its own, so the latencies it measures
// are the container's, not the delays of the test's own busy event loop. Plain JavaScript: a
// worker does not go through vitest's TypeScript transform.
import http from 'node:http'
import { parentPort as maybeParent, workerData } from 'node:worker_threads'

if (!maybeParent) throw new Error('probe-poller.js runs as a worker thread')
const parentPort = maybeParent
const { everyMs, timeoutMs } = workerData
/** The ports polled, each with its generation: a port removed and added again (a container killed and started again) gets a new loop, and the old one ends. */
/** @type {Map<number, number>} */
const ports = new Map()
let generations = 0
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

/** @param {number} port @param {number} generation */
async function poll(port, generation) {
  for (let i = 0; !stopped && ports.get(port) === generation; i++) {
    const sample = await ask(port, i % 2 === 0 ? '/healthz' : '/readyz')
    // A request the removal overtook (the container was killed while it was in flight) says nothing about the probes.
    if (ports.get(port) === generation) samples.push(/** @type {any} */ (sample))
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

parentPort.on('message', (/** @type {{ add?: number, remove?: number, stop?: true }} */ m) => {
  if (m.add !== undefined && !ports.has(m.add)) {
    ports.set(m.add, ++generations)
    void poll(m.add, generations)
  }
  if (m.remove !== undefined) ports.delete(m.remove)
  if (m.stop) {
    stopped = true
    parentPort.postMessage({ samples })
  }
})
