import type { Logger } from 'pino'

/**
 * What a product's `transform.ts` exports: `export default defineTransform(...)` (or a named
 * `transform` export), and optionally `init(ctx)`, called once before the first record.
 */

/** c create, u update, d delete, r snapshot read, t truncate (the whole table; `value` is `{}`). */
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't'

/** One input record as the transform sees it: decoded, resolved to the port's reader schema, validated. */
export interface InputRecord<Port extends string = string, Value = Record<string, unknown>> {
  port: Port
  topic: string
  partition: number
  offset: number
  timestamp: number
  /** The decoded message key (a Debezium key struct, a string, a number…), or null. */
  key: unknown
  /** The row: `after` for c/u/r, `before` for d (CDC ports); the decoded value otherwise. */
  value: Value
  /** Debezium ports only: the change operation, and the row before the change. */
  op?: ChangeOp
  before?: Value | null
  /**
   * Debezium ports only, present when not empty: columns whose value the source did not send (an
   * unchanged TOASTed column of PostgreSQL with REPLICA IDENTITY DEFAULT). They are null in
   * `value`; pass the set on as the output's `unavailable` so that tables keep their stored value.
   */
  unavailable?: ReadonlySet<string>
  /** With `unavailable`, when the change also changed the primary key: the key the row had before. */
  previousKey?: unknown
  headers: Readonly<Record<string, Buffer>>
}

/**
 * One output. `value: null` emits a tombstone for the key (a delete downstream); `truncate: true`
 * (with no value) empties the port's tables downstream: its upsert snapshot and table-mode ports.
 */
export interface OutputRecord<Port extends string = string, Value = object> {
  port: Port
  value?: Value | null
  truncate?: boolean
  /**
   * Fields of `value` whose value is unknown (see InputRecord.unavailable): upsert snapshots and
   * table-mode ports keep what they hold for them. Sent as the header `tributary.unavailable`.
   */
  unavailable?: Iterable<string>
  /** With `unavailable`: the key whose stored values they keep, when it is not this row's (a key change). */
  previousKey?: unknown
  /** Defaults to the port's key fields taken from `value`; required for tombstones on keyed ports. */
  key?: unknown
  headers?: Record<string, string | Buffer>
  /** Defaults to the input record's timestamp. */
  timestamp?: number
}

/** A small durable key-value store private to the product, committed atomically with its outputs. */
export interface StateStore {
  get<T = unknown>(key: string): T | undefined
  put(key: string, value: unknown): void
  delete(key: string): void
}

export interface TransformContext {
  readonly product: string
  /** Latest value for a key on a table-mode input port, or undefined. Keys compare by canonical string. */
  lookup<T = Record<string, unknown>>(port: string, key: unknown): T | undefined
  readonly state: StateStore
  readonly log: Logger
}

type Many<T> = T | T[] | null | undefined | void
export type TransformResult<O> = Many<O> | Promise<Many<O>>

/** Record types per port, for typing: `defineTransform<{ users: User }, { profiles: UserProfile }>(…)`. */
export type InputOf<I> = { [P in keyof I & string]: InputRecord<P, I[P]> }[keyof I & string]
export type OutputOf<O> = { [P in keyof O & string]: OutputRecord<P, O[P]> }[keyof O & string]

export type TransformFn<I = Record<string, Record<string, unknown>>, O = Record<string, object>> = (
  record: InputOf<I>,
  ctx: TransformContext,
) => TransformResult<OutputOf<O>>

export interface TransformModule {
  transform: TransformFn<any, any>
  init?: (ctx: TransformContext) => void | Promise<void>
}

/** Identity helper that gives a transform its types. */
export const defineTransform = <I = Record<string, Record<string, unknown>>, O = Record<string, object>>(
  fn: TransformFn<I, O>,
): TransformFn<I, O> => fn
