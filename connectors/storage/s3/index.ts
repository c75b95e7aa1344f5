import { registerStorage, type LakeStorage } from '../../../runtime/lake/storage.ts'
import { s3Client } from './client.ts'
import { parseS3Uri, resolveOptions, type S3StorageOptions } from './options.ts'
import { S3Storage } from './storage.ts'

/**
 * The lake on S3 or an S3-compatible server (MinIO, moto…): `s3://bucket/prefix`.
 *
 *   registerS3Storage(config.lake.s3)   // once, when lake.uri is s3://; openStorage then handles s3://
 *   const storage = await openS3Storage('s3://lake/prod', config.lake.s3)
 *
 * Opening checks the bucket once per process (one small list): an unknown bucket, refused
 * credentials or an unreachable endpoint fail here with one clear line, not at the first commit.
 * An unreachable endpoint is retried with backoff first and then is TRIB_LAKE_STORAGE (retriable).
 */
export type { S3StorageOptions } from './options.ts'

const checked = new Map<string, Promise<void>>()

export async function openS3Storage(uri: string, options: S3StorageOptions = {}): Promise<LakeStorage> {
  const location = parseS3Uri(uri)
  const resolved = resolveOptions(options)
  const storage = new S3Storage(location, s3Client(resolved), resolved)
  const key = `${JSON.stringify(resolved)}|${location.root}`
  let check = checked.get(key)
  if (!check) {
    check = storage.check()
    checked.set(key, check)
    // A failed check is not remembered: the next open tries again.
    check.catch(() => checked.delete(key))
  }
  await check
  return storage
}

/** Makes `openStorage('s3://…')` (and so createTable / loadTable) use these options. */
export function registerS3Storage(options: S3StorageOptions = {}): void {
  registerStorage('s3', (uri) => openS3Storage(uri, options))
}
