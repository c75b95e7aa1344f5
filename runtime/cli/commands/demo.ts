import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { generateSampleData, playsTopic, usersTopic } from '../../../products/sample-data/generate.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print, table } from '../output.ts'
import { runMesh } from './run.ts'

const marker = 'demo.json'

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('generate sample data for the example mesh, run it until idle, and print a summary')
    .option('--users <n>', 'users in the registration database', (v) => Number(v), 200)
    .option('--plays <n>', 'podcast play events', (v) => Number(v), 2000)
    .option('--seed <n>', 'random seed (same seed, same data)', (v) => Number(v), 42)
    .option('--reset', 'wipe the data folder first even if it was not made by a demo')
    .action(async (opts: { users: number; plays: number; seed: number; reset?: boolean }) => {
      const dataDir = path.resolve(ctx.config().dataDir)
      resetDataDir(dataDir, Boolean(opts.reset))
      const runtime = await ctx.runtime()
      for (const topic of [usersTopic, playsTopic]) await runtime.log.ensureTopic(topic, { partitions: 3 })
      const { records, summary } = await generateSampleData(runtime.registry, { users: opts.users, plays: opts.plays, seed: opts.seed })
      await runtime.log.append(records)
      fs.writeFileSync(path.join(dataDir, marker), JSON.stringify({ createdAt: new Date().toISOString(), ...opts, summary }, null, 2))

      const products = await runMesh(ctx, [], { untilIdle: true })
      const rel = path.relative(process.cwd(), dataDir) || '.'
      print(`Sample data: ${summary.records[usersTopic]} change events on ${usersTopic}, ${summary.records[playsTopic]} play events on ${playsTopic}`)
      print(`(including ${Object.values(summary.invalid).reduce((n, m) => n + Object.values(m).reduce((a, b) => a + b, 0), 0)} invalid records, which go to the dead-letter topics)\n`)
      print(table(products))
      print(`\nState is in ${rel}/. Try:`)
      print('  npx tributary topics                                   # partitions, end offsets, lag per group')
      print('  npx tributary tail user-profiles.profiles --from earliest')
      print('  npx tributary tail user-profiles.dlq --from earliest     # why each bad record was rejected')
      print('  npx tributary schemas')
      print('  npx tributary replay top-podcasts --from earliest && npx tributary run --until-idle')
    })
}

/** A demo starts from nothing; it only wipes a folder it made itself, unless told to. */
function resetDataDir(dataDir: string, force: boolean): void {
  if (!fs.existsSync(dataDir) || fs.readdirSync(dataDir).length === 0) return
  if (!force && !fs.existsSync(path.join(dataDir, marker)))
    throw new TributaryError('TRIB_USAGE', `${dataDir} holds data that no demo created; pass --reset to wipe it, or --data-dir to use another folder`)
  fs.rmSync(dataDir, { recursive: true, force: true })
}
