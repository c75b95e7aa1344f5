import fs from 'node:fs/promises'
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type CompletedPart, type S3Client } from '@aws-sdk/client-s3'
import { moduleLogger } from '../../../runtime/logger.ts'
import type { ResolvedS3Options } from './options.ts'

/**
 * Uploads that never leave a partial object visible: one PUT below the multipart threshold (S3
 * makes an object visible only once its whole body arrived), else a multipart upload, which
 * shows nothing until CompleteMultipartUpload and is aborted on any failure so no orphaned parts
 * linger. Bodies are Buffers, which can be sent again on a retry (a stream cannot be).
 */
const log = moduleLogger('s3')

/** Sends one request; the storage passes its retrying send. */
export type Send = S3Client['send']

/** Where the bytes come from: memory, or a local file read one part at a time. */
export type UploadSource = { kind: 'buffer'; data: Uint8Array } | { kind: 'file'; path: string; size: number }

export async function upload(send: Send, bucket: string, key: string, source: UploadSource, options: ResolvedS3Options): Promise<void> {
  const size = source.kind === 'buffer' ? source.data.byteLength : source.size
  if (size < options.multipartThresholdBytes) {
    const body = source.kind === 'buffer' ? source.data : await fs.readFile(source.path)
    await send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.byteLength }))
    return
  }
  await multipart(send, bucket, key, source, size, options)
}

async function multipart(send: Send, bucket: string, key: string, source: UploadSource, size: number, options: ResolvedS3Options): Promise<void> {
  // CRC32 declared up front: parts then carry checksums that S3 checks, and Complete lists them.
  const { UploadId } = await send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }))
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${key} returned no upload id`)
  const partSize = options.partSizeBytes
  const count = Math.max(1, Math.ceil(size / partSize))
  const file = source.kind === 'file' ? await fs.open(source.path, 'r') : undefined
  try {
    const parts: CompletedPart[] = new Array(count)
    let next = 0
    let failed = false
    // A few parts in flight at once; each worker holds one part in memory. After a failure the
    // others stop taking parts, and the abort waits for the ones in flight.
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count && !failed; i = next++) {
        const start = i * partSize
        const length = Math.min(partSize, size - start)
        const body = file ? await readExactly(file, start, length) : (source as { data: Uint8Array }).data.subarray(start, start + length)
        const res = await send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body, ContentLength: length, ChecksumAlgorithm: 'CRC32' }))
        parts[i] = { PartNumber: i + 1, ETag: res.ETag, ...(res.ChecksumCRC32 ? { ChecksumCRC32: res.ChecksumCRC32 } : {}) }
      }
    }
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(options.partConcurrency, count) }, () =>
        worker().catch((e: unknown) => {
          failed = true
          throw e
        }),
      ),
    )
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (rejected) throw rejected.reason
    await send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }))
    log.debug({ bucket, key, size, parts: count }, 'multipart upload complete')
  } catch (e) {
    await send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch((abortError: unknown) => {
      // The bucket's lifecycle rule for incomplete uploads is then the only cleanup.
      log.warn({ bucket, key, uploadId: UploadId, err: abortError }, 'could not abort a failed multipart upload')
    })
    throw e
  } finally {
    await file?.close()
  }
}

async function readExactly(file: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done)
    if (bytesRead === 0) throw new Error(`file ended at byte ${position + done}, expected ${position + length}`)
    done += bytesRead
  }
  return buffer
}
