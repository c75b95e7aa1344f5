import { S3Client } from '@aws-sdk/client-s3'
import type { ResolvedS3Options } from './options.ts'

/**
 * The S3 client of one set of options. Credentials come from the SDK's default chain. A client holds
 * a connection pool: whoever creates one destroys it (S3Storages.close).
 */
export function createS3Client(options: ResolvedS3Options): S3Client {
  return new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // One attempt per send: S3Storage retries under the runtime's one retry policy (and logs each retry).
    maxAttempts: 1,
    // Plain options: the SDK builds its Node handler from them (timeouts per request).
    requestHandler: { connectionTimeout: options.connectionTimeoutMs, requestTimeout: options.requestTimeoutMs },
  })
}

/** How messages name the endpoint. */
export const endpointName = (options: ResolvedS3Options): string => options.endpoint ?? `AWS S3 (${options.region})`
