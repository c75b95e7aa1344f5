import { parentPort } from 'node:worker_threads'
import { TributaryError, messageOf } from '../../errors.ts'
import { setLogLevel } from '../../logger.ts'
import { loadProduct } from '../../product/load.ts'
import { openRuntime, type Runtime } from '../../runtime.ts'
import type { ProductMetrics } from '../../observability/metrics.ts'
import { Processor, runtimeOptions } from '../processor.ts'
import type { FromThread, MetricsSnapshot, ToThread } from './protocol.ts'

/**
 * A stream thread: one Processor over this thread's share of a product's partitions, with its own
 * log, registry and state handles. The main thread only sends commands and reads metrics.
 */
const port = parentPort!
let runtime: Runtime | undefined
let processor: Processor | undefined
let running: Promise<void> | undefined

const send = (m: FromThread) => port.postMessage(m)

export const snapshot = (m: ProductMetrics): MetricsSnapshot => m.snapshot()

async function handle(msg: ToThread): Promise<void> {
  switch (msg.type) {
    case 'start': {
      setLogLevel(msg.config.logLevel)
      runtime = await openRuntime(msg.config)
      const product = loadProduct(msg.productDir, { schemaDirs: msg.config.schemaDirs })
      processor = new Processor(product, { ...runtimeOptions(runtime), member: msg.member })
      await processor.start()
      send({ type: 'started' })
      return
    }
    case 'step': {
      const records = await processor!.step(msg.maxWaitMs)
      send({ type: 'stepped', records, idle: records === 0 && processor!.idle(), metrics: snapshot(processor!.metrics) })
      return
    }
    case 'drain': {
      let records = 0
      for (let n = await processor!.step(0); n > 0; n = await processor!.step(0)) records += n
      send({ type: 'stepped', records, idle: processor!.idle(), metrics: snapshot(processor!.metrics) })
      return
    }
    case 'run': {
      const p = processor!
      let last = 0
      running = p.run(() => {
        if (Date.now() - last < 250) return
        last = Date.now()
        send({ type: 'progress', records: 0, metrics: snapshot(p.metrics) })
      })
      await running
      send({ type: 'stopped', metrics: snapshot(p.metrics) })
      return
    }
    case 'stop':
      processor?.requestStop()
      return
    case 'policy':
      processor?.setPolicy(msg.port, msg.pii)
      return
    case 'close':
      processor?.requestStop()
      // A run that failed was reported then; closing must still release the store and consumer.
      await running?.catch(() => undefined)
      await processor?.close()
      await runtime?.close()
      send({ type: 'closed' })
      return
  }
}

port.on('message', (msg: ToThread) => {
  handle(msg).catch((e: unknown) =>
    send({ type: 'failed', code: e instanceof TributaryError ? e.code : 'TRIB_INTERNAL', message: messageOf(e) }),
  )
})
