import { beforeAll } from 'vitest'
import { s3Storages } from '../../connectors/storage/s3/index.ts'
import { assertS3Reachable, createBucket, s3Options } from '../integration/s3-server.ts'
import { storageContract } from './storage.contract.ts'

// The shared LakeStorage contract on the real S3 test server (npm run infra:up): a bucket per run,
// the storage rooted under a prefix so that keys outside it are never listed.
beforeAll(assertS3Reachable)

storageContract('s3', async () => {
  const { bucket, remove } = await createBucket('contract')
  const s3 = s3Storages(s3Options)
  return {
    storage: await s3.open(`s3://${bucket}/lake/root`),
    cleanup: async () => {
      await s3.close()
      await remove()
    },
  }
})
