import { serveRegistry, type EmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { AccessControl } from '../../access/access.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'

/** `registry serve`: the embedded registry over the Confluent REST API; writes need a principal of access.registryWrite. */
export async function serve(ctx: CliContext, opts: { port: number; host: string }): Promise<void> {
  const config = ctx.config()
  // Secrets are read before anything opens, so a missing one fails at once.
  const access = AccessControl.fromConfig(config)
  const runtime = await ctx.runtime()
  if (!('versionsOfId' in runtime.registry))
    throw new TributaryError('TRIB_USAGE', 'registry serve needs the embedded registry (registry.kind: embedded)')
  const server = await serveRegistry(runtime.registry as EmbeddedRegistry, { port: opts.port, host: opts.host, access, maxBodyBytes: config.http.maxBodyBytes })
  print(`schema registry listening on ${server.url} (Ctrl-C to stop)`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await server.close()
}
