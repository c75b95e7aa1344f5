import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { Secret } from '../access/secret.ts'
import { TributaryError } from '../errors.ts'
import { deepFreeze, formatPath } from '../spec/load.ts'
import { configSchema, envVars, secretPaths, type Config } from './schema.ts'

type Tree = Record<string, unknown>

export interface ConfigSources {
  /** Path of a YAML or JSON config file; TRIBUTARY_CONFIG otherwise. */
  file?: string
  env?: NodeJS.ProcessEnv
  /** Values from command-line flags, by config path (`transport.kind`). */
  flags?: Record<string, unknown>
}

/**
 * Builds the configuration from defaults, then the file, then environment variables, then flags;
 * validates it once and freezes it. An error names where the bad value came from.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env
  const origin = new Map<string, string>()
  const tree: Tree = {}

  const file = sources.file ?? env.TRIBUTARY_CONFIG
  if (file) {
    const text = readConfigFile(file)
    let parsed: unknown
    try {
      parsed = parseYaml(text)
    } catch (e) {
      throw new TributaryError('TRIB_CONFIG_INVALID', `${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`, { cause: e })
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed)))
      throw new TributaryError('TRIB_CONFIG_INVALID', `${file}: expected a mapping of configuration keys`)
    merge(tree, (parsed ?? {}) as Tree, file, origin, '')
  }

  for (const [name, spec] of Object.entries(envVars)) {
    const raw = env[name] || secretFile(name, spec, env)
    if (raw === undefined || raw === '') continue
    const source = `environment variable ${env[name] ? name : `${name}_FILE`}`
    setPath(tree, spec.path, envValue(source, spec.path, spec.type, raw))
    origin.set(spec.path, source)
  }

  for (const [p, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue
    setPath(tree, p, value)
    origin.set(p, 'command line')
  }

  const result = configSchema.safeParse(tree)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const at = formatPath(issue.path.filter((p): p is string | number => typeof p !== 'symbol'))
    const from = sourceOf(at, origin) ?? 'defaults'
    const message = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message.replace(/^Invalid input: /, '')
    throw new TributaryError('TRIB_CONFIG_INVALID', `config ${at || '(root)'} (from ${from}): ${message}`, { details: { path: at, source: from } })
  }
  return deepFreeze(result.data)
}

/**
 * An environment variable's text as its type, strictly: a boolean is `true` or `false` and a number
 * is a number, anything else is an error naming the variable (`TRIBUTARY_LAKE_ENABLED=maybe` once
 * meant false).
 */
function envValue(source: string, at: string, type: string, raw: string): unknown {
  const bad = (expected: string): never => {
    throw new TributaryError('TRIB_CONFIG_INVALID', `config ${at} (from ${source}): expected ${expected}, got ${JSON.stringify(raw)}`, {
      details: { path: at, source },
    })
  }
  const text = raw.trim()
  if (type === 'boolean') return /^true$/i.test(text) ? true : /^false$/i.test(text) ? false : bad('true or false')
  if (type === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : bad('a number')
  if (type === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean)
  return raw
}

/** Variables the runtime does not read (TRIBUTARY_TEST_* belong to the test suite). */
export function unknownEnvVars(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = Object.entries(envVars).filter(([, spec]) => 'secret' in spec && spec.secret).map(([name]) => `${name}_FILE`)
  const known = new Set<string>([...Object.keys(envVars), ...secrets, 'TRIBUTARY_CONFIG'])
  return Object.keys(env)
    .filter((name) => name.startsWith('TRIBUTARY_') && !known.has(name) && !name.startsWith('TRIBUTARY_TEST_'))
    .sort()
}

/** A secret's `<NAME>_FILE` variable (Docker and Kubernetes secrets): the file's content, less a final newline. */
function secretFile(name: string, spec: object, env: NodeJS.ProcessEnv): string | undefined {
  const file = env[`${name}_FILE`]
  if (!('secret' in spec && spec.secret) || !file) return undefined
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (e) {
    throw new TributaryError('TRIB_CONFIG_INVALID', `environment variable ${name}_FILE: ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e })
  }
}

function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(path.resolve(file), 'utf8')
  } catch (e) {
    throw new TributaryError('TRIB_CONFIG_INVALID', `config file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e })
  }
}

function merge(into: Tree, from: Tree, source: string, origin: Map<string, string>, prefix: string): void {
  for (const [k, v] of Object.entries(from)) {
    const p = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const child = (into[k] && typeof into[k] === 'object' ? into[k] : (into[k] = {})) as Tree
      merge(child, v as Tree, source, origin, p)
    } else {
      into[k] = v
      origin.set(p, source)
    }
  }
}

export function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.')
  let cur = tree
  for (const part of parts.slice(0, -1)) {
    if (!cur[part] || typeof cur[part] !== 'object') cur[part] = {}
    cur = cur[part] as Tree
  }
  cur[parts.at(-1)!] = value
}

const sourceOf = (at: string, origin: Map<string, string>): string | undefined => {
  for (let p = at; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const found = origin.get(p.replace(/\[\d+\]$/, ''))
    if (found) return found
  }
  return undefined
}

/** The effective configuration with secrets replaced, for `tributary config --print`. */
export function redactConfig(config: Config): unknown {
  const secrets = secretPaths
  const walk = (node: unknown, prefix: string): unknown => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return secrets.has(prefix) ? '***' : node
    // Secrets of the access block print themselves redacted (runtime/access/secret.ts).
    if (node instanceof Secret) return node.toJSON()
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, prefix ? `${prefix}.${k}` : k)]))
  }
  return walk(config, '')
}
