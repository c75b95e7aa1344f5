import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { repoRoot } from './runtime.ts'

/** docker-compose.yml as the container tests read it (test/unit/containers, test/e2e/containers). */
export interface Service {
  image?: string
  build?: unknown
  environment?: Record<string, string | number | boolean | null> | string[]
  depends_on?: string[] | Record<string, { condition?: string }>
  ports?: Array<string | number | { published?: string | number; target: number }>
  volumes?: Array<string | { type?: string; source?: string }>
  healthcheck?: { test: unknown }
  entrypoint?: string | string[]
  command?: string | string[]
  profiles?: string[]
}

export const composeFile = path.join(repoRoot, 'docker-compose.yml')
export const compose = parseYaml(fs.readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> }
export const services = Object.entries(compose.services)
export const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]))
/** Services that run the Tributary image. */
export const tributaries = services.filter(([, s]) => s.build !== undefined)
export const products = tributaries.filter(([, s]) => envOf(s).TRIBUTARY_PRODUCTS !== undefined)

/** The image's /app is this repository: map container paths onto it. */
export const onHost = (value: string): string => value.replace(/(^|[,\s'"])\/app\//g, `$1${repoRoot}/`)
