/**
 * JSON that keeps integers beyond 2^53 exact (the int64 of the value model). Debezium 2.6+ puts
 * `ts_ns` (≈1.7e18) in every event and NanoTimestamp columns exceed 2^53 too; JSON.parse would
 * silently round them. Integers that are not safe become bigints; a number too large for a double
 * (1e400) is refused rather than read as Infinity; everything else parses as JSON.parse would.
 *
 * The native parser is used whenever the text has no run of 16+ digits and no exponent of three
 * digits (nothing unsafe can hide there); otherwise a small recursive-descent parser runs. Both
 * reject the same inputs.
 */

const needsExact = /\d{16}|[eE][+-]?\d{3}/

export function parseExact(text: string): unknown {
  if (!needsExact.test(text)) return JSON.parse(text) as unknown
  const parser = new Parser(text)
  parser.ws()
  const value = parser.value()
  parser.ws()
  if (parser.pos !== text.length) parser.fail('unexpected data after the JSON value')
  return value
}

const numberToken = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const needsDecoding = /[\\\u0000-\u001f]/
const stringEnd = /["\\\u0000-\u001f]/g

class Parser {
  pos = 0
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new SyntaxError(`${message} at position ${this.pos} in JSON`)
  }

  ws(): void {
    const t = this.text
    let c = t.charCodeAt(this.pos)
    while (c === 32 || c === 10 || c === 13 || c === 9) c = t.charCodeAt(++this.pos)
  }

  value(): unknown {
    const c = this.text[this.pos]
    switch (c) {
      case '{':
        return this.object()
      case '[':
        return this.array()
      case '"':
        return this.string()
      case 't':
        return this.literal('true', true)
      case 'f':
        return this.literal('false', false)
      case 'n':
        return this.literal('null', null)
      default:
        return this.number()
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected token')
    this.pos += word.length
    return value
  }

  private number(): number | bigint {
    const t = this.text
    const start = this.pos
    let i = t.charCodeAt(start) === 45 /* - */ ? start + 1 : start
    const digitsFrom = i
    let c = t.charCodeAt(i)
    while (c >= 48 && c <= 57) c = t.charCodeAt(++i)
    const digits = i - digitsFrom
    if (c === 46 /* . */ || c === 101 /* e */ || c === 69 /* E */ || digits === 0 || (digits > 1 && t.charCodeAt(digitsFrom) === 48)) {
      return this.float() // fractions, exponents, and the malformed cases (no digits, leading zero)
    }
    this.pos = i
    const token = t.slice(start, i)
    if (digits < 16) return Number(token)
    const n = Number(token)
    return Number.isSafeInteger(n) ? n : BigInt(token)
  }

  private float(): number {
    numberToken.lastIndex = this.pos
    const m = numberToken.exec(this.text)
    if (m === null) this.fail('unexpected token')
    const n = Number(m[0])
    if (!Number.isFinite(n)) this.fail(`number ${m[0].slice(0, 40)} is beyond the range of a double`)
    this.pos = numberToken.lastIndex
    return n
  }

  private string(): string {
    const start = this.pos
    // Fast path: the next quote ends the string and nothing in between needs decoding.
    const quote = this.text.indexOf('"', start + 1)
    if (quote > 0) {
      const raw = this.text.slice(start + 1, quote)
      if (!needsDecoding.test(raw)) {
        this.pos = quote + 1
        return raw
      }
    }
    stringEnd.lastIndex = start + 1
    let escaped = false
    for (;;) {
      const m = stringEnd.exec(this.text)
      if (m === null) this.fail('unterminated string')
      if (m[0] === '"') {
        this.pos = stringEnd.lastIndex
        break
      }
      if (m[0] !== '\\') {
        this.pos = m.index
        this.fail('control character in string')
      }
      escaped = true
      stringEnd.lastIndex = m.index + 2 // skip the escaped character; \uXXXX digits never match
    }
    // Escapes are rare in Debezium payloads; let the native parser decode them exactly.
    return escaped ? (JSON.parse(this.text.slice(start, this.pos)) as string) : this.text.slice(start + 1, this.pos - 1)
  }

  private array(): unknown[] {
    this.pos++
    const out: unknown[] = []
    this.ws()
    if (this.text[this.pos] === ']') {
      this.pos++
      return out
    }
    for (;;) {
      this.ws()
      out.push(this.value())
      this.ws()
      const c = this.text[this.pos++]
      if (c === ']') return out
      if (c !== ',') this.fail("expected ',' or ']'")
    }
  }

  private object(): Record<string, unknown> {
    this.pos++
    const out: Record<string, unknown> = {}
    this.ws()
    if (this.text[this.pos] === '}') {
      this.pos++
      return out
    }
    for (;;) {
      this.ws()
      if (this.text[this.pos] !== '"') this.fail('expected a property name')
      const key = this.string()
      this.ws()
      if (this.text[this.pos++] !== ':') this.fail("expected ':'")
      this.ws()
      const value = this.value()
      // An own property, as JSON.parse makes it; plain assignment of __proto__ would set the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      else out[key] = value
      this.ws()
      const c = this.text[this.pos++]
      if (c === '}') return out
      if (c !== ',') this.fail("expected ',' or '}'")
    }
  }
}

/**
 * Where the JSON value starting at `pos` ends (exclusive), without building it or validating it:
 * brackets are counted outside strings. -1 when the text ends first. Lets callers slice a
 * sub-document (a wrapper's schema) and parse or cache it on its own.
 */
export function skipValue(text: string, pos: number): number {
  let depth = 0
  for (let i = pos; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // Strings are most of the bytes: jump over them natively.
      i = text.indexOf('"', i + 1)
      while (i > 0 && escapedQuote(text, i)) i = text.indexOf('"', i + 1)
      if (i < 0) return -1
      if (depth === 0) return i + 1
    } else if (c === 123 /* { */ || c === 91 /* [ */) depth++
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (--depth === 0) return i + 1
    } else if (depth === 0 && (c === 44 /* , */ || c === 32 || c === 10 || c === 13 || c === 9)) return i
  }
  return depth === 0 ? text.length : -1
}

/** Whether the quote at `at` is escaped: preceded by an odd number of backslashes. */
function escapedQuote(text: string, at: number): boolean {
  let n = 0
  for (let i = at - 1; text.charCodeAt(i) === 92; i--) n++
  return n % 2 === 1
}
