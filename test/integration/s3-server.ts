import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type net from 'node:net'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { S3StorageOptions } from '../../connectors/storage/s3/index.ts'

/**
 * The S3-compatible test server (moto, started by `npm run infra:up`) as tests use it: its
 * address from TRIBUTARY_TEST_S3, test credentials through the standard AWS env variables, and a
 * fresh bucket per test file, emptied and removed afterwards.
 */
export const S3_ENDPOINT = (process.env.TRIBUTARY_TEST_S3 ?? 'http://127.0.0.1:19000').replace(/\/+$/, '')
process.env.AWS_ACCESS_KEY_ID ??= 'tributary-test'
process.env.AWS_SECRET_ACCESS_KEY ??= 'tributary-test-secret'

export const s3Options: S3StorageOptions = Object.freeze({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true })

const admin = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, maxAttempts: 2 })

/** Fails (never skips) when the server is not up, saying how to start it. */
export async function assertS3Reachable(): Promise<void> {
  try {
    const res = await fetch(S3_ENDPOINT, { signal: AbortSignal.timeout(5_000) })
    await res.arrayBuffer()
  } catch (e) {
    throw new Error(`the S3 test server at ${S3_ENDPOINT} is not reachable (${(e as Error).message}); run \`npm run infra:up\` first, or set TRIBUTARY_TEST_S3`)
  }
}

export const uniqueBucket = (label: string): string => `trib-${label}-${randomUUID().slice(0, 8)}`

export async function createBucket(label: string): Promise<{ bucket: string; remove: () => Promise<void> }> {
  const bucket = uniqueBucket(label)
  await admin.send(new CreateBucketCommand({ Bucket: bucket }))
  return { bucket, remove: () => removeBucket(bucket) }
}

async function removeBucket(bucket: string): Promise<void> {
  for (;;) {
    const res = await admin.send(new ListObjectsV2Command({ Bucket: bucket }))
    const keys = (res.Contents ?? []).map((o) => ({ Key: o.Key as string }))
    if (keys.length === 0) break
    await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }))
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }))
}

/**
 * - `reset`: the connection is reset before any answer (the request never reaches the server);
 * - `slow:<ms>`: the request is forwarded after that long; longer than the client's request
 *   timeout, it is a timeout (the client hangs up, and the request is never forwarded);
 * - `drop-response`: the request lands upstream, the client never hears about it.
 */
export type Fault = 'pass' | 'http-503' | 'http-400' | 'drop-response' | 'reset' | `slow:${number}`
/** Forwards to the real server; `plan` picks a fault per request (method, path with query). */
export async function faultProxy(plan: (req: http.IncomingMessage) => Fault): Promise<{ endpoint: string; requests: string[]; close: () => Promise<void> }> {
  const upstream = new URL(S3_ENDPOINT)
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const fault = plan(req)
    requests.push(`${req.method} ${req.url} ${fault}`)
    if (fault === 'reset') return void req.socket.resetAndDestroy()
    if (fault.startsWith('slow:')) {
      // Paused meanwhile, so the body waits in the socket rather than being read and lost.
      req.pause()
      const timer = setTimeout(() => forward(req, res, 'pass'), Number(fault.slice(5)))
      res.once('close', () => clearTimeout(timer))
      return
    }
    forward(req, res, fault)
  })
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, fault: Fault): void => {
    if (req.destroyed) return
    if (fault === 'http-503' || fault === 'http-400') {
      req.resume()
      const [status, code] = fault === 'http-503' ? [503, 'SlowDown'] : [400, 'InvalidArgument']
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`)
      return
    }
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      // The write has landed upstream; the client never hears about it.
      if (fault === 'drop-response') return void (up.resume(), req.socket.destroy())
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.pipe(out)
  }
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}
