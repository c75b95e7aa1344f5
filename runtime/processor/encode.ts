import type { Headers, OutgoingRecord } from '../log/log.ts'
import type { OutputPort } from '../product/load.ts'
import type { OutputRecord } from '../product/transform.ts'
import { keySubject, valueSubject } from '../registry/registry.ts'
import type { Serde } from '../codec/avro/serde.ts'
import { TributaryError } from '../errors.ts'
import { compileContract, type ContractCheck } from './contract.ts'
import { compilePolicy, type PiiAction, type Redact } from './policy.ts'
import { keyExtractor, keySchemaOf } from '../product/keys.ts'

/**
 * Turns a transform output into a log record for its port: PII policy, the port's contract rules,
 * then Avro with the registered value and key schemas in the Confluent wire format.
 */
export class PortEncoder {
  readonly port: OutputPort
  #redact: Redact
  readonly #check: ContractCheck
  readonly #value: (v: unknown) => Buffer
  readonly #key: ((k: unknown) => Buffer) | undefined
  readonly #extractKey: ((v: Record<string, unknown>) => unknown) | undefined
  readonly #salt: string

  private constructor(port: OutputPort, value: (v: unknown) => Buffer, key: ((k: unknown) => Buffer) | undefined, salt: string) {
    this.port = port
    this.#salt = salt
    this.#redact = compilePolicy(port.spec.policies?.pii ?? {}, salt)
    this.#check = compileContract(port.spec.contract?.fields)
    this.#value = value
    this.#key = key
    this.#extractKey = keyExtractor(port)
  }

  static async create(port: OutputPort, serde: Serde, salt: string): Promise<PortEncoder> {
    const value = await serde.encoder(valueSubject(port.spec.topic), port.schema.schema)
    const key = port.keyFields.length > 0 ? await serde.encoder(keySubject(port.spec.topic), JSON.stringify(keySchemaOf(port))) : undefined
    return new PortEncoder(port, value, key, salt)
  }

  /** Policies can change while running (control port); they apply to records encoded afterwards. */
  setPolicy(pii: Readonly<Record<string, PiiAction>>): void {
    this.#redact = compilePolicy(pii, this.#salt)
  }

  encode(out: OutputRecord, timestamp: number): OutgoingRecord {
    const { port } = this
    let value: Buffer | null = null
    let keyValue = out.key
    if (out.value !== null) {
      if (typeof out.value !== 'object')
        throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `output for port ${port.spec.name}: value must be an object or null`)
      const raw = out.value as Record<string, unknown>
      if (keyValue === undefined && this.#extractKey) keyValue = this.#extractKey(raw)
      const redacted = this.#redact(raw)
      const violation = this.#check(redacted)
      if (violation)
        throw new TributaryError('TRIB_VALIDATE_RULE', `output port ${port.spec.name}: ${violation.message}`, { details: { ...violation } })
      value = this.#value(redacted)
    } else if (this.#key && keyValue === undefined) {
      throw new TributaryError('TRIB_TRANSFORM_OUTPUT', `tombstone for port ${port.spec.name} needs a key`)
    }
    const key = this.#key && keyValue !== undefined && keyValue !== null ? this.#key(keyValue) : null
    const record: OutgoingRecord = { topic: port.spec.topic, key, value, timestamp: out.timestamp ?? timestamp }
    if (out.headers) record.headers = toHeaders(out.headers)
    return record
  }
}

const toHeaders = (h: Record<string, string | Buffer>): Headers =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]))
