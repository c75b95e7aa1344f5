import type { S3Client } from '@aws-sdk/client-s3'
import { TributaryError } from '../../../runtime/errors.ts'
import type { LakeStorage, StorageProvider } from '../../../runtime/lake/storage.ts'
import { createS3Client } from './client.ts'
import { parseS3Uri, resolveOptions, type S3StorageOptions } from './options.ts'
import { S3Storage } from './storage.ts'

/**
 * The lake on S3 or an S3-compatible server (MinIO, moto…): `s3://bucket/prefix`.
 *
 *   const s3 = s3Storages(config.lake.s3)        // one per runtime: one client, one pool
 *   const storage = await s3.open('s3://lake/prod')
 *   await s3.close()                             // destroys the client
 *
 * Opening checks each bucket once per provider (one small list): an unknown bucket, refused
 * credentials or an unreachable endpoint fail here with one clear line, not at the first commit.
 * An unreachable endpoint is retried with backoff first and then is TRIB_LAKE_STORAGE (retriable).
 */
export type { S3StorageOptions } from './options.ts'

/** A StorageProvider for s3:// URIs only: one client with one set of options. */
export type S3Storages = StorageProvider

export function s3Storages(options: S3StorageOptions = {}): S3Storages {
  const resolved = resolveOptions(options)
  let client: S3Client | undefined
  let closed = false
  const checked = new Map<string, Promise<void>>()
  return {
    async open(uri: string): Promise<LakeStorage> {
      if (closed) throw new TributaryError('TRIB_LAKE_CLOSED', `lake storage ${uri}: the S3 storage of this runtime is closed`, { details: { uri } })
      const location = parseS3Uri(uri)
      client ??= createS3Client(resolved)
      const storage = new S3Storage(location, client, resolved)
      // Per bucket: what the check proves (the bucket exists, the credentials work) holds for every prefix in it.
      let check = checked.get(location.bucket)
      if (!check) {
        check = storage.check()
        checked.set(location.bucket, check)
        // A failed check is not remembered: the next open tries again.
        check.catch(() => checked.delete(location.bucket))
      }
      await check
      return storage
    },
    async close(): Promise<void> {
      closed = true
      client?.destroy()
      client = undefined
    },
  }
}
