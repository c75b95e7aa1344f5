/**
 * Dates, times and timestamps as the canonical strings of the value model (../VALUES.md), and
 * back. `digits` is the number of fraction digits of the unit: 3 (millis), 6 (micros), 9 (nanos).
 * Parsing is exact: a string with more precision than the unit holds is refused unless the extra
 * digits are zeros. Counts are int64 in the model's form (a number while safe, else a bigint), so
 * timestamps after 2255 in micros (or 2262 in nanos) and years beyond 9999 stay exact.
 *
 * Years outside 0000..9999 are written as JavaScript writes them (a sign and six digits, seven for
 * the far dates an int32 day count reaches), so `new Date(text)` reads every timestamp a JS Date
 * can hold; other signed forms ('-0043', Java's) are read too. PostgreSQL's `infinity` and
 * `-infinity` are values of their own, stored as the largest count of the unit and its negation
 * (as DuckDB stores them).
 */

export type Digits = 3 | 6 | 9

export const INFINITY = 'infinity'
export const NEG_INFINITY = '-infinity'
/** Day counts that mean 'infinity' and '-infinity'. */
export const DATE_INFINITY = 2 ** 31 - 1
/** Unit counts (any unit) that mean 'infinity' and '-infinity'. */
export const TIMESTAMP_INFINITY = 2n ** 63n - 1n

const SECONDS_PER_DAY = 86_400
const UNIT = { 3: 1_000, 6: 1_000_000, 9: 1_000_000_000 } as const
const UNIT_BIG = { 3: 1_000n, 6: 1_000_000n, 9: 1_000_000_000n } as const

const DATE_RE = /^([+-]?\d{4,7})-(\d{2})-(\d{2})$/
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/
const TIMESTAMP_RE = /^([+-]?\d{4,7})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i

const pad = (n: number, width: number): string => String(n).padStart(width, '0')
// Formatting runs per field per record: table lookups instead of number-to-string-and-pad.
const TWO = Array.from({ length: 100 }, (_, i) => pad(i, 2))
const THREE = Array.from({ length: 1000 }, (_, i) => pad(i, 3))

// A direct-mapped memo of formatted dates: event times cluster on a few days and birth dates
// repeat, and a lookup costs a fraction of the calendar arithmetic.
const DATE_SLOTS = 1 << 15
const memoDays = new Float64Array(DATE_SLOTS).fill(Number.NaN)
const memoDates: string[] = new Array<string>(DATE_SLOTS).fill('')

/** 'YYYY-MM-DD' for days since 1970-01-01 (proleptic Gregorian, like JS Date); 'infinity' for DATE_INFINITY. */
export function formatDate(days: number): string {
  if (days === DATE_INFINITY || days === -DATE_INFINITY) return days > 0 ? INFINITY : NEG_INFINITY
  const slot = days & (DATE_SLOTS - 1)
  if (memoDays[slot] === days) return memoDates[slot]!
  const text = civilDate(days)
  memoDays[slot] = days
  memoDates[slot] = text
  return text
}

function civilDate(days: number): string {
  const [y, m, d] = civilFromDays(days)
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6)
  return `${year}-${pad(m, 2)}-${pad(d, 2)}`
}

/** Days since 1970-01-01 for 'YYYY-MM-DD' (or 'infinity'), or undefined when it is not a real date. */
export function parseDate(text: string): number | undefined {
  if (text.length === 10) {
    const fast = canonicalDays(text, 0)
    if (fast !== undefined) return fast
  }
  if (text === INFINITY || text === NEG_INFINITY) return text === INFINITY ? DATE_INFINITY : -DATE_INFINITY
  const m = DATE_RE.exec(text)
  const days = m ? civilDays(Number(m[1]), Number(m[2]), Number(m[3])) : undefined
  // The infinities' counts are not dates, and a day count is an int32.
  return days !== undefined && Math.abs(days) < DATE_INFINITY ? days : undefined
}

function civilDays(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  return daysFromCivil(year, month, day)
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const daysInMonth = (y: number, m: number): number => (m === 2 ? (isLeap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31)

// Howard Hinnant's days_from_civil / civil_from_days: calendar arithmetic without Date objects,
// which matters on the per-record path.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** [year, month, day] of days since 1970-01-01 (proleptic Gregorian, with a year 0). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d]
}

/**
 * 'HH:MM:SS.fff' for a time of day counted in 10^-digits seconds since midnight, up to and
 * including 24:00:00 (PostgreSQL's end of day); the caller checks the range.
 */
export function formatTime(value: number | bigint, digits: Digits): string {
  // A day holds 8.64e13 nanoseconds, well within a safe integer.
  const n = Number(value)
  const unit = UNIT[digits]
  const seconds = Math.floor(n / unit)
  const fraction = n - seconds * unit
  const hh = Math.floor(seconds / 3600)
  const mm = Math.floor((seconds % 3600) / 60)
  return `${pad(hh, 2)}:${pad(mm, 2)}:${pad(seconds % 60, 2)}.${fraction.toString().padStart(digits, '0')}`
}

/** The time of day in 10^-digits seconds for 'HH:MM:SS[.f…]' (24:00:00 included), or undefined. */
export function parseTime(text: string, digits: 3 | 6): number | undefined {
  const m = TIME_RE.exec(text)
  if (!m) return undefined
  const hh = Number(m[1])
  const mm = Number(m[2])
  const ss = Number(m[3])
  const fraction = parseFraction(m[4], digits)
  if (fraction === undefined || mm > 59 || ss > 59) return undefined
  if (hh > 23 && !(hh === 24 && mm === 0 && ss === 0 && fraction === 0)) return undefined
  return (hh * 3600 + mm * 60 + ss) * UNIT[digits] + fraction
}

/** The time of day values a unit holds: 0 up to and including 24:00:00. */
export const isTimeOfDay = (n: number, digits: Digits): boolean => Number.isSafeInteger(n) && n >= 0 && n <= SECONDS_PER_DAY * UNIT[digits]

/**
 * ISO 8601 for an instant counted in 10^-digits seconds since the epoch: 'YYYY-MM-DDTHH:MM:SS.fffZ',
 * without the 'Z' for local timestamps; 'infinity' for TIMESTAMP_INFINITY.
 */
export function formatTimestamp(value: number | bigint, digits: Digits, utc: boolean): string {
  if (typeof value === 'bigint' && (value === TIMESTAMP_INFINITY || value === -TIMESTAMP_INFINITY)) return value > 0n ? INFINITY : NEG_INFINITY
  let seconds: number
  let fraction: string
  if (typeof value === 'number' && digits !== 9) {
    const unit = UNIT[digits]
    seconds = Math.floor(value / unit)
    const f = value - seconds * unit
    fraction = digits === 3 ? THREE[f]! : THREE[Math.floor(f / 1000)]! + THREE[f % 1000]!
  } else {
    const big = BigInt(value)
    const unit = UNIT_BIG[digits]
    let s = big / unit
    let f = big % unit
    if (f < 0n) {
      s -= 1n
      f += unit
    }
    seconds = Number(s)
    fraction = f.toString().padStart(digits, '0')
  }
  const days = Math.floor(seconds / SECONDS_PER_DAY)
  const sod = seconds - days * SECONDS_PER_DAY
  const hh = Math.floor(sod / 3600)
  const rest = sod - hh * 3600
  const mm = Math.floor(rest / 60)
  const text = `${formatDate(days)}T${TWO[hh]!}:${TWO[mm]!}:${TWO[rest - mm * 60]!}.${fraction}`
  return utc ? `${text}Z` : text
}

/**
 * The instant in 10^-digits seconds for an ISO 8601 timestamp (or 'infinity'), or undefined. `utc`
 * timestamps need a zone ('Z' or an offset, which is applied); local timestamps must not have one.
 * A number while safe, a bigint beyond; undefined beyond 64 bits.
 */
export function parseTimestamp(text: string, digits: Digits, utc: boolean): number | bigint | undefined {
  const fast = digits === 9 ? undefined : parseCanonicalTimestamp(text, digits, utc)
  if (fast !== undefined) return fast
  if (text === INFINITY || text === NEG_INFINITY) return text === INFINITY ? TIMESTAMP_INFINITY : -TIMESTAMP_INFINITY
  const m = TIMESTAMP_RE.exec(text)
  if (!m) return undefined
  const zone = m[8]
  if (utc !== (zone !== undefined)) return undefined
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]))
  const hh = Number(m[4])
  const mm = Number(m[5])
  const ss = Number(m[6])
  if (days === undefined || hh > 23 || mm > 59 || ss > 59) return undefined
  const fraction = parseFraction(m[7], digits)
  if (fraction === undefined) return undefined
  const offset = zone === undefined ? 0 : offsetSeconds(zone)
  if (offset === undefined) return undefined
  const seconds = days * SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss - offset
  const value = seconds * UNIT[digits] + fraction
  if (Number.isSafeInteger(value)) return value
  const big = BigInt(seconds) * UNIT_BIG[digits] + BigInt(fraction)
  // The infinities' counts are not instants.
  return big > -TIMESTAMP_INFINITY && big < TIMESTAMP_INFINITY ? big : undefined
}

function offsetSeconds(zone: string): number | undefined {
  if (zone === 'Z' || zone === 'z') return 0
  const sign = zone[0] === '-' ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = Number(digits.slice(2))
  if (hours > 23 || minutes > 59) return undefined
  return sign * (hours * 3600 + minutes * 60)
}

// Fraction digits as a count of the unit; undefined when digits beyond the unit are not zeros.
function parseFraction(text: string | undefined, digits: Digits): number | undefined {
  if (text === undefined) return 0
  if (text.length > digits && /[1-9]/.test(text.slice(digits))) return undefined
  return Number(text.slice(0, digits).padEnd(digits, '0'))
}

// ---- the canonical shapes, read by char code: the per-record fast path -------------------------

/**
 * The value of `count` decimal digits at text[at..] (callers check the length first), or -1 when
 * one is not a digit. Integer arithmetic only, so the parse stays on small integers.
 */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

// A direct-mapped memo of civil date -> days (the inverse of formatDate's), keyed by YYYYMMDD.
const memoCivil = new Float64Array(DATE_SLOTS).fill(Number.NaN)
const memoCivilDays = new Float64Array(DATE_SLOTS)

/** Days for a canonical 'YYYY-MM-DD' starting at `at`, or undefined (then the slow path decides). */
function canonicalDays(text: string, at: number): number | undefined {
  if (text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45) return undefined
  const year = digitsAt(text, at, 4)
  const month = digitsAt(text, at + 5, 2)
  const day = digitsAt(text, at + 8, 2)
  if (year < 0 || month < 0 || day < 0) return undefined
  const key = year * 10_000 + month * 100 + day
  const slot = key & (DATE_SLOTS - 1)
  if (memoCivil[slot] === key) return memoCivilDays[slot]
  const days = civilDays(year, month, day)
  if (days !== undefined) {
    memoCivil[slot] = key
    memoCivilDays[slot] = days
  }
  return days
}

/**
 * The instant for exactly the canonical form 'YYYY-MM-DDTHH:MM:SS.<digits>' plus 'Z' when `utc`,
 * or undefined for anything else (including valid ISO strings in other shapes).
 */
export function parseCanonicalTimestamp(text: string, digits: 3 | 6, utc: boolean): number | undefined {
  if (text.length !== 20 + digits + (utc ? 1 : 0)) return undefined
  if (text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) return undefined
  if (utc && text.charCodeAt(20 + digits) !== 90) return undefined
  const days = canonicalDays(text, 0)
  const hh = digitsAt(text, 11, 2)
  const mm = digitsAt(text, 14, 2)
  const ss = digitsAt(text, 17, 2)
  const fraction = digitsAt(text, 20, digits)
  if (days === undefined || !(hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 && ss <= 59) || fraction < 0) return undefined
  const value = (days * SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss) * UNIT[digits] + fraction
  return Number.isSafeInteger(value) ? value : undefined
}

/** True when `text` is already the canonical date string. */
export const isCanonicalDate = (text: string): boolean => text.length === 10 && canonicalDays(text, 0) !== undefined
