import type { EmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { serveRegistry } from '../../../connectors/registry/embedded/index.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'

/** `registry serve`: the embedded registry over the Confluent REST API. */
export async function serve(ctx: CliContext, opts: { port: number; host: string }): Promise<void> {
  const runtime = await ctx.runtime()
  if (!('versionsOfId' in runtime.registry))
    throw new TributaryError('TRIB_USAGE', 'registry serve needs the embedded registry (registry.kind: embedded)')
  const server = await serveRegistry(runtime.registry as EmbeddedRegistry, { port: opts.port, host: opts.host })
  print(`schema registry listening on ${server.url} (Ctrl-C to stop)`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await server.close()
}
