import fs from 'node:fs'
import type { OutgoingRecord } from '../../log/log.ts'
import { canonicalKey } from '../../codec/key.ts'
import { parseJsonBytes } from '../../codec/json/read.ts'
import { valueSubject } from '../../registry/registry.ts'
import { readSchemaFile } from '../../spec/schemas.ts'
import { getter } from '../../spec/fields.ts'
import { TributaryError, messageOf } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'
import { progressBar } from '../progress.ts'

export async function produce(ctx: CliContext, topic: string, opts: { file: string; schema?: string; keyField?: string; partitions?: number }): Promise<void> {
  const { log, codec } = await ctx.runtime()
  // JSON as read (exact, re-written by the codec's writer), or shaped to the schema and framed as Avro.
  const encode = opts.schema
    ? await codec.encoder('avro', valueSubject(topic), readSchemaFile(opts.schema).schema, { fromJson: true })
    : await codec.encoder('json', valueSubject(topic), undefined)
  const keyOf = opts.keyField ? getter(opts.keyField) : undefined
  await log.ensureTopic(topic, opts.partitions ? { partitions: opts.partitions } : {})
  const input = opts.file === '-' ? process.stdin : fs.createReadStream(opts.file).on('error', () => undefined)
  if (opts.file !== '-' && !fs.existsSync(opts.file)) throw new TributaryError('TRIB_USAGE', `--file ${opts.file} does not exist`)
  // Progress by bytes of the file read (a pipe has no size: then the count only).
  const size = opts.file === '-' ? undefined : fs.statSync(opts.file).size
  const bar = progressBar('producing', { unit: size === undefined ? 'records' : 'bytes', ...(size === undefined ? {} : { total: size }) })
  let batch: OutgoingRecord[] = []
  let count = 0
  let line = 0
  for await (const bytes of byteLines(input)) {
    line++
    if (bytes.toString('latin1').trim() === '') continue
    let value: unknown
    try {
      value = parseJsonBytes(bytes, '')
      const key = keyOf ? keyOf(value as Record<string, unknown>) : undefined
      if (opts.keyField && (key === undefined || key === null)) throw new Error(`field ${opts.keyField} is missing`)
      batch.push({ topic, key: key === undefined ? null : Buffer.from(canonicalKey(key)), value: encode(value) })
    } catch (e) {
      throw new TributaryError('TRIB_USAGE', `${opts.file}:${line}: ${messageOf(e)}`, { cause: e, details: { file: opts.file, line } })
    }
    if (batch.length >= 5000) {
      await log.append(batch)
      count += batch.length
      batch = []
      bar.update(size === undefined ? count : (input as fs.ReadStream).bytesRead)
    }
  }
  if (batch.length > 0) await log.append(batch)
  count += batch.length
  bar.done()
  print(`produced ${count} records to ${topic}`)
}

/** Lines as bytes (without the line end): text decoding would turn invalid UTF-8 into U+FFFD unseen, the codec's reader checks it. */
async function* byteLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0)
  for await (const chunk of input) {
    const buf = rest.length > 0 ? Buffer.concat([rest, Buffer.from(chunk)]) : Buffer.from(chunk)
    let start = 0
    for (let end = buf.indexOf(10); end >= 0; end = buf.indexOf(10, start)) {
      yield buf.subarray(start, end > start && buf[end - 1] === 13 ? end - 1 : end)
      start = end + 1
    }
    rest = buf.subarray(start)
  }
  if (rest.length > 0) yield rest
}
