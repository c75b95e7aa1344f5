import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { TributaryError } from '../../../runtime/errors.ts'
import { relativeTo, type LakeStorage } from '../../../runtime/lake/storage.ts'
import { moduleLogger } from '../../../runtime/logger.ts'
import { retry } from '../../../runtime/util/retry.ts'
import { endpointName } from './client.ts'
import { codeOf, isTransient, s3Error, statusOf } from './errors.ts'
import type { ResolvedS3Options, S3Location } from './options.ts'
import { upload, type Send } from './upload.ts'

/**
 * Lake storage on an S3 bucket under a key prefix. S3 gives what the contract needs: a PUT (or a
 * completed multipart upload) becomes visible whole, reads after a write see it, and
 * `If-None-Match: *` makes the create of a metadata version exclusive across writers.
 */
const log = moduleLogger('s3')

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
    return this.#retry('read', p, async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }))
      return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
    })
  }

  /** Streams an object into a local file (the read-through cache uses it for large data files). */
  async download(p: string, localFile: string): Promise<void> {
    const Key = this.key(p)
    await this.#retry('read', p, async (attempt) => {
      // What a failed attempt left behind; the file is created exclusively.
      if (attempt > 1) await fsp.rm(localFile, { force: true })
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }))
      await pipeline(res.Body as Readable, fs.createWriteStream(localFile, { flags: 'wx' }))
      const size = (await fsp.stat(localFile)).size
      if (res.ContentLength !== undefined && size !== res.ContentLength) throw Object.assign(new Error(`received ${size} of ${res.ContentLength} bytes`), { code: 'ECONNRESET' })
    })
  }

  async write(p: string, data: Uint8Array): Promise<void> {
    try {
      await upload(this.#send('write', p), this.#bucket, this.key(p), { kind: 'buffer', data }, this.options)
    } catch (e) {
      throw this.fail(e, 'write', p)
    }
  }

  async putFile(p: string, localFile: string): Promise<void> {
    try {
      const { size } = await fsp.stat(localFile)
      await upload(this.#send('write', p), this.#bucket, this.key(p), { kind: 'file', path: localFile, size }, this.options)
    } catch (e) {
      throw this.fail(e, 'write', p)
    }
    await fsp.rm(localFile, { force: true })
  }

  /**
   * PUT with If-None-Match: *. 412 means the object exists: lost, unless an earlier attempt of this
   * call may have landed (its response was lost, then the retry met our own object); then the
   * bytes there decide. 409 (a concurrent conditional write in progress) is retried. Any other
   * failure is thrown: the request may have landed, and the caller reads back before concluding.
   */
  async createExclusive(p: string, data: Uint8Array): Promise<boolean> {
    const Key = this.key(p)
    return this.#retry(
      'create',
      p,
      async (attempt) => {
        try {
          await this.client.send(new PutObjectCommand({ Bucket: this.#bucket, Key, Body: data, ContentLength: data.byteLength, IfNoneMatch: '*' }))
          return true
        } catch (e) {
          if (statusOf(e) !== 412 && codeOf(e) !== 'PreconditionFailed') throw e
          if (attempt === 1) return false
          return (await this.read(p)).equals(data)
        }
      },
      (e) => isTransient(e) || statusOf(e) === 409 || codeOf(e) === 'ConditionalRequestConflict',
    )
  }

  async exists(p: string): Promise<boolean> {
    return this.#retry('stat', p, async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.key(p) }))
        return true
      } catch (e) {
        if (statusOf(e) === 404) return false
        throw e
      }
    })
  }

  async list(prefix: string): Promise<string[]> {
    const rel = relativeTo(this.root, prefix)
    const base = this.#prefix ? `${this.#prefix}/` : ''
    const out: string[] = []
    const send = this.#send('list', prefix)
    let ContinuationToken: string | undefined
    do {
      const res = await send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: base + rel, ...(ContinuationToken ? { ContinuationToken } : {}) }))
      for (const o of res.Contents ?? []) if (o.Key?.startsWith(base)) out.push(o.Key.slice(base.length))
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (ContinuationToken)
    return out.sort()
  }

  async folders(folder: string): Promise<string[]> {
    const rel = relativeTo(this.root, folder).replace(/\/+$/, '')
    const prefix = [this.#prefix, rel].filter(Boolean).map((s) => `${s}/`).join('')
    const out: string[] = []
    const send = this.#send('list', folder)
    let ContinuationToken: string | undefined
    do {
      const res = await send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, Delimiter: '/', ...(ContinuationToken ? { ContinuationToken } : {}) }))
      for (const p of res.CommonPrefixes ?? []) if (p.Prefix?.startsWith(prefix)) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''))
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (ContinuationToken)
    return out.filter((name) => name !== '').sort()
  }

  async delete(p: string): Promise<void> {
    await this.#retry('delete', p, async () => {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.key(p) }))
      } catch (e) {
        if (statusOf(e) !== 404 || codeOf(e) === 'NoSuchBucket') throw e
      }
    })
  }

  /** Proves the bucket is there and the credentials work: one small list under the prefix. */
  async check(): Promise<void> {
    try {
      await this.#send('list', undefined)(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix ? `${this.#prefix}/` : '', MaxKeys: 1 }))
    } catch (e) {
      const err = e as TributaryError
      throw new TributaryError(err.code, `opening the lake at ${this.root}: ${err.message}`, { cause: err.cause, details: err.details })
    }
  }

  private key(p: string): string {
    const rel = relativeTo(this.root, p)
    return this.#prefix ? (rel ? `${this.#prefix}/${rel}` : this.#prefix) : rel
  }

  private fail(e: unknown, op: string, p: string | undefined, attempts?: number): TributaryError {
    return s3Error(e, { bucket: this.#bucket, endpoint: this.#endpoint, ...(p === undefined ? {} : { uri: this.uri(p) }), op, ...(attempts ? { attempts } : {}) })
  }

  /**
   * One S3 operation under the runtime's retry policy: what `retryOn` says is transient (5xx,
   * throttling, timeouts, resets, refused connections) is retried with backoff, up to
   * options.maxAttempts; anything else, and the last failure, is thrown as a TributaryError.
   */
  #retry<T>(op: string, p: string | undefined, fn: (attempt: number) => Promise<T>, retryOn: (e: unknown) => boolean = isTransient): Promise<T> {
    let attempts = 1
    return retry(fn, {
      what: `S3 ${op} failed`,
      backoff: { initialDelayMs: this.options.baseDelayMs, maxDelayMs: this.options.maxDelayMs, jitter: 0.5 },
      maxAttempts: this.options.maxAttempts,
      classify: (e) => this.fail(e, op, p, attempts),
      retryOn: (e) => retryOn(e.cause),
      onRetry: ({ attempt }) => (attempts = attempt + 1),
      logger: log,
      context: { endpoint: this.#endpoint, ...(p === undefined ? { bucket: this.#bucket } : { path: this.uri(p) }) },
    })
  }

  /** `client.send` under #retry, for code that sends several requests (lists, multipart uploads). */
  #send(op: string, p: string | undefined): Send {
    return ((command: Parameters<Send>[0]) => this.#retry(op, p, () => this.client.send(command))) as Send
  }
}
