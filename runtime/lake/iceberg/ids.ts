import { randomBytes } from 'node:crypto'
import { INT64_MAX, narrow, toInt64, type Int64 } from '../../codec/values/long.ts'

/**
 * Iceberg's 64-bit integers in table metadata, manifests and manifest lists, held exactly.
 *
 * Snapshot ids are opaque int64s: Java and pyiceberg draw random 63-bit ones, so most are beyond
 * 2^53. They are kept in the value model's int64 form (runtime/codec/VALUES.md): a `number` while
 * it is a safe integer, a `bigint` beyond. That form is unique per value, so two equal ids are
 * `===` and work as Map and Set keys; every reader here produces it (`toSnapshotId`).
 *
 * Quantities (sequence numbers, timestamps in ms, file sizes, row and file counts, file offsets)
 * are `number`s: no real table reaches 2^53 of any of them (2^53 bytes is 8 PiB in one file), so
 * a value beyond is refused as corrupt with the field named (`quantity`), never rounded.
 */
export type SnapshotId = Int64

/**
 * An int64 as a snapshot id in its one form, or undefined: a safe integer stays, a bigint in range
 * is narrowed; a number that is not a safe integer may already be rounded and is refused.
 */
export const toSnapshotId: (v: unknown) => SnapshotId | undefined = toInt64

/** A snapshot id written in decimal (a command-line argument), or undefined when it is not one. */
export function parseSnapshotId(text: string): SnapshotId | undefined {
  return /^-?\d{1,19}$/.test(text) ? toSnapshotId(BigInt(text)) : undefined
}

/**
 * A new snapshot id: a random positive 63-bit integer, as Java (SnapshotIdGeneratorUtil) and
 * pyiceberg draw them, never one `taken` says is in use. Full 63 bits rather than a safe range so
 * that every table this runtime writes exercises the same exact paths foreign tables need.
 */
export function newSnapshotId(taken: (id: SnapshotId) => boolean = () => false): SnapshotId {
  for (;;) {
    const id = narrow(randomBytes(8).readBigUInt64BE(0) & INT64_MAX)
    if (id !== 0 && !taken(id)) return id
  }
}

/** Orders ids numerically (for stable output); mixed number/bigint compare exactly in JS. */
export const compareIds = (a: SnapshotId, b: SnapshotId): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * A quantity read from metadata (see above) as a number, or undefined when it is not an integer
 * within ±2^53 (callers raise TRIB_LAKE_CORRUPT naming the file and field).
 */
export function quantity(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined
  if (typeof v === 'bigint') return v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : undefined
  return undefined
}

/** A value for a message: exact for bigints, JSON for the rest (what was found, as found). */
export const shown = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? JSON.stringify(v) : String(v))
