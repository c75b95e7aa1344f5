import type { Command } from 'commander'
import { serveRegistry, type EmbeddedRegistry } from '../../../connectors/registry/embedded/index.ts'
import { AccessControl } from '../../access/access.ts'
import { TributaryError } from '../../errors.ts'
import type { CliContext } from '../context.ts'
import { print } from '../output.ts'

export function registerRegistry(program: Command, ctx: CliContext): void {
  const registry = program.command('registry').description('the embedded schema registry')
  registry
    .command('serve')
    .description('serve the embedded registry over the Confluent Schema Registry REST API (writes need a principal of access.registryWrite: basic auth or a bearer token)')
    .option('--port <port>', 'TCP port', (v) => Number(v), 8081)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
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
    })
}
