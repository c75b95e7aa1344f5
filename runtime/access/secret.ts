import fs from 'node:fs'
import { inspect } from 'node:util'
import { z } from 'zod'
import { TributaryError } from '../errors.ts'

/** Where a secret comes from: the value itself, an environment variable, or a file (container secrets). */
export type SecretSource = string | { env: string } | { file: string }

/**
 * A secret in the configuration. It holds where the value comes from, and prints as `***` (or as the
 * variable or file it names) wherever it is serialized: `config --print`, pino, util.inspect, error
 * details. The value is read only by `reveal`, once, when the access layer is built.
 */
export class Secret {
  readonly #source: SecretSource
  readonly #min: number

  constructor(source: SecretSource, min = 1) {
    this.#source = source
    this.#min = min
  }

  /** The value, read from the environment or the file now; `where` names the config path in errors. */
  reveal(where: string, env: NodeJS.ProcessEnv = process.env): string {
    const value = this.#read(where, env)
    if (value.length < this.#min) throw invalid(where, `the secret${typeof this.#source === 'string' ? '' : ` from ${this.toString()}`} is shorter than ${this.#min} characters`)
    return value
  }

  #read(where: string, env: NodeJS.ProcessEnv): string {
    const s = this.#source
    if (typeof s === 'string') return s
    if ('env' in s) {
      const value = env[s.env]
      if (value === undefined || value === '') throw invalid(where, `environment variable ${s.env} is not set`)
      return value
    }
    let text: string
    try {
      text = fs.readFileSync(s.file, 'utf8')
    } catch (e) {
      throw invalid(where, `secret file ${s.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    // Secret files (Docker, Kubernetes) often end with a newline that is not part of the secret.
    return text.replace(/\r?\n$/, '')
  }

  toJSON(): string | { env: string } | { file: string } {
    const s = this.#source
    return typeof s === 'string' ? '***' : { ...s }
  }

  toString(): string {
    return JSON.stringify(this.toJSON())
  }

  [inspect.custom](): string {
    return `Secret(${this.toString()})`
  }
}

const invalid = (where: string, why: string) => new TributaryError('TRIB_CONFIG_INVALID', `config ${where}: ${why}`, { details: { path: where } })

/** A secret in a config file: the value (at least `min` characters), `{ env: NAME }` or `{ file: path }`. */
export const secretSchema = (min: number) =>
  z
    .union([
      z.string().min(min),
      z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
      z.strictObject({ file: z.string().min(1) }),
    ])
    .transform((s) => new Secret(s, min))
    .describe(`secret: the value (at least ${min} characters), { env: NAME } or { file: /path }`)
