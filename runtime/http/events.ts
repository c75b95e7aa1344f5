import type { ServerResponse } from 'node:http'
import type { Log, LogRecord, StartFrom } from '../log/log.ts'
import { parseFrom } from '../log/start-from.ts'
import { type Codec, viewIds, writeJson } from '../codec/index.ts'
import { isTributaryError } from '../errors.ts'
import type { Redact } from '../processor/policy.ts'
import { httpError } from './respond.ts'

/**
 * An output port as a stream of JSON events (Server-Sent Events, or NDJSON): history from any
 * position, then live records. Each event's id is the position just after it: the product's major,
 * then one `partition:offset` pair per partition (`2@0:13,1:40,2:7`), so a client resuming with
 * `Last-Event-ID` (or `from=` that id) gets exactly the records after it, on the same major's
 * topic even after another major was promoted: no gap, no duplicate, no switch of schema under
 * it. Writes wait for the socket to drain, so a slow client holds at most one small batch in server
 * memory.
 */
export type Positions = Map<number, number>

const VECTOR = /^\d+:\d+(,\d+:\d+)*$/
const EVENT_ID = /^(?:(\d+)@)?(\d+:\d+(?:,\d+:\d+)*)$/

/**
 * The major an event id belongs to, when it names one. Ids without a major come from before
 * products had majors side by side, so from the major that has the plain names (0 or 1).
 */
export function eventIdMajor(id: string | undefined): number | 'legacy' | undefined {
  const m = id === undefined ? null : EVENT_ID.exec(id)
  if (!m) return undefined
  return m[1] === undefined ? 'legacy' : Number(m[1])
}

const formatPositions = (p: Positions): string => [...p].sort(([a], [b]) => a - b).map(([k, v]) => `${k}:${v}`).join(',')

function parsePositions(text: string): Positions | undefined {
  if (!VECTOR.test(text)) return undefined
  return new Map(text.split(',').map((pair) => pair.split(':').map(Number) as [number, number]))
}

/** Where to start: a position vector (Last-Event-ID wins), or earliest/latest/offset/time. */
export async function startPositions(log: Log, topic: string, from: string | undefined, lastEventId: string | undefined): Promise<Positions> {
  const info = await log.describeTopic(topic)
  if (!info) throw httpError('TRIB_HTTP_NOT_FOUND', `topic ${topic} does not exist yet`)
  const resume = lastEventId ?? (from && EVENT_ID.test(from) ? from : undefined)
  if (resume !== undefined) {
    const vector = parsePositions(EVENT_ID.exec(resume)?.[2] ?? resume)
    if (!vector) throw httpError('TRIB_HTTP_BAD_REQUEST', `Last-Event-ID ${JSON.stringify(resume.slice(0, 100))} is not an event id of this stream (partition:offset pairs)`)
    return new Map(info.partitions.map((p) => [p.partition, Math.min(Math.max(vector.get(p.partition) ?? p.start, p.start), p.end)]))
  }
  let start: StartFrom
  try {
    start = parseFrom(from ?? 'latest')
  } catch (e) {
    if (isTributaryError(e, 'TRIB_USAGE')) throw httpError('TRIB_HTTP_BAD_REQUEST', `from=${JSON.stringify((from ?? '').slice(0, 100))}: expected earliest, latest, an offset, an ISO 8601 time or an event id`)
    throw e
  }
  if (start.kind === 'timestamp') return new Map((await log.offsetsForTimestamp(topic, start.timestamp)).map((o) => [o.partition, o.offset]))
  return new Map(info.partitions.map((p) => [p.partition, start.kind === 'earliest' ? p.start : start.kind === 'latest' ? p.end : Math.min(Math.max(start.offset, p.start), p.end)]))
}

export interface StreamOptions {
  log: Log
  codec: Codec
  topic: string
  positions: Positions
  format: 'sse' | 'ndjson'
  res: ServerResponse
  /** The major of the product whose port this is: event ids start with it. */
  major: number
  /** Resolves when the client is gone; the stream then ends. */
  closed: Promise<void>
  heartbeatMs?: number
  /** The reader's PII policy, applied to each decoded record value (runtime/access reader policies). */
  redact?: Redact
}

export async function streamEvents(o: StreamOptions): Promise<void> {
  const { log, codec, topic, res, positions } = o
  const consumer = log.consumer({ group: null, topics: [topic], from: { kind: 'earliest' } })
  let gone = false
  void o.closed.then(() => (gone = true))
  try {
    for (const [partition, offset] of positions) consumer.seek({ topic, partition, offset })
    res.writeHead(200, {
      'content-type': o.format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    if (o.format === 'sse') await write(res, `retry: 2000\n: position ${o.major}@${formatPositions(positions)}\n\n`)
    let lastWrite = Date.now()
    while (!gone) {
      const records = await Promise.race([consumer.poll({ maxRecords: 200, maxWaitMs: 1000 }), o.closed.then(() => [] as LogRecord[])])
      if (gone) break
      if (records.length === 0) {
        if (o.format === 'sse' && Date.now() - lastWrite >= (o.heartbeatMs ?? 15_000)) {
          await write(res, ': keep-alive\n\n')
          lastWrite = Date.now()
        }
        continue
      }
      await codec.prefetch(viewIds(records))
      for (const r of records) {
        positions.set(r.partition, r.offset + 1)
        const id = `${o.major}@${formatPositions(positions)}`
        const view = codec.view(r)
        const json = writeJson({ id, partition: r.partition, offset: r.offset, timestamp: view.timestamp, key: view.key, ...shown(view.value, o.redact) })
        // Backpressure: nothing more is read while the client's socket is full.
        if (!(await write(res, o.format === 'sse' ? `id: ${id}\nevent: record\ndata: ${json}\n\n` : `${json}\n`))) return
        if (gone) return
      }
      lastWrite = Date.now()
    }
  } finally {
    await consumer.close()
    if (!res.writableEnded) res.end()
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)

/** The value under the reader's policy; one that did not decode to a record cannot be redacted, so it is withheld. */
function shown(value: unknown, redact: Redact | undefined): { value: unknown; withheld?: string } {
  if (!redact || value === null) return { value }
  if (isRecord(value)) return { value: redact(value) }
  return { value: null, withheld: 'the value did not decode to a record, so the reader policy of this port cannot be applied to it' }
}

/** Writes, and waits for 'drain' when the socket buffer is full; false when the client went away. */
async function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false
  if (res.write(chunk)) return true
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done).off('error', done)
      resolve()
    }
    res.on('drain', done).on('close', done).on('error', done)
  })
  return !res.destroyed
}
