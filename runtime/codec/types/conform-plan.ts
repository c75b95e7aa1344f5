import type { Type } from 'avsc'
import { CONFORM_FAIL, conformNode, type AnyType } from './conform.ts'
import { CanonicalType, DateType, DecimalType, UuidType } from './logical-types.ts'

/**
 * Conforming a row whose writer schema is known, planned once per (writer, reader) pair. A decoder
 * that produces canonical values (the Debezium fast path) knows what each writer field can hold,
 * so most reader fields need no check at all, and a row is built once, in the reader's shape.
 *
 * The plan is only an optimisation of `conform`: a step either provably returns what the reader's
 * conform node would return (identity), or runs that very node. A failing node returns
 * `failed`; the caller then conforms the row the ordinary way, which reports the error.
 */

/** What a writer field's canonical values look like. `text` values are formatted by us, hence canonical. */
export type Produces =
  | { kind: 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'string' | 'bytes' | 'other' }
  | { kind: 'text'; family: 'date' | 'time' | 'timestamp' | 'local-timestamp' | 'decimal' | 'uuid'; digits?: number; scale?: number }

/**
 * One writer field. Guarantees the producer must keep: `int` values are in the int32 range,
 * `long` values are int64s in the model's form (a safe number, else a bigint), `float` values are
 * float32s, `string` values are well formed (decoded from valid UTF-8), `bytes` are Buffers, `text`
 * comes from the value formatters (temporal.ts, decimal.ts) with `digits` fraction digits or at
 * `scale`, and `uuid` text is the canonical lowercase 8-4-4-4-12 form.
 */
export interface WriterField {
  name: string
  nullable: boolean
  produces: Produces
}

export type RowStep =
  /** The writer field at `from`, through `convert` when it needs one. */
  | { name: string; from: number; convert?: (value: unknown) => unknown }
  /** A reader field the writer lacks: its default (a fresh copy each time). */
  | { name: string; value: () => unknown }

export interface RowPlan {
  /** The reader's fields in order; build `{ [name]: step }` for each. */
  steps: RowStep[]
  /** What a `convert` returns when the value does not conform. */
  failed: unknown
}

/** undefined when the reader is not a record, or when every row would fail (a missing field with no default). */
export function planRow(reader: Type, writer: readonly WriterField[]): RowPlan | undefined {
  if (reader.typeName !== 'record') return undefined
  const index = new Map(writer.map((f, i) => [f.name, i]))
  const steps: RowStep[] = []
  for (const f of (reader as AnyType).fields!) {
    const from = index.get(f.name)
    if (from === undefined) {
      if (f.defaultValue() === undefined) return undefined
      steps.push({ name: f.name, value: () => f.defaultValue() })
      continue
    }
    const convert = fieldConvert(f.type, writer[from]!)
    steps.push(convert === undefined ? { name: f.name, from } : { name: f.name, from, convert })
  }
  return { steps, failed: CONFORM_FAIL }
}

function fieldConvert(reader: Type, writer: WriterField): ((value: unknown) => unknown) | undefined {
  let target = reader
  if (reader.typeName === 'union:unwrapped') {
    // ["null", T]: null stays null, anything else is T's business (the only branch of its kind).
    const branches = (reader as AnyType).types!
    const live = branches.filter((b) => b.typeName !== 'null')
    if (branches.length !== 2 || live.length !== 1) return conformNode(reader)
    target = live[0]!
  } else if (writer.nullable) {
    return conformNode(reader) // null where the reader takes none: the node refuses it
  }
  if (identical(target, writer.produces)) return undefined
  const node = conformNode(reader)
  const canonical = canonicalGuard(target, writer.produces)
  return canonical === undefined ? node : (v) => (typeof v === 'string' && canonical(v) ? v : node(v))
}

/** True when the reader's node returns every (non-null) value the writer produces unchanged. */
function identical(reader: Type, p: Produces): boolean {
  // Canonical uuid text is what a uuid reader holds, whatever its underlying type.
  if (reader instanceof UuidType) return p.kind === 'text' && p.family === 'uuid'
  if (reader instanceof CanonicalType) return false
  switch (reader.typeName) {
    case 'string':
      return p.kind === 'string' || p.kind === 'text'
    case 'long':
    case 'int':
      return p.kind === 'int' || (p.kind === 'long' && reader.typeName === 'long')
    case 'float':
      // The reader rounds to 32 bits, which only a float leaves as it is.
      return p.kind === 'float'
    case 'double':
      // A long becomes the nearest double, which is not the long.
      return p.kind === 'int' || p.kind === 'float' || p.kind === 'double'
    case 'boolean':
    case 'bytes':
    case 'null':
      return p.kind === reader.typeName
    default:
      return false
  }
}

/**
 * For text formatted in the reader's own unit, a cheap test that it is the canonical form the
 * reader's node would return unchanged: a four-digit year (the formatters write other years
 * with a sign) and, for decimals, no more integer digits than the precision leaves.
 */
function canonicalGuard(reader: Type, p: Produces): ((text: string) => boolean) | undefined {
  if (p.kind !== 'text' || !(reader instanceof CanonicalType) || p.family !== reader.family) return undefined
  if (reader instanceof DateType) return (t) => t.length === 10
  if (reader instanceof DecimalType) {
    const whole = reader.precision - reader.scale
    if (p.scale !== reader.scale || whole < 1) return undefined
    const fraction = reader.scale > 0 ? reader.scale + 1 : 0
    return (t) => t.length - fraction - (t.charCodeAt(0) === 45 ? 1 : 0) <= whole
  }
  const digits = (reader as unknown as { digits?: number }).digits
  if ((p.family === 'timestamp' || p.family === 'local-timestamp') && digits !== undefined && p.digits === digits) {
    const length = 20 + digits + (p.family === 'timestamp' ? 1 : 0)
    return (t) => t.length === length
  }
  return undefined
}
