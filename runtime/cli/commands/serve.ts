import http from 'node:http'
import { ProbeListener, type Readiness } from '../../http/probes.ts'
import { createHttpHandler, listen, startingHandler, startingReadiness } from '../../http/server.ts'
import { AccessControl } from '../../access/access.ts'
import { moduleLogger } from '../../logger.ts'
import { registerSchemaFiles } from '../../runtime.ts'
import { ProductService } from '../../service.ts'
import { schemaDirsFor } from '../../spec/schemas.ts'
import { openRuntimeUntilReady, type StartupStatus } from '../../startup.ts'
import type { CliContext } from '../context.ts'

const logger = moduleLogger('serve')

export async function serve(ctx: CliContext, refs: string[], opts: { port?: number; host?: string; probePort?: number }): Promise<void> {
  const config = ctx.config()
  const products = ctx.products(refs)
  // Secrets are read before the port opens, so a missing one fails at once.
  const access = AccessControl.fromConfig(config, products)
  const unknown = access.unknownAudience()
  if (unknown.length > 0) logger.warn({ unknown }, 'access lists name principals or groups the configuration does not have: nobody matches them')

  // Listen first: while Kafka, the registry or S3 are still unreachable the container is alive
  // and says why it is not ready, instead of crash-looping.
  const status: StartupStatus = { attempt: 0 }
  let handler: http.RequestListener = startingHandler(status)
  let readiness = (): Readiness => startingReadiness(status)
  const server = http.createServer((req, res) => handler(req, res))
  const host = opts.host ?? config.http.host
  const bound = await listen(server, opts.port ?? config.http.port, host)
  const probePort = opts.probePort ?? config.http.probePort
  const probes = probePort === undefined ? undefined : await ProbeListener.start({ port: probePort, host, stallMs: config.http.livenessStallMs, readiness: () => readiness() })
  logger.info({ url: bound.url, ...(probes ? { probePort: probes.port } : {}), products: products.map((p) => p.name) }, 'serving; opening backends')

  // SIGTERM: stop fetching, finish the batch in flight, commit, flush pending snapshots, close,
  // exit 0, all within the deadline. A second signal exits at once.
  const abort = new AbortController()
  let deadline: NodeJS.Timeout | undefined
  const onSignal = (signal: string) => {
    if (abort.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    logger.info({ signal, deadlineMs: config.shutdownDeadlineMs }, 'shutting down: finishing the batch in flight')
    deadline = setTimeout(() => {
      logger.error({ deadlineMs: config.shutdownDeadlineMs }, 'shutdown deadline passed: exiting before everything was closed')
      process.exit(1)
    }, config.shutdownDeadlineMs)
    deadline.unref()
    abort.abort()
  }
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal)
  try {
    const runtime = await openRuntimeUntilReady(config, { signal: abort.signal, status })
    if (!runtime) return
    ctx.adopt(runtime)
    await registerSchemaFiles(runtime.registry, [...new Set(products.flatMap((p) => schemaDirsFor(p.dir, config.schemaDirs)))])
    const service = new ProductService(runtime, products)
    handler = createHttpHandler(service, access)
    readiness = () => service.readiness()
    await service.start(abort.signal)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await probes?.close()
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal)
    if (deadline) clearTimeout(deadline)
  }
  logger.info('stopped')
}
