import { TributaryError } from '../errors.ts'
import { readToEnd, type Log, type LogRecord, type PartitionOffset } from '../log/log.ts'
import type { Product } from '../product/load.ts'
import { minOf } from '../util/arrays.ts'

/**
 * The version book: which majors of each product have run, which one its plain names serve, and
 * which are retired. It lives in the log, in one topic (`_tributary.versions`: one partition,
 * compacted on Kafka), not in the lake: every container of the mesh already reads the log and its
 * processors poll it, so a retirement reaches a running version without another channel; appends
 * are ordered and durable, and the topic's history is the record of who promoted or retired what,
 * and when; and it works the same whatever the lake's storage or catalog (engines that read the
 * Iceberg tables directly address a major's tables by their own names anyway).
 *
 * Two kinds of record, keyed so that writers of different facts never overwrite each other:
 * - `<product>@<major>`: a major that has run (registered when it first starts), with the end
 *   offsets of its stream inputs at that moment (what its backfill has to reach) and, once retired,
 *   when it stops (`retireAt`, after the grace period);
 * - `<product>`: the promotion, the major its plain names serve.
 * The latest record of a key is its state. Writes are read-modify-write without a lock: of two
 * operators promoting at the same moment, the later record wins, and both stay in the history.
 */
export const VERSIONS_TOPIC = '_tributary.versions'

export interface MajorRecord {
  product: string
  major: number
  registeredAt: string
  /** End offsets of the major's stream inputs when it first started: its backfill ends there. */
  backfillTo: PartitionOffset[]
  /** Set by retire: the major stops at this time (now, or after a grace period). */
  retireAt?: string
  retiredBy?: string
}

export interface PromotionRecord {
  product: string
  promoted: number
  promotedAt: string
  promotedBy?: string
}

export type MajorStatus = 'promoted' | 'running' | 'retiring' | 'retired'

export class VersionBook {
  readonly majors = new Map<string, MajorRecord>()
  readonly promotions = new Map<string, PromotionRecord>()

  apply(r: LogRecord): void {
    const key = r.key?.toString('utf8') ?? ''
    if (r.value === null) {
      this.majors.delete(key)
      this.promotions.delete(key)
      return
    }
    const value = JSON.parse(r.value.toString('utf8')) as MajorRecord | PromotionRecord
    if (key.includes('@')) this.majors.set(key, value as MajorRecord)
    else this.promotions.set(key, value as PromotionRecord)
  }

  major(product: string, major: number): MajorRecord | undefined {
    return this.majors.get(`${product}@${major}`)
  }

  majorsOf(product: string): MajorRecord[] {
    return [...this.majors.values()].filter((m) => m.product === product).sort((a, b) => a.major - b.major)
  }

  retired(product: string, major: number, now = Date.now()): boolean {
    const at = this.major(product, major)?.retireAt
    return at !== undefined && Date.parse(at) <= now
  }

  /**
   * The major a product's plain names serve: the promoted one; before any promotion, the lowest
   * registered major that is not retired (the one that existed first); for a product that never
   * ran here, the lowest of `known` (the majors this process has loaded).
   */
  served(product: string, known: readonly number[] = [], now = Date.now()): number | undefined {
    const promoted = this.promotions.get(product)?.promoted
    if (promoted !== undefined && !this.retired(product, promoted, now)) return promoted
    const registered = this.majorsOf(product).filter((m) => !this.retired(product, m.major, now))
    if (registered.length > 0) return registered[0]!.major
    const alive = known.filter((m) => !this.retired(product, m, now))
    return alive.length > 0 ? minOf(alive) : undefined
  }

  status(product: string, major: number, known: readonly number[] = [], now = Date.now()): MajorStatus {
    if (this.retired(product, major, now)) return 'retired'
    if (this.major(product, major)?.retireAt) return 'retiring'
    return this.served(product, known, now) === major ? 'promoted' : 'running'
  }
}

export async function readVersionBook(log: Log): Promise<VersionBook> {
  const book = new VersionBook()
  for (const r of await readToEnd(log, VERSIONS_TOPIC)) book.apply(r)
  return book
}

async function write(log: Log, book: VersionBook, key: string, value: MajorRecord | PromotionRecord): Promise<void> {
  await log.ensureTopic(VERSIONS_TOPIC, { partitions: 1, compacted: true })
  const [position] = await log.append([{ topic: VERSIONS_TOPIC, partition: 0, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) }])
  book.apply({ topic: VERSIONS_TOPIC, partition: 0, offset: position!.offset, timestamp: Date.now(), key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), headers: {} })
}

/**
 * Records the majors of these products that have not run before, with the end offsets of their
 * stream inputs now (their backfill target). Idempotent: a registered major is left as it is.
 */
export async function registerMajors(log: Log, book: VersionBook, products: readonly Product[], now = new Date()): Promise<void> {
  for (const p of products) {
    if (book.major(p.base, p.major)) continue
    const backfillTo: PartitionOffset[] = []
    for (const topic of new Set(p.inputs.filter((i) => i.spec.mode === 'stream').map((i) => i.spec.topic)))
      for (const part of (await log.describeTopic(topic))?.partitions ?? []) backfillTo.push({ topic, partition: part.partition, offset: part.end })
    await write(log, book, `${p.base}@${p.major}`, { product: p.base, major: p.major, registeredAt: now.toISOString(), backfillTo })
  }
}

export async function writePromotion(log: Log, book: VersionBook, product: string, major: number, by: string, now = new Date()): Promise<void> {
  const m = book.major(product, major)
  if (!m) throw new TributaryError('TRIB_VERSION_STATE', `${product} v${major} has never run here: run it (it backfills) before promoting it`, { details: { product, major } })
  if (m.retireAt) throw new TributaryError('TRIB_VERSION_STATE', `${product} v${major} is retired (at ${m.retireAt}): a retired major is not promoted again`, { details: { product, major } })
  await write(log, book, product, { product, promoted: major, promotedAt: now.toISOString(), promotedBy: by })
}

export async function writeRetirement(log: Log, book: VersionBook, product: string, major: number, retireAt: Date, by: string, known: readonly number[] = []): Promise<void> {
  const m = book.major(product, major)
  if (!m) throw new TributaryError('TRIB_VERSION_STATE', `${product} v${major} has never run here: there is nothing to retire`, { details: { product, major } })
  if (book.served(product, known) === major)
    throw new TributaryError('TRIB_VERSION_STATE', `${product} v${major} is the major its plain names serve: promote another major first`, { details: { product, major } })
  if (m.retireAt && Date.parse(m.retireAt) <= retireAt.getTime()) return
  await write(log, book, `${product}@${major}`, { ...m, retireAt: retireAt.toISOString(), retiredBy: by })
}

/** Records each major's stream input offsets committed so far against its backfill target: 0..1. */
export async function backfillShare(log: Log, product: Product, record: MajorRecord | undefined): Promise<{ done: number; total: number }> {
  if (!record) return { done: 0, total: 0 }
  const committed = new Map((await log.groupOffsets(product.name)).map((o) => [`${o.topic}/${o.partition}`, o.offset]))
  let done = 0
  let total = 0
  for (const target of record.backfillTo) {
    total += target.offset
    done += Math.min(target.offset, committed.get(`${target.topic}/${target.partition}`) ?? 0)
  }
  return { done, total }
}

/**
 * Before products start: reads the book, registers majors that never ran, and leaves out the
 * retired ones (a retired major does not start again; its topics and tables stay readable).
 */
export async function activeMajors(log: Log, products: readonly Product[]): Promise<{ book: VersionBook; active: Product[]; retired: Product[] }> {
  const book = await readVersionBook(log)
  const retired = products.filter((p) => book.retired(p.base, p.major))
  const active = products.filter((p) => !retired.includes(p))
  await registerMajors(log, book, active)
  return { book, active, retired }
}

export interface MajorView {
  major: number
  /** The name its resources carry (group, topics, tables): see lifecycle/versions.ts. */
  instance: string
  version: string | null
  status: MajorStatus | 'not running here'
  registeredAt: string | null
  retireAt: string | null
  topics: Record<string, string>
}

/** Every major of a product this process knows (loaded, or in the book), oldest first. */
export function majorsOf(book: VersionBook, products: readonly Product[], base: string, now = Date.now()): MajorView[] {
  const loaded = products.filter((p) => p.base === base)
  const known = loaded.map((p) => p.major)
  const majors = [...new Set([...known, ...book.majorsOf(base).map((m) => m.major)])].sort((a, b) => a - b)
  return majors.map((major) => {
    const p = loaded.find((l) => l.major === major)
    const r = book.major(base, major)
    return {
      major,
      instance: p?.name ?? (major <= 1 ? base : `${base}.v${major}`),
      version: p?.spec.version ?? null,
      status: r || p ? book.status(base, major, known, now) : 'not running here',
      registeredAt: r?.registeredAt ?? null,
      retireAt: r?.retireAt ?? null,
      topics: Object.fromEntries((p?.outputs ?? []).map((o) => [o.spec.name, o.spec.topic])),
    }
  })
}

/** The loaded product its plain name serves, or the one of an explicit major. */
export function servedProduct(book: VersionBook, products: readonly Product[], base: string, major?: number): Product | undefined {
  const versions = products.filter((p) => p.base === base)
  const m = major ?? book.served(base, versions.map((p) => p.major))
  return versions.find((p) => p.major === m)
}
