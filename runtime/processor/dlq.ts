import type { LogRecord, OutgoingRecord } from '../log/log.ts'
import { TributaryError, messageOf } from '../errors.ts'

/** Where in the pipeline a record failed. */
export type Stage = 'decode' | 'validate' | 'transform' | 'encode'

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
} as const

const maxMessage = 1000

/**
 * A dead letter keeps the original key and value bytes untouched, the original headers, and says
 * why, where and from which record, so it can be inspected and replayed.
 */
export function deadLetter(dlqTopic: string, source: LogRecord, stage: Stage, port: string, error: unknown): OutgoingRecord {
  const code = error instanceof TributaryError ? error.code : stage === 'transform' ? 'TRIB_TRANSFORM_FAILED' : 'TRIB_INTERNAL'
  const text = messageOf(error)
  return {
    topic: dlqTopic,
    partition: 0,
    key: source.key,
    value: source.value,
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
    },
  }
}
