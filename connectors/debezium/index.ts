/**
 * Debezium CDC: change events (JSON with or without schema, Avro) -> canonical ChangeEvents, keys,
 * tombstones, and builders of Debezium events for tests and sample data.
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
export { parseExact, stringifyExact } from './json-exact.ts'
export type { ColumnDef, ColumnType, TableDef } from './build-schema.ts'
export { avroEnvelopeSchema, avroKeySchema, avroValueSchema } from './build-avro.ts'
export { connectEnvelopeSchema, connectKeySchema } from './build-connect.ts'
export {
  buildAvro,
  buildAvroTombstone,
  buildJson,
  buildJsonTombstone,
  type BuiltAvro,
  type BuiltJson,
  type ChangeSpec,
  type Row,
} from './build.ts'
