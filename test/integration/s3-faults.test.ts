import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LakeStorage } from '../../runtime/lake/storage.ts'
import { s3Storages, type S3Storages, type S3StorageOptions } from '../../connectors/storage/s3/index.ts'
import { failure, freePort } from '../helpers/runtime.ts'
import { repoRoot } from '../interop/python.ts'
import { assertS3Reachable, createBucket, faultProxy, S3_ENDPOINT, s3Options, uniqueBucket } from './s3-server.ts'

/**
 * What the S3 lake storage does when S3 misbehaves: an unknown bucket, refused credentials (a
 * second moto server with authentication on), an endpoint that is down, 5xx answers, a response
 * lost after the write landed, and a multipart upload failing half-way. Faults are injected by an
 * HTTP proxy in front of the real server.
 */
const MIB = 1024 * 1024
let bucket: string
let removeBucket: () => Promise<void>
beforeAll(async () => {
  await assertS3Reachable()
  ;({ bucket, remove: removeBucket } = await createBucket('faults'))
})
const providers: S3Storages[] = []
afterAll(async () => {
  for (const p of providers.splice(0)) await p.close()
  await removeBucket?.()
})

/** One storage through its own provider (its own client and settings), closed after the file. */
async function openS3Storage(uri: string, options: S3StorageOptions): Promise<LakeStorage> {
  const provider = s3Storages(options)
  providers.push(provider)
  return provider.open(uri)
}


describe('S3 lake storage faults', () => {
  it('an unknown bucket is one clear, final error naming bucket and endpoint', async () => {
    const missing = uniqueBucket('missing')
    const e = await failure(openS3Storage(`s3://${missing}/lake`, s3Options))
    expect(e.code).toBe('TRIB_LAKE_BUCKET_NOT_FOUND')
    expect(e.retriable).toBe(false)
    expect(e.message).toContain(missing)
    expect(e.message).toContain(S3_ENDPOINT)
    expect(e.message).not.toContain('\n')
  })

  it('refused credentials are one clear, final error', async () => {
    // A second moto server with authentication on: it knows no access key, so ours is refused.
    const motoServer = path.join(repoRoot, '.cache/s3/venv/bin/moto_server')
    expect(fs.existsSync(motoServer), `${motoServer} is missing; run \`npm run infra:up\``).toBe(true)
    const port = await freePort()
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trib-moto-auth-')), 'moto.log')
    const child: ChildProcess = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '0' },
      stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')],
    })
    try {
      const endpoint = `http://127.0.0.1:${port}`
      for (let i = 0; ; i++) {
        const up = await fetch(endpoint).then(() => true, () => false)
        if (up) break
        if (i > 120 || child.exitCode !== null) throw new Error(`moto with authentication did not start: ${fs.readFileSync(log, 'utf8').slice(-2000)}`)
        await new Promise((r) => setTimeout(r, 250))
      }
      const e = await failure(openS3Storage(`s3://${bucket}/lake`, { ...s3Options, endpoint }))
      expect(e.code).toBe('TRIB_LAKE_ACCESS_DENIED')
      expect(e.retriable).toBe(false)
      expect(e.message).toMatch(/wrong credentials \(InvalidAccessKeyId/)
      expect(e.message).toContain(endpoint)
      expect(e.message).not.toContain('\n')
    } finally {
      child.kill('SIGTERM')
      fs.rmSync(path.dirname(log), { recursive: true, force: true })
    }
  })

  it('an endpoint that is down is retried with backoff, then a retriable error naming it', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`
    const started = Date.now()
    const e = await failure(openS3Storage(`s3://${bucket}/lake`, { ...s3Options, endpoint, maxAttempts: 4, baseDelayMs: 100 }))
    const elapsed = Date.now() - started
    expect(e.code).toBe('TRIB_LAKE_STORAGE')
    expect(e.retriable).toBe(true)
    expect(e.message).toContain(endpoint)
    expect(e.message).toContain('ECONNREFUSED')
    expect(e.details.attempts).toBe(4)
    // Three waits of at least half of 100, 200 and 400 ms.
    expect(elapsed).toBeGreaterThanOrEqual(350)
  })

  it('retries 503s, and never a 4xx', async () => {
    let puts = 0
    const proxy = await faultProxy((req) => (req.method === 'PUT' && ++puts <= 2 ? 'http-503' : 'pass'))
    try {
      const storage = await openS3Storage(`s3://${bucket}/retry-5xx`, { ...s3Options, endpoint: proxy.endpoint, baseDelayMs: 20 })
      await storage.write('a.txt', Buffer.from('after two 503s'))
      expect((await storage.read('a.txt')).toString()).toBe('after two 503s')
      expect(proxy.requests.filter((r) => r.startsWith('PUT')).map((r) => r.split(' ')[2])).toEqual(['http-503', 'http-503', 'pass'])
    } finally {
      await proxy.close()
    }
    const refusing = await faultProxy((req) => (req.method === 'PUT' ? 'http-400' : 'pass'))
    try {
      const storage = await openS3Storage(`s3://${bucket}/retry-4xx`, { ...s3Options, endpoint: refusing.endpoint, baseDelayMs: 20 })
      const e = await failure(storage.write('b.txt', Buffer.from('x')))
      expect(e.message).toContain('HTTP 400 InvalidArgument')
      expect(refusing.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(1)
    } finally {
      await refusing.close()
    }
  })

  it('createExclusive whose response was lost after the write landed reports true, not a lost race', async () => {
    let dropped = false
    const proxy = await faultProxy((req) => (req.method === 'PUT' && !dropped ? ((dropped = true), 'drop-response') : 'pass'))
    try {
      const storage = await openS3Storage(`s3://${bucket}/lost-response`, { ...s3Options, endpoint: proxy.endpoint, baseDelayMs: 20 })
      // The SDK retries the PUT; S3 answers 412 because our first attempt landed.
      expect(await storage.createExclusive('metadata/v1.metadata.json', Buffer.from('ours'))).toBe(true)
      expect(proxy.requests.filter((r) => r.startsWith('PUT')).map((r) => r.split(' ')[2])).toEqual(['drop-response', 'pass'])
      // A genuine loss still says false: the bytes there are someone else's.
      expect(await storage.createExclusive('metadata/v1.metadata.json', Buffer.from('theirs'))).toBe(false)
      expect((await storage.read('metadata/v1.metadata.json')).toString()).toBe('ours')
    } finally {
      await proxy.close()
    }
  })

  it('a multipart upload failing half-way is aborted and leaves no object', async () => {
    const proxy = await faultProxy((req) => (req.method === 'PUT' && /partNumber=2/.test(req.url ?? '') ? 'http-400' : 'pass'))
    try {
      const storage = await openS3Storage(`s3://${bucket}/multipart-abort`, { ...s3Options, endpoint: proxy.endpoint, multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB, partConcurrency: 1 })
      const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trib-mp-')), 'big.bin')
      fs.writeFileSync(local, Buffer.alloc(6 * MIB, 7))
      const e = await failure(storage.putFile('data/big.parquet', local))
      expect(e.code).toBe('TRIB_LAKE_STORAGE')
      expect(proxy.requests.some((r) => r.startsWith('DELETE') && r.includes('uploadId='))).toBe(true)
      expect(await storage.exists('data/big.parquet')).toBe(false)
      const admin = new S3Client({ ...s3Options, region: 'us-east-1' })
      expect((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'multipart-abort/' }))).Uploads ?? []).toEqual([])
      fs.rmSync(path.dirname(local), { recursive: true, force: true })
    } finally {
      await proxy.close()
    }
  })
})
