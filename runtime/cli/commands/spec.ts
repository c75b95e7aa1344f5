import path from 'node:path'
import type { Command } from 'commander'
import { runCodegen } from '../../codegen/index.ts'
import { redactConfig } from '../../config/load.ts'
import { productSpecJsonSchema } from '../../spec/schema.ts'
import type { CliContext } from '../context.ts'
import { print, printJson } from '../output.ts'

export function registerSpecCommands(program: Command, ctx: CliContext): void {
  program
    .command('spec-schema')
    .description('print the JSON Schema of product.yaml, for editors (e.g. yaml-language-server)')
    .action(() => printJson(productSpecJsonSchema()))

  program
    .command('codegen')
    .description('generate TypeScript record types from schemas/*.avsc into schemas/generated/types.ts')
    .option('--schemas <dir>', 'folder of .avsc files', 'schemas')
    .option('--check', 'fail when the generated file is stale instead of writing it')
    .action((opts: { schemas: string; check?: boolean }) => {
      const result = runCodegen(path.resolve(opts.schemas), { check: Boolean(opts.check) })
      const file = path.relative(process.cwd(), result.file)
      print(opts.check ? `${file} is up to date` : result.changed ? `wrote ${file}` : `${file} unchanged`)
    })

  program
    .command('config')
    .description('show the effective configuration (file, then environment, then flags), secrets redacted')
    .option('--print', 'print it (the default)')
    .action(() => printJson(redactConfig(ctx.config())))
}
