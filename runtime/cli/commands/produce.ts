import fs from 'node:fs'
import readline from 'node:readline'
import type { Command } from 'commander'
import type { OutgoingRecord } from '../../log/log.ts'
import { compileConformer } from '../../codec/types/conform.ts'
import { createType } from '../../codec/types/logical-types.ts'
import { valueSubject } from '../../registry/registry.ts'
import { readSchemaFile } from '../../spec/schemas.ts'
import { getter } from '../../spec/fields.ts'
import { TributaryError, messageOf } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print, progress } from '../output.ts'

export function registerProduce(program: Command, ctx: CliContext): void {
  program
    .command('produce')
    .description('append records to a topic from a JSON Lines file (one value per line)')
    .argument('<topic>')
    .requiredOption('--file <jsonl>', 'JSON Lines file; "-" reads standard input')
    .option('--schema <avsc>', 'encode values as Avro with this schema (registered as <topic>-value), Confluent-framed')
    .option('--key-field <field>', 'take each record key from this value field (sent as text)')
    .option('--partitions <n>', 'partitions when the topic is created', (v) => Number(v))
    .action(async (topic: string, opts: { file: string; schema?: string; keyField?: string; partitions?: number }) => {
      const { log, serde } = await ctx.runtime()
      let encode = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))
      if (opts.schema) {
        const schema = readSchemaFile(opts.schema)
        const conform = compileConformer(createType(schema.schema))
        const avro = await serde.encoder(valueSubject(topic), schema.schema)
        encode = (v) => avro(conform(v))
      }
      const keyOf = opts.keyField ? getter(opts.keyField) : undefined
      await log.ensureTopic(topic, opts.partitions ? { partitions: opts.partitions } : {})
      const input = opts.file === '-' ? process.stdin : fs.createReadStream(opts.file).on('error', () => undefined)
      if (opts.file !== '-' && !fs.existsSync(opts.file)) throw new TributaryError('TRIB_USAGE', `--file ${opts.file} does not exist`)
      const bar = progress('producing')
      let batch: OutgoingRecord[] = []
      let count = 0
      let line = 0
      for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
        line++
        if (text.trim() === '') continue
        let value: unknown
        try {
          value = JSON.parse(text)
          const key = keyOf ? keyOf(value as Record<string, unknown>) : undefined
          if (opts.keyField && (key === undefined || key === null)) throw new Error(`field ${opts.keyField} is missing`)
          batch.push({ topic, key: key === undefined ? null : Buffer.from(String(key)), value: encode(value) })
        } catch (e) {
          throw new TributaryError('TRIB_USAGE', `${opts.file}:${line}: ${messageOf(e)}`, { cause: e, details: { file: opts.file, line } })
        }
        if (batch.length >= 5000) {
          await log.append(batch)
          count += batch.length
          batch = []
          bar.update(`${count} records`)
        }
      }
      if (batch.length > 0) await log.append(batch)
      count += batch.length
      bar.done()
      print(`produced ${count} records to ${topic}`)
    })
}
