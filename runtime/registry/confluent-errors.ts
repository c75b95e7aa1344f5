import { type ErrorCode, isTributaryError, messageOf } from '../errors.ts'

/**
 * TRIB_REGISTRY_* codes and Confluent Schema Registry error codes, both ways: the embedded REST API
 * answers with Confluent's codes and HTTP statuses, and the remote adapter turns Confluent's
 * answers back into Tributary codes.
 */

export interface ConfluentError {
  status: number
  errorCode: number
}

export const confluentErrors = {
  TRIB_REGISTRY_SUBJECT_NOT_FOUND: { status: 404, errorCode: 40401 },
  TRIB_REGISTRY_VERSION_NOT_FOUND: { status: 404, errorCode: 40402 },
  TRIB_REGISTRY_SCHEMA_NOT_FOUND: { status: 404, errorCode: 40403 },
  TRIB_REGISTRY_SUBJECT_SOFT_DELETED: { status: 404, errorCode: 40404 },
  TRIB_REGISTRY_SUBJECT_NOT_SOFT_DELETED: { status: 404, errorCode: 40405 },
  TRIB_REGISTRY_VERSION_SOFT_DELETED: { status: 404, errorCode: 40406 },
  TRIB_REGISTRY_VERSION_NOT_SOFT_DELETED: { status: 404, errorCode: 40407 },
  TRIB_REGISTRY_INCOMPATIBLE: { status: 409, errorCode: 409 },
  TRIB_REGISTRY_INVALID_SCHEMA: { status: 422, errorCode: 42201 },
  TRIB_REGISTRY_INVALID_VERSION: { status: 422, errorCode: 42202 },
  TRIB_REGISTRY_INVALID_COMPATIBILITY: { status: 422, errorCode: 42203 },
} as const satisfies Partial<Record<ErrorCode, ConfluentError>>

/** Confluent's catch-all for server-side failures. */
export const INTERNAL_ERROR: ConfluentError = { status: 500, errorCode: 50001 }

/** The Confluent status, code and message for any thrown value. */
export function toConfluentError(e: unknown): ConfluentError & { message: string } {
  if (isTributaryError(e) && e.code in confluentErrors) {
    return { ...confluentErrors[e.code as keyof typeof confluentErrors], message: e.message }
  }
  return { ...INTERNAL_ERROR, message: messageOf(e) }
}

/** The Tributary code for a Confluent error code, if it is one of the registry's. */
export function codeForConfluentError(errorCode: number): ErrorCode | undefined {
  for (const [code, mapped] of Object.entries(confluentErrors)) {
    if (mapped.errorCode === errorCode) return code as ErrorCode
  }
  return undefined
}
