import { TributaryError } from '../../runtime/errors.ts'
import { schemeOf, storageSchemes, type LakeStorage, type StorageProvider } from '../../runtime/lake/storage.ts'
import { openFileStorage } from './file/index.ts'
import type { S3Storages, S3StorageOptions } from './s3/index.ts'

/**
 * Lake storage by URI scheme with one runtime's settings: `file://` (or a bare path) and `s3://`.
 * The S3 adapter (and the AWS SDK) loads on the first s3:// URI only; its client lives until
 * `close`.
 */
export function openStorageProvider(options: { s3?: S3StorageOptions } = {}): StorageProvider {
  let s3: Promise<S3Storages> | undefined
  let closed = false
  return {
    async open(uri: string): Promise<LakeStorage> {
      const scheme = schemeOf(uri)
      if (closed) throw new TributaryError('TRIB_LAKE_CLOSED', `lake storage ${uri}: the lake of this runtime is closed`, { details: { uri } })
      if (scheme === 'file') return openFileStorage(uri)
      if (scheme === 's3') {
        s3 ??= import('./s3/index.ts').then((m) => m.s3Storages(options.s3 ?? {}))
        return (await s3).open(uri)
      }
      throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake URI ${uri}: no storage adapter for scheme '${scheme}' (known: ${storageSchemes.join(', ')})`, { details: { uri } })
    },
    async close(): Promise<void> {
      closed = true
      await (await s3)?.close()
    },
  }
}
