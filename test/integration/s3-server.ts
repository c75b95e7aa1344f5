import { randomUUID } from 'node:crypto'
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
