import path from 'node:path'
import { loadConfig, unknownEnvVars } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { moduleLogger, setLogLevel } from '../logger.ts'
import { loadMesh } from '../product/mesh.ts'
import type { Product } from '../product/load.ts'
import { openRuntime, type Runtime } from '../runtime.ts'

export interface GlobalOptions {
  config?: string
  dataDir?: string
  logLevel?: string
  verbose?: boolean
}

/** What commands share: the configuration (validated once) and lazily opened backends. */
export interface CliContext {
  config(): Config
  /** For commands that print their own story (demo): logs below warn only when asked for. */
  quietLogs(): void
  /**
   * The backends, opened once. Commands that only read ask for 'read': the embedded log and
   * registry are then opened read-only and nothing in the data folder is created or repaired.
   */
  runtime(access?: 'read' | 'write'): Promise<Runtime>
  /** A runtime opened elsewhere (serve opens it while already serving /readyz); closed by close(). */
  adopt(runtime: Runtime): void
  products(refs: readonly string[]): Product[]
  close(): Promise<void>
}

export function createContext(globals: () => GlobalOptions): CliContext {
  let config: Config | undefined
  let runtime: Promise<Runtime> | undefined
  const ctx: CliContext = {
    config() {
      if (!config) {
        const g = globals()
        config = loadConfig({
          ...(g.config ? { file: g.config } : {}),
          flags: { dataDir: g.dataDir, logLevel: g.logLevel },
        })
        setLogLevel(config.logLevel)
        const unknown = unknownEnvVars()
        if (unknown.length > 0) moduleLogger('config').warn({ variables: unknown }, 'ignoring unknown TRIBUTARY_* environment variables (the README lists the known ones)')
      }
      return config
    },
    quietLogs() {
      const c = ctx.config()
      if (!globals().logLevel && !process.env.TRIBUTARY_LOG_LEVEL && c.logLevel === 'info') setLogLevel('warn')
    },
    runtime(access = 'write') {
      runtime ??= openRuntime(ctx.config(), { readOnly: access === 'read' })
      return runtime
    },
    adopt(r) {
      runtime = Promise.resolve(r)
    },
    products(refs) {
      const c = ctx.config()
      return loadMesh(refs, c.products.map((p) => path.resolve(p)), { schemaDirs: c.schemaDirs })
    },
    async close() {
      if (runtime) await (await runtime).close()
      runtime = undefined
    },
  }
  return ctx
}
