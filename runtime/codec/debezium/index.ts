/**
 * Debezium CDC: change events (JSON with or without schema, Avro) -> canonical ChangeEvents, keys,
 * tombstones. The builders of Debezium events (sample data, tests) live in products/sample-data/debezium.
 */
export type { ChangeEvent, ChangeOp, RecordRef } from './types.ts'
export { JsonChangeReader, parseJsonChange } from './json.ts'
export { parseJsonText } from './connect-json.ts'
export {
  compileAvroChange,
  compileAvroValue,
  createEnvelopeType,
  createPlainType,
  rowSchemaOf,
  type AvroChangeCodec,
  type AvroValueCodec,
} from './avro.ts'
export { isTombstone, keyFromMessage, keyOf } from './keys.ts'
