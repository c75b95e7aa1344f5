import { TributaryError } from '../../../runtime/errors.ts'
import type { Config } from '../../../runtime/config/schema.ts'

/**
 * Options of the S3 lake storage: the runtime configuration's `lake.s3` block, plus tuning knobs
 * that are not configuration (tests lower the multipart threshold instead of writing 16 MB).
 * Credentials are not here: the SDK's default chain finds them (env, profile, instance role).
 */
export interface S3StorageOptions extends Partial<Config['lake']['s3']> {
  /** Attempts per request, first included, on 5xx, throttling, timeouts and refused connections (default 6). */
  maxAttempts?: number
  /** First retry delay; doubles per attempt with jitter (±50%), capped at maxDelayMs (default 200). */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Socket connect timeout (default 5 s) and per-request inactivity timeout (default 60 s). */
  connectionTimeoutMs?: number
  requestTimeoutMs?: number
  /** Objects at least this large go up as multipart uploads (default 16 MiB). */
  multipartThresholdBytes?: number
  /** Part size of multipart uploads (default 8 MiB; S3 needs at least 5 MiB except for the last). */
  partSizeBytes?: number
  /** Parts uploaded at once (default 4): memory use is this many parts. */
  partConcurrency?: number
}

export type ResolvedS3Options = Required<Omit<S3StorageOptions, 'endpoint'>> & { endpoint: string | undefined }

const MIB = 1024 * 1024
export const MIN_PART_BYTES = 5 * MIB

export function resolveOptions(options: S3StorageOptions = {}): ResolvedS3Options {
  return Object.freeze({
    endpoint: options.endpoint?.replace(/\/+$/, ''),
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? false,
    maxAttempts: options.maxAttempts ?? 6,
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 5_000,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 5_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    multipartThresholdBytes: options.multipartThresholdBytes ?? 16 * MIB,
    // A smaller part would make S3 refuse the upload at completion (EntityTooSmall).
    partSizeBytes: Math.max(MIN_PART_BYTES, options.partSizeBytes ?? 8 * MIB),
    partConcurrency: Math.max(1, options.partConcurrency ?? 4),
  })
}

export interface S3Location {
  bucket: string
  /** Key prefix without leading or trailing slashes ('' at the bucket root). */
  prefix: string
  /** 's3://bucket/prefix' without a trailing slash. */
  root: string
}

/** Parses 's3://bucket/prefix'. */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/i.exec(uri)
  const bucket = m?.[1]
  if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake URI ${uri}: expected s3://bucket/prefix with a valid bucket name`, { details: { uri } })
  }
  const prefix = (m?.[2] ?? '').replace(/^\/+|\/+$/g, '')
  if (prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw new TributaryError('TRIB_LAKE_STORAGE_URI', `lake URI ${uri}: the prefix has '.' or '..' segments`, { details: { uri } })
  }
  return { bucket, prefix, root: prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}` }
}
