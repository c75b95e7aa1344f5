import fs from 'node:fs'
import path from 'node:path'
import { runCodegen } from '../../codegen/index.ts'
import { TributaryError } from '../../errors.ts'
import { checkProductName, scaffold } from '../../product/scaffold.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'

const root = path.resolve(import.meta.dirname, '../../..')
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; version: string; devDependencies?: Record<string, string> }

/** `tributary init <dir>`: a new product repository that validates and whose test passes as it is. */
export function init(_ctx: CliContext, dir: string, opts: { name?: string; domain: string; package?: string }): void {
  const target = path.resolve(dir)
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) throw new TributaryError('TRIB_USAGE', `${dir} is not empty: init writes into a new or empty folder`)
  const name = checkProductName(opts.name ?? path.basename(target).toLowerCase())
  if (!/^[a-z][a-z0-9-]*$/.test(opts.domain)) throw new TributaryError('TRIB_USAGE', `--domain ${JSON.stringify(opts.domain)}: use lowercase letters, digits and dashes`)
  const pkg = readJson(path.join(root, 'package.json'))
  const files = scaffold({
    name,
    domain: opts.domain,
    packageName: pkg.name,
    packageSpec: opts.package ?? `^${pkg.version}`,
    typescriptVersion: pkg.devDependencies?.typescript ?? 'latest',
  })
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true })
    fs.writeFileSync(path.join(target, file), text)
  }
  runCodegen(path.join(target, 'schemas'))
  const rel = path.relative(process.cwd(), target) || '.'
  print(`created product ${name} in ${rel}/:`)
  for (const file of [...Object.keys(files), 'schemas/generated/types.ts'].sort()) print(`  ${file}`)
  print(`\nNext:\n  cd ${rel}\n  npm install\n  npx tributary test      # the fixture case in tests/basic, in memory\n  npx tributary validate .`)
}
