import { TributaryError, isTributaryError, messageOf } from '../../../runtime/errors.ts'

/**
 * SDK errors as Tributary errors, each one line naming the object (or bucket) and the endpoint.
 * S3 answers HEAD requests without a body, so a 404 or 403 there carries no error code: the
 * status decides.
 */
export interface SdkErrorLike {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number; attempts?: number }
}

export const statusOf = (e: unknown): number | undefined => (e as SdkErrorLike)?.$metadata?.httpStatusCode
export const codeOf = (e: unknown): string => {
  const x = e as SdkErrorLike
  return x?.Code ?? x?.name ?? ''
}

const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'AllAccessDisabled'])

export interface Where {
  bucket: string
  /** The endpoint as configured, or 'AWS S3 (<region>)'. */
  endpoint: string
  /** 's3://bucket/key' of the object, when the operation had one. */
  uri?: string
  op: string
  /** Attempts made (more than one when the retry loop gave up). */
  attempts?: number
}

export function s3Error(e: unknown, where: Where): TributaryError {
  if (isTributaryError(e)) return e
  const code = codeOf(e)
  const status = statusOf(e)
  const details = { bucket: where.bucket, endpoint: where.endpoint, ...(where.uri ? { path: where.uri } : {}), op: where.op, s3Code: code, status }
  if (code === 'NoSuchBucket') {
    return new TributaryError('TRIB_LAKE_BUCKET_NOT_FOUND', `S3 bucket ${where.bucket} does not exist at ${where.endpoint}`, { cause: e, details })
  }
  if (DENIED.has(code) || status === 403) {
    const why = code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' ? `wrong credentials (${code}: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)` : `access denied (${code || 'HTTP 403'}: wrong credentials or no permission)`
    return new TributaryError('TRIB_LAKE_ACCESS_DENIED', `S3 at ${where.endpoint} refused to ${where.op} ${where.uri ?? `bucket ${where.bucket}`}: ${why}`, { cause: e, details })
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(messageOf(e))) {
    return new TributaryError('TRIB_LAKE_ACCESS_DENIED', `no AWS credentials for S3 at ${where.endpoint} (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role)`, { cause: e, details })
  }
  if ((code === 'NoSuchKey' || status === 404) && where.uri && where.op === 'read') {
    return new TributaryError('TRIB_LAKE_FILE_NOT_FOUND', `lake file ${where.uri} does not exist`, { cause: e, details })
  }
  const attempts = where.attempts ?? 1
  const what = status ? `HTTP ${status}${code ? ` ${code}` : ''}` : firstLine(messageOf(e))
  return new TributaryError(
    'TRIB_LAKE_STORAGE',
    `S3 at ${where.endpoint} could not ${where.op} ${where.uri ?? `bucket ${where.bucket}`}: ${what}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
    { cause: e, details: { ...details, attempts } },
  )
}

const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'RequestTimeout', 'RequestTimeoutException', 'InternalError'])
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'])

/**
 * Whether trying an S3 request again may succeed: 5xx, throttling, 408/429, timeouts, refused or
 * reset connections. Client errors (other 4xx: a missing key, bad credentials, a failed
 * precondition) and local failures never are.
 */
export function isTransient(e: unknown): boolean {
  const status = statusOf(e)
  if (status !== undefined) return status >= 500 || status === 408 || status === 429 || THROTTLED.has(codeOf(e))
  const x = e as SdkErrorLike & { code?: string; cause?: { code?: string } }
  return NETWORK.has(x?.code ?? '') || NETWORK.has(x?.cause?.code ?? '') || x?.name === 'TimeoutError' || THROTTLED.has(codeOf(e))
}

const firstLine = (s: string): string => s.split('\n')[0] ?? s
