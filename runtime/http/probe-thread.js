// The probe thread (see probes.ts): answers /healthz and /readyz on a port of its own from what the
// main thread shares, never waiting for the main thread's event loop. Plain JavaScript with no
// imports of the runtime, so it starts in milliseconds and holds almost no memory.
import http from 'node:http'
import { parentPort as maybeParent, workerData } from 'node:worker_threads'

if (!maybeParent) throw new Error('probe-thread.js runs as a worker thread (see probes.ts)')
const parentPort = maybeParent

const heartbeat = new BigInt64Array(workerData.heartbeat)
/** The last readiness the main thread published: { ready, reasons, … }. */
let readiness = { ready: false, reasons: ['starting'] }

parentPort.on('message', (message) => {
  readiness = message.readiness
})

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
const send = (res, status, body) => {
  // Probes open a connection each time; none is kept for them.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
  res.end(JSON.stringify(body))
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]
  const stalledMs = Date.now() - Number(Atomics.load(heartbeat, 0))
  const stalled = stalledMs >= workerData.stallMs
  if (req.method !== 'GET' && req.method !== 'HEAD') send(res, 405, { error: { code: 'TRIB_HTTP_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${path}` } })
  else if (path === '/healthz') send(res, stalled ? 503 : 200, stalled ? { status: 'stalled', stalledMs } : { status: 'ok' })
  else if (path === '/readyz')
    send(res, readiness.ready && !stalled ? 200 : 503, stalled ? { ...readiness, ready: false, reasons: [`main thread stalled for ${stalledMs} ms`, ...readiness.reasons] } : readiness)
  else send(res, 404, { error: { code: 'TRIB_HTTP_NOT_FOUND', message: `the probe port serves /healthz and /readyz only, not ${path}` } })
})
server.on('error', (/** @type {NodeJS.ErrnoException} */ e) => parentPort.postMessage({ error: e.message, code: e.code }))
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ listening: /** @type {import('node:net').AddressInfo} */ (server.address()).port }))
