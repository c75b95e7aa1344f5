#!/usr/bin/env node
// Entry point of the `tributary` command. Arguments are parsed against the command table
// (commands.js, plain JavaScript), so `--help`, `--version` and usage errors cost no more than
// Node and commander. Only once a command is chosen does TypeScript load, through tsx's loader
// (no build step), and with it only that command's module and what it imports.
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { commands } from './commands.js'

// The AWS SDK warns that releases after January 2027 need Node 22; the pinned release supports
// Node 20, which this project targets, and the warning would otherwise interleave with output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// `tributary tail … | head` closes the pipe early: that ends the command, it is not an error.
process.stdout.on('error', (e) => {
  if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EPIPE') throw e
  process.exit(process.exitCode ?? 0)
})

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))

const program = new Command('tributary')
  .description('Run data products: streams in, a versioned lake out.')
  .version(pkg.version, '-V, --version', 'print the version of the tributary package')
  .option('-c, --config <file>', 'configuration file (YAML or JSON); also TRIBUTARY_CONFIG')
  .option('-d, --data-dir <dir>', 'local state folder (default .tributary); also TRIBUTARY_DATA_DIR')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .option('-v, --verbose', 'show stack traces and causes on errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) })

/** @type {{ action: [string, string], args: unknown[], options: Record<string, unknown> } | undefined} */
let chosen

/**
 * @param {Command} parent
 * @param {import('./commands.js').CommandDef} def
 */
function define(parent, def) {
  const command = parent.command(def.name).description(def.description)
  for (const [spec, description] of def.args ?? []) command.argument(spec, description)
  for (const o of def.options ?? []) {
    const option = new Option(o.flags, o.description)
    if (o.parse === 'number') option.argParser(Number)
    if (o.default !== undefined) option.default(o.default)
    if (o.required) option.makeOptionMandatory()
    command.addOption(option)
  }
  for (const sub of def.commands ?? []) define(command, sub)
  const action = def.action
  if (action)
    command.action((...params) => {
      // commander passes the arguments, then the options, then the command.
      chosen = { action, args: params.slice(0, -2), options: /** @type {Command} */ (params.at(-1)).opts() }
    })
}
for (const def of commands) define(program, def)

try {
  await program.parseAsync(process.argv)
} catch (e) {
  if (!(e instanceof CommanderError)) throw e
  process.exitCode = e.exitCode === 0 ? 0 : 2
}
if (chosen) {
  // Packages most commands use load before tsx's hooks: under the hooks every file of a package
  // costs a round trip to the loader thread, which made zod alone take ~250 ms instead of ~40 ms.
  // A later `import` of them from TypeScript finds them in the module cache.
  await Promise.all(['zod', 'yaml', 'pino', 'avsc'].map((name) => import(name)))
  // Both of tsx's hooks, ESM and CommonJS: a product folder outside any package.json
  // "type": "module" makes Node treat its transform.ts as CommonJS, which only the CommonJS hook
  // can load.
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')])
  esm.register()
  cjs.register()
  const { runCommand } = await import('./run.ts')
  process.exitCode = await runCommand(chosen.action, chosen.args, chosen.options, program.opts())
}
