import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../errors.ts'
import { SchemaCatalog } from '../spec/schemas.ts'
import { generateTypes } from './avro-to-ts.ts'

export interface CodegenResult {
  file: string
  changed: boolean
}

/**
 * Writes `<schemasDir>/generated/types.ts` from `<schemasDir>/*.avsc`. With `check`, writes nothing
 * and throws TRIB_CODEGEN_STALE when the file on disk differs from what would be generated.
 */
export function runCodegen(schemasDir: string, options: { check?: boolean } = {}): CodegenResult {
  const file = path.join(schemasDir, 'generated', 'types.ts')
  const expected = generateTypes(new SchemaCatalog([schemasDir]).all())
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined
  const changed = current !== expected
  if (options.check) {
    if (changed)
      throw new TributaryError('TRIB_CODEGEN_STALE', `${file} is stale: run \`npm run codegen\` and commit the result`, { details: { file } })
    return { file, changed: false }
  }
  if (changed) {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, expected)
  }
  return { file, changed }
}
