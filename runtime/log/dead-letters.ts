import type { LogRecord, OutgoingRecord } from './log.ts'
import { TributaryError, messageOf } from '../errors.ts'

/** Where in the pipeline a record failed; `sink`: the lake table could not hold it. */
export type Stage = 'decode' | 'validate' | 'transform' | 'encode' | 'sink'

/** Header names on dead letters; stable, documented in the README. */
export const dlqHeaders = {
  code: 'tributary.error.code',
  message: 'tributary.error.message',
  stage: 'tributary.error.stage',
  port: 'tributary.error.port',
  topic: 'tributary.source.topic',
  partition: 'tributary.source.partition',
  offset: 'tributary.source.offset',
  timestamp: 'tributary.source.timestamp',
  /** Set only when the value was too large to copy: its size in bytes. */
  valueBytes: 'tributary.source.value-bytes',
} as const

const maxMessage = 1000

/**
 * Largest dead letter: DLQ topics are created to accept it (Kafka's default of 1 MiB would refuse
 * the very records TRIB_RECORD_TOO_LARGE sends there, and a refused batch blocks the processor).
 */
export const DLQ_MAX_RECORD_BYTES = 16 * 1024 * 1024
/** Room kept for the headers we add and the record's framing. */
const copyLimit = DLQ_MAX_RECORD_BYTES - 256 * 1024

/**
 * A dead letter keeps the original key and value bytes untouched, the original headers, and says
 * why, where and from which record, so it can be inspected and replayed. A value too large for
 * the dead-letter topic is not copied: its size is recorded and it stays at the named source offset.
 */
export function deadLetter(dlqTopic: string, source: LogRecord, stage: Stage, port: string, error: unknown): OutgoingRecord {
  const code = error instanceof TributaryError ? error.code : stage === 'transform' ? 'TRIB_TRANSFORM_FAILED' : 'TRIB_INTERNAL'
  const oversized = (source.key?.length ?? 0) + (source.value?.length ?? 0) > copyLimit
  const text = oversized ? `${messageOf(error)} (the value is not copied here: see ${source.topic}/${source.partition}@${source.offset})` : messageOf(error)
  return {
    topic: dlqTopic,
    partition: 0,
    key: source.key,
    value: oversized ? null : source.value,
    timestamp: source.timestamp,
    headers: {
      ...source.headers,
      [dlqHeaders.code]: Buffer.from(code),
      [dlqHeaders.message]: Buffer.from(text.length > maxMessage ? `${text.slice(0, maxMessage - 3)}...` : text),
      [dlqHeaders.stage]: Buffer.from(stage),
      [dlqHeaders.port]: Buffer.from(port),
      [dlqHeaders.topic]: Buffer.from(source.topic),
      [dlqHeaders.partition]: Buffer.from(String(source.partition)),
      [dlqHeaders.offset]: Buffer.from(String(source.offset)),
      [dlqHeaders.timestamp]: Buffer.from(String(source.timestamp)),
      ...(oversized ? { [dlqHeaders.valueBytes]: Buffer.from(String(source.value?.length ?? 0)) } : {}),
    },
  }
}

/** The stage of a decode-time failure: validate for a type or rule violation, decode otherwise. */
export const stageOf = (e: unknown): Stage => {
  const code = e instanceof TributaryError ? e.code : ''
  return code.startsWith('TRIB_VALIDATE') ? 'validate' : 'decode'
}
