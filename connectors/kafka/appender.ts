import { TributaryError } from '../../runtime/errors.ts'
import type { OutgoingRecord, RecordPosition } from '../../runtime/log/log.ts'
import { Mutex } from '../shared/mutex.ts'
import type { Driver, ProducerWire } from './driver.ts'
import { toTributaryError } from './errors.ts'
import type { ResolvedKafkaOptions } from './options.ts'
import { describeFailure, sendChunks, type PartitionCounts, type Planner } from './planner.ts'

/**
 * Appends outside transactions, through one idempotent producer. Sends are serialized: an
 * idempotent producer's sequence numbers break (OUT_OF_ORDER_SEQUENCE_NUMBER) under concurrent
 * sends. After a failure the producer is replaced, so a retried append starts clean (a retry may
 * then repeat records that did land: at-least-once). An append spanning several chunks is not
 * atomic.
 */
export class Appender {
  private producer: Promise<ProducerWire<unknown>> | undefined
  private readonly mutex = new Mutex()
  private closed = false

  constructor(
    private readonly driver: Driver,
    private readonly options: ResolvedKafkaOptions,
    private readonly role: string,
    private readonly planner: Planner,
    private readonly counts: PartitionCounts,
  ) {}

  append(records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (records.length === 0) return Promise.resolve([])
    return this.mutex.run(async () => {
      if (this.closed) throw new TributaryError('TRIB_LOG_CLOSED', `Kafka producer ${this.role} is closed`)
      const chunks = await this.planner.plan(records, this.counts)
      const producer = await this.connect()
      try {
        return await sendChunks((chunk) => producer.send(chunk), chunks, records.length)
      } catch (e) {
        this.reset()
        throw describeFailure(e, records)
      }
    })
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true
      this.reset()
    })
  }

  private connect(): Promise<ProducerWire<unknown>> {
    if (this.producer === undefined) {
      const producer = this.driver.producer(this.options, this.role)
      const connecting = producer.connect().then(() => producer)
      this.producer = connecting
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined
      })
    }
    return this.producer.catch((e: unknown) => {
      throw toTributaryError(e, `connecting a Kafka producer to ${this.options.kafka.brokers.join(',')}`)
    })
  }

  private reset(): void {
    const p = this.producer
    this.producer = undefined
    p?.then((x) => x.close()).catch(() => undefined)
  }
}
