import type { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { registerCatalog } from './catalog.ts'
import { registerDemo } from './demo.ts'
import { registerDoctor } from './doctor.ts'
import { registerLake } from './lake.ts'
import { registerQuery } from './query.ts'
import { registerProduce } from './produce.ts'
import { registerRegistry } from './registry.ts'
import { registerReplay } from './replay.ts'
import { registerRun } from './run.ts'
import { registerServe } from './serve.ts'
import { registerSchemas } from './schemas.ts'
import { registerSpecCommands } from './spec.ts'
import { registerTail } from './tail.ts'
import { registerTopics } from './topics.ts'
import { registerValidate } from './validate.ts'

export function registerCommands(program: Command, ctx: CliContext): void {
  registerDemo(program, ctx)
  registerRun(program, ctx)
  registerServe(program, ctx)
  registerProduce(program, ctx)
  registerTail(program, ctx)
  registerTopics(program, ctx)
  registerSchemas(program, ctx)
  registerReplay(program, ctx)
  registerValidate(program, ctx)
  registerSpecCommands(program, ctx)
  registerQuery(program, ctx)
  registerLake(program, ctx)
  registerCatalog(program, ctx)
  registerRegistry(program, ctx)
  registerDoctor(program, ctx)
}
