import { S3Client } from '@aws-sdk/client-s3'
import type { ResolvedS3Options } from './options.ts'

/**
 * One S3 client per distinct configuration, shared by every table opened through it: a client
 * holds a connection pool, and the runtime opens a storage per table load. Credentials come from
 * the SDK's default chain.
 */
const clients = new Map<string, S3Client>()

export function s3Client(options: ResolvedS3Options): S3Client {
  const key = JSON.stringify(options)
  let client = clients.get(key)
  if (!client) {
    client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // One attempt per send: S3Storage retries under the runtime's one retry policy (and logs each retry).
      maxAttempts: 1,
      // Plain options: the SDK builds its Node handler from them (timeouts per request).
      requestHandler: { connectionTimeout: options.connectionTimeoutMs, requestTimeout: options.requestTimeoutMs },
    })
    clients.set(key, client)
  }
  return client
}

/** How messages name the endpoint. */
export const endpointName = (options: ResolvedS3Options): string => options.endpoint ?? `AWS S3 (${options.region})`
