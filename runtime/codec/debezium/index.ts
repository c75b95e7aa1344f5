/**
 * Debezium CDC: change events (JSON with or without schema, Avro) -> canonical ChangeEvents, keys,
 * tombstones. The builders of Debezium events (sample data, tests) live in products/sample-data/debezium.
 */
export type { ChangeEvent, ChangeOp, RecordRef } from './types.ts'
export { parseJsonChange, parseJsonText } from './json.ts'
export {
  compileAvroChange,
  compileAvroValue,
  createEnvelopeType,
  createPlainType,
  exactLongType,
  rowSchemaOf,
  type AvroChangeCodec,
  type AvroValueCodec,
} from './avro.ts'
export { canonicalKeyString, isTombstone, keyFromMessage, keyOf } from './keys.ts'
export { parseExact, stringifyExact } from '../json/exact.ts'
