import path from 'node:path'
import { runCodegen } from '../../codegen/index.ts'
import { redactConfig } from '../../config/load.ts'
import { productSpecJsonSchema } from '../../spec/schema.ts'
import type { CliContext } from '../context.ts'
import { print, printJson } from '../output.ts'

export function specSchema(): void {
  printJson(productSpecJsonSchema())
}

export function codegen(_ctx: CliContext, opts: { schemas: string; check?: boolean }): void {
  const result = runCodegen(path.resolve(opts.schemas), { check: Boolean(opts.check) })
  const file = path.relative(process.cwd(), result.file)
  print(opts.check ? `${file} is up to date` : result.changed ? `wrote ${file}` : `${file} unchanged`)
}

export function config(ctx: CliContext): void {
  printJson(redactConfig(ctx.config()))
}
