import type { Headers, OutgoingRecord } from '../log/log.ts'
import type { OutputPort } from '../product/load.ts'
import type { OutputRecord } from '../product/transform.ts'
import { keySubject, valueSubject } from '../registry/registry.ts'
import type { Codec, FrameEncoder, PathCount } from '../codec/index.ts'
import { TributaryError } from '../errors.ts'
import { compileContract, type ContractCheck } from './contract.ts'
import { compilePolicy, type PiiAction, type Redact } from './policy.ts'
import { keyExtractor, keySchemaOf } from '../product/keys.ts'
import { truncateHeaders, UNAVAILABLE_FROM_HEADER, UNAVAILABLE_HEADER, unavailableHeader } from '../log/change-headers.ts'
import { addFields, recordOf, type RecordSchema } from '../codec/types/additive.ts'

/** The type of a field an input port added (evolution: additive), or undefined. */
export type AddedFieldType = (field: string) => unknown

/**
 * Thrown by `encode` when an output of a port with `evolution: additive` carries fields its
 * schema lacks: `apply()` evolves the schema (registers the new version), after which the same
 * output encodes. Not an error: the processor applies it and encodes again.
 */
export class SchemaChange extends Error {
  constructor(readonly apply: () => Promise<void>) {
    super('the output schema evolves first')
  }
}

/**
 * Turns a transform output into a log record for its port: PII policy, the port's contract rules,
 * then Avro with the registered value and key schemas in the Confluent wire format.
 */
export class PortEncoder {
  readonly port: OutputPort
  #redact: Redact
  readonly #check: ContractCheck
  #value: FrameEncoder
  /** The value schema the port writes with now: the declared one, or what evolution made of it. */
  #schema: RecordSchema
  /** evolution: additive: its field names, and how the codec and the added fields' types are reached. */
  readonly #evolve: { names: Set<string>; codec: Codec; typeOf: AddedFieldType } | undefined
  readonly #key: FrameEncoder | undefined
  readonly #extractKey: ((v: Record<string, unknown>) => unknown) | undefined
  readonly #salt: string
  readonly #count: ((path: 'fast' | 'reference') => void) | undefined

  /** The output topic's partitions: a truncate goes into each (see TruncateBarrier). */
  readonly #partitions: number

  private constructor(port: OutputPort, value: FrameEncoder, key: FrameEncoder | undefined, salt: string, partitions: number, count: PathCount | undefined, evolve: { codec: Codec; typeOf: AddedFieldType } | undefined) {
    this.port = port
    this.#schema = recordOf(port.schema.schema, `schema ${port.schema.fullName}`)
    this.#evolve = evolve && { ...evolve, names: new Set(this.#schema.fields.map((f) => f.name)) }
    this.#partitions = partitions
    this.#salt = salt
    this.#count = count && ((path) => count('encode', path))
    this.#redact = compilePolicy(port.spec.policies?.pii ?? {}, salt)
    this.#check = compileContract(port.spec.contract?.fields)
    this.#value = value
    this.#key = key
    this.#extractKey = keyExtractor(port)
  }

  /**
   * `count` hears which codec path wrote each value (the metric). `addedType` gives the type of a
   * field an input port added, for a port with `evolution: additive`.
   */
  static async create(port: OutputPort, codec: Codec, salt: string, options: { partitions?: number; count?: PathCount; addedType?: AddedFieldType } = {}): Promise<PortEncoder> {
    const value = await codec.encoder('avro', valueSubject(port.spec.topic), port.schema.schema)
    const key = port.keyFields.length > 0 ? await codec.encoder('avro', keySubject(port.spec.topic), JSON.stringify(keySchemaOf(port))) : undefined
    const evolve = port.spec.evolution === 'additive' ? { codec, typeOf: options.addedType ?? (() => undefined) } : undefined
    return new PortEncoder(port, value, key, salt, options.partitions ?? port.spec.partitions, options.count, evolve)
  }

  /** The value schema the port writes with now (evolution: additive may have added fields). */
  get schema(): RecordSchema {
    return this.#schema
  }

  /**
   * evolution: additive: fields of `value` the schema lacks make a SchemaChange that adds them,
   * typed as the input port that added them reads them. A field no input added cannot be typed:
   * TRIB_ENCODE_FAILED naming it (never dropped).
   */
  #checkFields(value: Record<string, unknown>): void {
    const evolve = this.#evolve!
    let extra: string[] | undefined
    for (const name in value) if (!evolve.names.has(name) && value[name] !== undefined) (extra ??= []).push(name)
    if (extra === undefined) return
    const where = `output port ${this.port.spec.name}`
    const fields = extra.map((name) => {
      const type = evolve.typeOf(name)
      if (type === undefined)
        throw new TributaryError('TRIB_ENCODE_FAILED', `${where}: field ${name} is not in schema ${this.port.schema.fullName}, and no input port added it (evolution: additive follows the columns an input adds): declare it`, { details: { field: name } })
      return { name, type }
    })
    throw new SchemaChange(async () => {
      const { schema } = addFields(this.#schema, fields, { code: 'TRIB_ENCODE_FAILED', where })
      // Registered as a new version of the subject; the registry checks its compatibility.
      this.#value = await evolve.codec.encoder('avro', valueSubject(this.port.spec.topic), schema)
      this.#schema = schema
      for (const f of fields) evolve.names.add(f.name)
    })
  }

  /** Policies can change while running (control port); they apply to records encoded afterwards. */
  setPolicy(pii: Readonly<Record<string, PiiAction>>): void {
    this.#redact = compilePolicy(pii, this.#salt)
  }

  /** A truncate: one marker (no key, no value, the truncate header) in every partition of the topic. */
  truncate(out: OutputRecord, timestamp: number): OutgoingRecord[] {
    const { port } = this
    if (out.value !== undefined && out.value !== null) throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `output for port ${port.spec.name}: a truncate carries no value`)
    const headers = { ...toHeaders(out.headers ?? {}), ...truncateHeaders() }
    return Array.from({ length: this.#partitions }, (_, partition) => ({ topic: port.spec.topic, partition, key: null, value: null, timestamp: out.timestamp ?? timestamp, headers }))
  }

  encode(out: OutputRecord, timestamp: number): OutgoingRecord {
    const { port } = this
    if (out.value === undefined)
      throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `output for port ${port.spec.name}: value is missing (null for a tombstone)`)
    let value: Buffer | null = null
    let keyValue = out.key
    let unavailable: Buffer | undefined
    if (out.value !== null) {
      if (typeof out.value !== 'object')
        throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `output for port ${port.spec.name}: value must be an object or null`)
      const raw = out.value as Record<string, unknown>
      if (this.#evolve) this.#checkFields(raw)
      if (out.unavailable !== undefined) unavailable = this.#unavailable(out.unavailable)
      if (keyValue === undefined && this.#extractKey) keyValue = this.#extractKey(raw)
      const redacted = this.#redact(raw)
      const violation = this.#check(redacted)
      if (violation)
        throw new TributaryError('TRIB_VALIDATE_RULE', `output port ${port.spec.name}: ${violation.message}`, { details: { ...violation } })
      value = this.#value(redacted, this.#count)
    } else if (this.#key && keyValue === undefined) {
      throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `tombstone for port ${port.spec.name} needs a key`)
    }
    const key = this.#key && keyValue !== undefined && keyValue !== null ? this.#key(keyValue) : null
    const record: OutgoingRecord = { topic: port.spec.topic, key, value, timestamp: out.timestamp ?? timestamp }
    if (out.headers) record.headers = toHeaders(out.headers)
    if (unavailable) {
      record.headers = { ...record.headers, [UNAVAILABLE_HEADER]: unavailable }
      if (out.previousKey !== undefined && out.previousKey !== null && this.#key) {
        // A source's key struct ({ id: 42 }) gives the port's key fields; anything else is the key itself.
        const k = typeof out.previousKey === 'object' && this.#extractKey ? (this.#extractKey(out.previousKey as Record<string, unknown>) ?? out.previousKey) : out.previousKey
        record.headers[UNAVAILABLE_FROM_HEADER] = this.#key(k)
      }
    }
    return record
  }

  /** The header naming unavailable fields: each must be a nullable field of the port's schema (they are null in the value). */
  #unavailable(fields: Iterable<string>): Buffer | undefined {
    const names = [...fields]
    if (names.length === 0) return undefined
    for (const name of names) {
      const field = this.#schema.fields.find((f) => f.name === name)
      if (!field || !(Array.isArray(field.type) && field.type.includes('null')))
        throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `output for port ${this.port.spec.name}: unavailable field ${name} is not a nullable field of ${this.port.schema.fullName}`)
    }
    return unavailableHeader(names)
  }
}

const toHeaders = (h: Record<string, string | Buffer>): Headers =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]))
