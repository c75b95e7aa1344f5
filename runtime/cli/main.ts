import { Command, CommanderError } from 'commander'
import { TributaryError, messageOf } from '../errors.ts'
import { logger } from '../logger.ts'
import { createContext } from './context.ts'
import { registerCommands } from './commands/index.ts'

/**
 * `tributary`: every command has --help; an error ends with a non-zero exit code and one clear
 * line on stderr (`error TRIB_CODE: message`), with the stack only under --verbose.
 */
const program = new Command('tributary')
  .description('Run data products: streams in, a versioned lake out.')
  .option('-c, --config <file>', 'configuration file (YAML or JSON); also TRIBUTARY_CONFIG')
  .option('-d, --data-dir <dir>', 'local state folder (default .tributary); also TRIBUTARY_DATA_DIR')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .option('-v, --verbose', 'show stack traces and causes on errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) })

const ctx = createContext(() => program.opts())
registerCommands(program, ctx)

try {
  await program.parseAsync(process.argv)
  await ctx.close()
} catch (e) {
  await ctx.close().catch(() => undefined)
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2
  } else {
    reportError(e, Boolean(program.opts().verbose))
    process.exitCode = 1
  }
}
logger.flush()

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
