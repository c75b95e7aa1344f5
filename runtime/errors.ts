/**
 * One table of stable error codes. A code never changes meaning once released; the README lists
 * every code (a test fails when one is missing there). `retriable` says whether trying the same
 * operation again may succeed without anyone changing input or configuration.
 */
export const errorCodes = {
  // configuration and product spec
  TRIB_CONFIG_INVALID: { retriable: false, summary: 'runtime configuration failed validation' },
  TRIB_SPEC_NOT_FOUND: { retriable: false, summary: 'no product.yaml in the given folder' },
  TRIB_SPEC_PARSE: { retriable: false, summary: 'product.yaml is not valid YAML' },
  TRIB_SPEC_INVALID: { retriable: false, summary: 'product.yaml failed validation' },
  TRIB_SCHEMA_NOT_FOUND: { retriable: false, summary: 'a schema referenced by a spec does not exist' },
  TRIB_SCHEMA_INVALID: { retriable: false, summary: 'an Avro schema file is malformed' },
  TRIB_TRANSFORM_INVALID: { retriable: false, summary: 'transform.ts does not export what the runtime calls' },
  TRIB_CODEGEN_STALE: { retriable: false, summary: 'generated record types differ from schemas/*.avsc' },

  // log (embedded and Kafka)
  TRIB_LOG_CORRUPT: { retriable: false, summary: 'the files of the log do not match its journal or fail their checksums (names the file and bytes; see tributary doctor)' },
  TRIB_LOG_LOCKED: { retriable: true, summary: 'another process holds the log writer lock for too long' },
  TRIB_TOPIC_NOT_FOUND: { retriable: false, summary: 'the topic does not exist' },
  TRIB_TOPIC_INVALID: { retriable: false, summary: 'invalid topic name or partition count' },
  TRIB_OFFSET_OUT_OF_RANGE: { retriable: false, summary: 'offset outside the partition' },
  TRIB_LOG_CLOSED: { retriable: false, summary: 'the log or consumer was closed' },
  TRIB_LOG_GROUP_BUSY: { retriable: true, summary: 'the consumer group already has a live member on that partition' },
  TRIB_LOG_REBALANCED: { retriable: true, summary: 'the group reassigned the partitions before the commit; uncommitted records are delivered again' },
  TRIB_KAFKA_UNAVAILABLE: { retriable: true, summary: 'the Kafka brokers could not be reached or did not answer in time' },
  TRIB_KAFKA_AUTH: { retriable: false, summary: 'Kafka rejected the credentials, or the client lacks an ACL for the operation' },
  TRIB_KAFKA_FENCED: { retriable: false, summary: 'another instance with the same transactional id took over (exactly-once fencing)' },
  TRIB_KAFKA_TRANSACTION: { retriable: true, summary: 'a Kafka transaction failed or its outcome is unknown; the consumer rewinds to the committed offsets' },

  // schema registry
  TRIB_REGISTRY_SUBJECT_NOT_FOUND: { retriable: false, summary: 'subject not found (Confluent 40401)' },
  TRIB_REGISTRY_VERSION_NOT_FOUND: { retriable: false, summary: 'version not found (Confluent 40402)' },
  TRIB_REGISTRY_SCHEMA_NOT_FOUND: { retriable: false, summary: 'schema id not found (Confluent 40403)' },
  TRIB_REGISTRY_INCOMPATIBLE: { retriable: false, summary: 'schema incompatible with earlier versions (Confluent 409)' },
  TRIB_REGISTRY_INVALID_SCHEMA: { retriable: false, summary: 'schema is not valid Avro (Confluent 42201)' },
  TRIB_REGISTRY_INVALID_COMPATIBILITY: { retriable: false, summary: 'unknown compatibility level (Confluent 42203)' },
  TRIB_REGISTRY_UNAVAILABLE: { retriable: true, summary: 'the schema registry could not be reached' },
  TRIB_REGISTRY_INVALID_VERSION: { retriable: false, summary: 'version is not a positive integer or "latest" (Confluent 42202)' },
  TRIB_REGISTRY_SUBJECT_SOFT_DELETED: { retriable: false, summary: 'subject is already soft-deleted (Confluent 40404)' },
  TRIB_REGISTRY_SUBJECT_NOT_SOFT_DELETED: { retriable: false, summary: 'permanent delete of a subject not soft-deleted first (Confluent 40405)' },
  TRIB_REGISTRY_VERSION_SOFT_DELETED: { retriable: false, summary: 'version is already soft-deleted (Confluent 40406)' },
  TRIB_REGISTRY_VERSION_NOT_SOFT_DELETED: { retriable: false, summary: 'permanent delete of a version not soft-deleted first (Confluent 40407)' },
  TRIB_REGISTRY_CORRUPT: { retriable: false, summary: 'the embedded registry file is damaged: a complete line fails its checksum, or the file was cut (names file, line and bytes)' },
  TRIB_REGISTRY_UNAUTHORIZED: { retriable: false, summary: 'the schema registry refused the credentials or the permission (HTTP 401/403)' },
  TRIB_REGISTRY_BAD_RESPONSE: { retriable: false, summary: 'the schema registry answered outside the Confluent REST API (status, error code or body)' },

  // per-record processing; each of these routes a record to the dead-letter topic
  TRIB_DECODE_MAGIC: { retriable: false, summary: 'value is not in the Confluent wire format (magic byte 0)' },
  TRIB_DECODE_UNKNOWN_SCHEMA: { retriable: false, summary: 'the schema id in the frame is not registered' },
  TRIB_DECODE_INCOMPATIBLE: { retriable: false, summary: "writer schema cannot be resolved to the port's reader schema" },
  TRIB_DECODE_AVRO: { retriable: false, summary: 'bytes do not decode with the writer schema' },
  TRIB_DECODE_JSON: { retriable: false, summary: 'value is not valid JSON' },
  TRIB_DECODE_ENVELOPE: { retriable: false, summary: 'value is not a valid Debezium change event' },
  TRIB_DECODE_UTF8: { retriable: false, summary: 'a string in the record is not valid UTF-8 (or holds a lone surrogate); the message names the field' },
  TRIB_RECORD_TOO_LARGE: { retriable: false, summary: 'record exceeds the configured maximum size' },
  TRIB_VALIDATE_TYPE: { retriable: false, summary: "record does not match the port's Avro type" },
  TRIB_VALIDATE_RULE: { retriable: false, summary: 'record breaks a contract rule of the port' },
  TRIB_TRANSFORM_FAILED: { retriable: false, summary: 'the transform threw for this record' },
  TRIB_TRANSFORM_OUTPUT: { retriable: false, summary: 'the transform returned an output that is not valid' },
  TRIB_TRANSFORM_TIMEOUT: { retriable: false, summary: 'an asynchronous transform call did not settle within processing.transformTimeout; its late result is ignored' },
  TRIB_ENCODE_FAILED: { retriable: false, summary: "an output does not encode with its port's schema" },

  // lake (Iceberg tables and their storage)
  TRIB_LAKE_STORAGE: { retriable: true, summary: 'the lake storage failed to read, write, list or delete a file' },
  TRIB_LAKE_FILE_NOT_FOUND: { retriable: false, summary: 'a file the lake expected is missing from its storage' },
  TRIB_LAKE_BUCKET_NOT_FOUND: { retriable: false, summary: 'the S3 bucket of the lake URI does not exist at the endpoint' },
  TRIB_LAKE_ACCESS_DENIED: { retriable: false, summary: 'the lake storage refused the credentials or denied access' },
  TRIB_LAKE_STORAGE_URI: { retriable: false, summary: 'a lake URI has an unsupported scheme or lies outside the storage root' },
  TRIB_LAKE_NOT_FOUND: { retriable: false, summary: 'the catalog has no such table (file catalog: no metadata/v<N>.metadata.json in its folder)' },
  TRIB_LAKE_EXISTS: { retriable: false, summary: 'the catalog already has a table with that identifier' },
  TRIB_LAKE_CORRUPT: { retriable: false, summary: 'a table metadata, manifest or data file is unreadable or breaks the Iceberg spec' },
  TRIB_LAKE_SCHEMA_UNSUPPORTED: { retriable: false, summary: 'an Avro type has no Iceberg equivalent' },
  TRIB_LAKE_SCHEMA_INCOMPATIBLE: { retriable: false, summary: 'a schema change would make existing table data unreadable' },
  TRIB_LAKE_INVALID_UPDATE: { retriable: false, summary: 'a table update is malformed or refers to something that does not exist' },
  TRIB_LAKE_COMMIT_CONFLICT: { retriable: false, summary: 'a commit requirement no longer holds against the latest table metadata' },
  TRIB_LAKE_COMMIT_RETRIES: { retriable: true, summary: 'a commit lost the race for the next metadata version too many times' },
  TRIB_LAKE_COMMIT_STATE_UNKNOWN: { retriable: false, summary: 'a commit may or may not have been written; reload the table before retrying' },
  TRIB_LAKE_SNAPSHOT_NOT_FOUND: { retriable: false, summary: 'no snapshot, branch or tag with that id, name or time' },
  TRIB_LAKE_ROW_INVALID: { retriable: false, summary: 'a row does not fit the table schema' },
  TRIB_LAKE_INVALID_IDENTIFIER: { retriable: false, summary: 'a table identifier (namespace and name) the catalog cannot hold' },
  TRIB_LAKE_CATALOG_UNAVAILABLE: { retriable: true, summary: 'the REST catalog could not be reached, or answered with a server error' },
  TRIB_LAKE_CATALOG_UNAUTHORIZED: { retriable: false, summary: 'the REST catalog refused the credentials or the permission (HTTP 401/403, or the OAuth2 token request)' },
  TRIB_LAKE_CATALOG_BAD_RESPONSE: { retriable: false, summary: 'the REST catalog answered outside the Iceberg REST protocol (status, error type or body)' },
  TRIB_LAKE_CLOSED: { retriable: false, summary: "the lake's resources (storage clients, DuckDB) were released: its runtime was closed" },
  TRIB_LAKE_OFFSETS_UNKNOWN: { retriable: false, summary: "the compactor cannot tell which input offsets a table's branch covers: its history was expired past the last snapshot that recorded them" },

  // SQL over the lake
  TRIB_QUERY_INVALID: { retriable: false, summary: 'the SQL does not parse' },
  TRIB_QUERY_FORBIDDEN: { retriable: false, summary: 'the statement is not a read-only query' },
  TRIB_QUERY_UNKNOWN_TABLE: { retriable: false, summary: 'the query names a table the lake does not have' },
  TRIB_QUERY_FAILED: { retriable: false, summary: 'the query failed while running' },

  // HTTP management ports
  TRIB_HTTP_NOT_FOUND: { retriable: false, summary: 'no such route' },
  TRIB_HTTP_METHOD_NOT_ALLOWED: { retriable: false, summary: 'the route does not take that method' },
  TRIB_HTTP_BAD_REQUEST: { retriable: false, summary: 'a parameter or the body is not valid' },
  TRIB_HTTP_BODY_TOO_LARGE: { retriable: false, summary: 'the request body exceeds the configured limit' },
  TRIB_HTTP_UNAUTHORIZED: { retriable: false, summary: 'the route needs a credential, or the credential given is not valid' },
  TRIB_HTTP_FORBIDDEN: { retriable: false, summary: 'the principal may not do what the route needs' },
  TRIB_HTTP_NOT_READY: { retriable: true, summary: 'the container is still opening its backends (Kafka, registry, S3); /readyz says why' },
  TRIB_HTTP_TOO_MANY_STREAMS: { retriable: true, summary: 'the client has too many subscriptions open' },

  // lifecycle
  TRIB_PRODUCT_NOT_FOUND: { retriable: false, summary: 'no product with that name' },
  TRIB_VERSION_STATE: { retriable: false, summary: "a promote or retire that the product's version state does not allow (never ran, retired, the served major, backfill or audit not done)" },
  TRIB_ENV_STATE: { retriable: false, summary: 'a dev environment cannot do that now (no such environment, already merged, an audit not passed, or main moved since the fork)' },
  TRIB_TEST_FIXTURE: { retriable: false, summary: 'a test fixture file is malformed or names a port the product does not have' },
  TRIB_TEST_FAILED: { retriable: false, summary: "a product's outputs, dead letters or table rows differ from its test fixtures" },
  TRIB_STATE_STORE: { retriable: false, summary: 'a local state store failed' },
  TRIB_DATA_DAMAGED: { retriable: false, summary: 'tributary doctor found damaged parts of the data folder (its report names them)' },
  TRIB_USAGE: { retriable: false, summary: 'invalid command-line usage' },
  TRIB_INTERNAL: { retriable: false, summary: 'an unexpected internal error' },
} as const satisfies Record<string, { retriable: boolean; summary: string }>

export type ErrorCode = keyof typeof errorCodes

export interface ErrorOptions {
  cause?: unknown
  /** Structured context: file, field path, topic/partition/offset… shown by the CLI and logged. */
  details?: Record<string, unknown>
}

export class TributaryError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TributaryError'
    this.code = code
    this.retriable = errorCodes[code].retriable
    this.details = options.details ?? {}
  }
}

export const isTributaryError = (e: unknown, code?: ErrorCode): e is TributaryError =>
  e instanceof TributaryError && (code === undefined || e.code === code)

/**
 * A message for any thrown value, without a stack. Never throws itself: a transform may throw
 * anything (an object without a prototype, one whose toString or message getter throws, a revoked
 * proxy), and reporting it must not become a second failure.
 */
export function messageOf(e: unknown): string {
  try {
    const m: unknown = e instanceof Error ? e.message : e
    if (typeof m === 'string') return m
    try {
      return String(m)
    } catch {
      return JSON.stringify(m) ?? Object.prototype.toString.call(m)
    }
  } catch {
    return 'a value that cannot be printed was thrown'
  }
}
