import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { TributaryError } from '../../../runtime/errors.ts'
import { relativeTo, type LakeStorage } from '../../../runtime/lake/storage.ts'
import { backoffDelay } from '../../../runtime/util/backoff.ts'
import { endpointName } from './client.ts'
import { attemptsOf, codeOf, s3Error, statusOf } from './errors.ts'
import type { ResolvedS3Options, S3Location } from './options.ts'
import { upload } from './upload.ts'

/**
 * Lake storage on an S3 bucket under a key prefix. S3 gives what the contract needs: a PUT (or a
 * completed multipart upload) becomes visible whole, reads after a write see it, and
 * `If-None-Match: *` makes the create of a metadata version exclusive across writers.
 */
const CONFLICT_ATTEMPTS = 5

export class S3Storage implements LakeStorage {
  readonly root: string
  readonly #bucket: string
  readonly #prefix: string
  readonly #endpoint: string

  constructor(
    location: S3Location,
    private readonly client: S3Client,
    private readonly options: ResolvedS3Options,
  ) {
    this.root = location.root
    this.#bucket = location.bucket
    this.#prefix = location.prefix
    this.#endpoint = endpointName(options)
  }

  uri(p: string): string {
    const rel = relativeTo(this.root, p)
    return rel === '' ? this.root : `${this.root}/${rel}`
  }

  localPath(): undefined {
    return undefined
  }

  async read(p: string): Promise<Buffer> {
    const Key = this.key(p)
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }))
      return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
    } catch (e) {
      throw this.fail(e, 'read', p)
    }
  }

  /** Streams an object into a local file (the read-through cache uses it for large data files). */
  async download(p: string, localFile: string): Promise<void> {
    const Key = this.key(p)
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }))
      await pipeline(res.Body as Readable, fs.createWriteStream(localFile, { flags: 'wx' }))
      const size = (await fsp.stat(localFile)).size
      if (res.ContentLength !== undefined && size !== res.ContentLength) throw new Error(`received ${size} of ${res.ContentLength} bytes`)
    } catch (e) {
      throw this.fail(e, 'read', p)
    }
  }

  async write(p: string, data: Uint8Array): Promise<void> {
    try {
      await upload(this.client, this.#bucket, this.key(p), { kind: 'buffer', data }, this.options)
    } catch (e) {
      throw this.fail(e, 'write', p)
    }
  }

  async putFile(p: string, localFile: string): Promise<void> {
    try {
      const { size } = await fsp.stat(localFile)
      await upload(this.client, this.#bucket, this.key(p), { kind: 'file', path: localFile, size }, this.options)
    } catch (e) {
      throw this.fail(e, 'write', p)
    }
    await fsp.rm(localFile, { force: true })
  }

  /**
   * PUT with If-None-Match: *. 412 means the object exists: lost, unless the SDK had retried the
   * request, when the 412 may answer our own earlier attempt that landed; then the bytes there
   * decide. 409 (a concurrent conditional write in progress) is retried. Any other failure is
   * thrown: the request may have landed, and the caller reads back before concluding.
   */
  async createExclusive(p: string, data: Uint8Array): Promise<boolean> {
    const Key = this.key(p)
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.#bucket, Key, Body: data, ContentLength: data.byteLength, IfNoneMatch: '*' }))
        return true
      } catch (e) {
        const status = statusOf(e)
        const code = codeOf(e)
        if (status === 412 || code === 'PreconditionFailed') {
          if (attemptsOf(e) === 1 && attempt === 1) return false
          try {
            return (await this.read(p)).equals(data)
          } catch (readError) {
            throw this.fail(readError, 'create', p)
          }
        }
        if ((status === 409 || code === 'ConditionalRequestConflict') && attempt < CONFLICT_ATTEMPTS) {
          await sleep(backoffDelay(attempt, { initialDelayMs: this.options.baseDelayMs, maxDelayMs: Number.MAX_SAFE_INTEGER, jitter: 0.5 }))
          continue
        }
        throw this.fail(e, 'create', p)
      }
    }
  }

  async exists(p: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.key(p) }))
      return true
    } catch (e) {
      if (statusOf(e) === 404) return false
      throw this.fail(e, 'stat', p)
    }
  }

  async list(prefix: string): Promise<string[]> {
    const rel = relativeTo(this.root, prefix)
    const base = this.#prefix ? `${this.#prefix}/` : ''
    const out: string[] = []
    let ContinuationToken: string | undefined
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: base + rel, ...(ContinuationToken ? { ContinuationToken } : {}) }))
        for (const o of res.Contents ?? []) if (o.Key?.startsWith(base)) out.push(o.Key.slice(base.length))
        ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined
      } while (ContinuationToken)
    } catch (e) {
      throw this.fail(e, 'list', prefix)
    }
    return out.sort()
  }

  async folders(folder: string): Promise<string[]> {
    const rel = relativeTo(this.root, folder).replace(/\/+$/, '')
    const prefix = [this.#prefix, rel].filter(Boolean).map((s) => `${s}/`).join('')
    const out: string[] = []
    let ContinuationToken: string | undefined
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, Delimiter: '/', ...(ContinuationToken ? { ContinuationToken } : {}) }))
        for (const p of res.CommonPrefixes ?? []) if (p.Prefix?.startsWith(prefix)) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''))
        ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined
      } while (ContinuationToken)
    } catch (e) {
      throw this.fail(e, 'list', folder)
    }
    return out.filter((name) => name !== '').sort()
  }

  async delete(p: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.key(p) }))
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return
      throw this.fail(e, 'delete', p)
    }
  }

  /** Proves the bucket is there and the credentials work: one small list under the prefix. */
  async check(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix ? `${this.#prefix}/` : '', MaxKeys: 1 }))
    } catch (e) {
      const err = s3Error(e, { bucket: this.#bucket, endpoint: this.#endpoint, op: 'list' })
      throw new TributaryError(err.code, `opening the lake at ${this.root}: ${err.message}`, { cause: e, details: err.details })
    }
  }

  private key(p: string): string {
    const rel = relativeTo(this.root, p)
    return this.#prefix ? (rel ? `${this.#prefix}/${rel}` : this.#prefix) : rel
  }

  private fail(e: unknown, op: string, p: string): TributaryError {
    return s3Error(e, { bucket: this.#bucket, endpoint: this.#endpoint, uri: this.uri(p), op })
  }
}
