import { TributaryError } from '../../errors.ts'
import { formatPath } from '../types/describe.ts'
import { decodeEscaped, findIllFormed, isUtf8 } from '../values/utf8.ts'
import { parseExact } from './exact.ts'

/**
 * JSON bytes to values of the model: UTF-8 checked (Node would make U+FFFD of bad bytes without a
 * word), integers exact (json/exact.ts). `where` prefixes messages ('podcast.plays[2]@41'), when given.
 * Throws TRIB_DECODE_UTF8 naming the field whose string is not valid UTF-8 or holds a lone
 * surrogate (a `\ud800` escape), and TRIB_DECODE_JSON when it is not JSON.
 */
export function parseJsonBytes(bytes: Buffer | string, where: string): unknown {
  if (typeof bytes === 'string') return parseText(bytes, where, false)
  const text = bytes.toString('utf8')
  if (text.indexOf('\uFFFD') >= 0 && !isUtf8(bytes)) return parseText(decodeEscaped(bytes), where, true)
  return parseText(text, where, false)
}

// A \uD800-\uDFFF escape may leave a lone surrogate in a string; only then is the value searched.
const surrogateEscape = /\\u[dD][89a-fA-F]/

function parseText(text: string, where: string, escaped: boolean): unknown {
  const at = where ? `${where}: ` : ''
  let value: unknown
  try {
    value = parseExact(text)
  } catch (e) {
    throw new TributaryError('TRIB_DECODE_JSON', `${at}value is not valid JSON (${(e as Error).message})`, { cause: e })
  }
  if (escaped || surrogateEscape.test(text)) {
    const path = findIllFormed(value)
    if (path !== undefined) {
      const field = formatPath(path) || 'value'
      throw new TributaryError('TRIB_DECODE_UTF8', `${at}field ${field} is not valid UTF-8`, { details: { field } })
    }
  }
  return value
}
