import { TributaryError } from '../errors.ts'
import type { StartFrom } from './log.ts'

/** `earliest`, `latest`, an offset, or an ISO 8601 time, as `tail --from` and subscriptions' `from=` take it. */
export function parseFrom(text: string): StartFrom {
  if (text === 'earliest' || text === 'beginning') return { kind: 'earliest' }
  if (text === 'latest' || text === 'end') return { kind: 'latest' }
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: Number(text) }
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return { kind: 'timestamp', timestamp: Date.parse(text) }
  throw new TributaryError('TRIB_USAGE', `--from ${JSON.stringify(text)}: expected earliest, latest, an offset or an ISO 8601 time`)
}
