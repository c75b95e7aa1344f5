/**
 * Builders of Debezium change events (PostgreSQL connector) for the sample-data generator and the
 * tests: kept out of the runtime, which only reads such events (runtime/codec/debezium).
 */
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
