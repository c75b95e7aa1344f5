import { TributaryError, messageOf } from '../errors.ts'
import { logger } from '../logger.ts'
import { createContext, type CliContext, type GlobalOptions } from './context.ts'

/** What a command module exports for the table in commands.js: `(ctx, ...arguments, options)`. */
export type CommandAction = (ctx: CliContext, ...params: any[]) => unknown

/**
 * Runs one command of the table: loads its module, calls its action with a fresh context, and
 * closes what the action opened. Returns the exit code: 0, or 1 after one clear line on stderr
 * (`error TRIB_CODE: message`), with the stack only under --verbose.
 */
export async function runCommand(action: readonly [module: string, name: string], args: unknown[], options: Record<string, unknown>, globals: GlobalOptions): Promise<number> {
  const ctx = createContext(() => globals)
  let code = 0
  try {
    const mod = (await import(action[0])) as Record<string, unknown>
    const fn = mod[action[1]]
    if (typeof fn !== 'function') throw new TributaryError('TRIB_INTERNAL', `command module ${action[0]} does not export ${action[1]}`)
    await (fn as CommandAction)(ctx, ...args, options)
    await ctx.close()
  } catch (e) {
    await ctx.close().catch(() => undefined)
    reportError(e, Boolean(globals.verbose))
    code = 1
  }
  logger.flush()
  return code
}

function reportError(e: unknown, verbose: boolean): void {
  const code = e instanceof TributaryError ? e.code : 'TRIB_INTERNAL'
  process.stderr.write(`error ${code}: ${messageOf(e)}\n`)
  const issues = e instanceof TributaryError ? (e.details.issues as Array<{ file: string; line?: number; column?: number; path: string; message: string }> | undefined) : undefined
  if (issues && issues.length > 1)
    for (const i of issues.slice(1)) process.stderr.write(`  ${i.file}${i.line ? `:${i.line}:${i.column}` : ''} ${i.path ? `${i.path}: ` : ''}${i.message}\n`)
  if (verbose) {
    let cause: unknown = e
    while (cause instanceof Error) {
      process.stderr.write(`${cause.stack ?? cause.message}\n`)
      cause = cause.cause
      if (cause) process.stderr.write('caused by: ')
    }
  } else if (code === 'TRIB_INTERNAL') {
    process.stderr.write('(run with --verbose for the stack trace)\n')
  }
}
