import type { IcebergType, NestedField, PrimitiveType, Schema, StructType } from './types.ts'
import { maxOf } from '../../util/arrays.ts'

/** Small facts about Iceberg types and schemas, shared by the lake's modules. */

/** Iceberg's allowed type promotions: int to long, float to double, wider decimal precision. */
export function canPromote(from: IcebergType, to: PrimitiveType): boolean {
  if (typeof from !== 'string') return false
  if (from === to) return true
  if (from === 'int' && to === 'long') return true
  if (from === 'float' && to === 'double') return true
  const a = parseDecimalType(from)
  const b = parseDecimalType(to)
  return a !== undefined && b !== undefined && a.scale === b.scale && b.precision >= a.precision
}

export function parseDecimalType(t: string): { precision: number; scale: number } | undefined {
  const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(t)
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : undefined
}

/** Every field of a schema by id, nested ones included (list elements and map keys/values have no entry). */
export function fieldsById(schema: StructType): Map<number, NestedField> {
  const out = new Map<number, NestedField>()
  const visit = (type: IcebergType): void => {
    if (typeof type === 'string') return
    if (type.type === 'struct') {
      for (const f of type.fields) {
        out.set(f.id, f)
        visit(f.type)
      }
    } else if (type.type === 'list') visit(type.element)
    else {
      visit(type.key)
      visit(type.value)
    }
  }
  visit(schema)
  return out
}

/** The highest field id used anywhere in a type (element, key and value ids included). */
export function maxFieldId(type: IcebergType): number {
  if (typeof type === 'string') return 0
  if (type.type === 'struct') return maxOf([0, ...type.fields.map((f) => Math.max(f.id, maxFieldId(f.type)))])
  if (type.type === 'list') return Math.max(type['element-id'], maxFieldId(type.element))
  return Math.max(type['key-id'], type['value-id'], maxFieldId(type.key), maxFieldId(type.value))
}

/** True when two schemas have the same fields, ids and identifier fields (schema ids aside). */
export function sameSchema(a: Schema, b: Schema): boolean {
  return JSON.stringify([a.fields, a['identifier-field-ids'] ?? []]) === JSON.stringify([b.fields, b['identifier-field-ids'] ?? []])
}

/** The reserved field ids of position delete files (spec: "Reserved Field IDs"). */
export const FILE_PATH_ID = 2147483546
export const POS_ID = 2147483545

export const POSITION_DELETE_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: FILE_PATH_ID, name: 'file_path', required: true, type: 'string' },
    { id: POS_ID, name: 'pos', required: true, type: 'long' },
  ],
}
