import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Log } from '../log/log.ts'
import type { SchemaRegistry } from '../registry/registry.ts'
import type { HeapWatch } from './heap.ts'
import type { Histogram } from './metrics.ts'
import type { ProcessorRunnable } from '../processor/runnable.ts'
import type { Sink } from '../sink/sink.ts'
import type { ProductStatus, RestartCount } from '../supervisor/supervisor.ts'

type Labels = Record<string, string | number>
interface Sample {
  value: number
  labels: Labels
  metricName?: string
}

/** What the metrics read, at scrape time. */
export interface MetricsSource {
  processors(): readonly ProcessorRunnable[]
  sinks(): readonly Sink[]
  /** Products' states and restart counts (absent before the products run). */
  supervision(): { status(): ProductStatus[]; restarts(): RestartCount[] } | undefined
  heap?: HeapWatch | undefined
  log: Log
  registry?: SchemaRegistry
}

/**
 * The service's Prometheus metrics. Product and table figures are cumulative counts kept by the
 * processors and sinks (in this thread or summed from stream threads); each metric here reads
 * them at scrape time, so the hot path never touches prom-client. Process metrics come from
 * prom-client's default collectors.
 */
export function createMetricsRegistry(source: MetricsSource): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'tributary_' })
  // prom-client names these gauges *_total, which promtool (rightly) rejects for non-counters.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`tributary_nodejs_${name}`)
  const { processors, sinks } = source
  const metric = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[] | Promise<Sample[]>) =>
    registry.registerMetric({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: await collect() }) } as never)
  const perKey = (pick: (r: ProcessorRunnable) => Map<string, number>, label: string) => () =>
    processors().flatMap((p) => [...pick(p)].map(([k, v]) => ({ value: v, labels: { product: p.name, [label]: k } })))

  metric('tributary_records_in_total', 'Input records read, per product and input port', 'counter', perKey((p) => p.metrics.recordsIn, 'port'))
  metric('tributary_records_out_total', 'Output records emitted, per product and output port', 'counter', perKey((p) => p.metrics.recordsOut, 'port'))
  metric('tributary_dead_letters_total', 'Records sent to the dead-letter topic, per product and error code', 'counter', perKey((p) => p.metrics.deadLetters, 'code'))
  metric('tributary_records_skipped_total', 'Records with nothing to process (tombstones, truncates), per product and reason', 'counter', perKey((p) => p.metrics.skipped, 'reason'))
  metric('tributary_codec_records_total', 'Records decoded or encoded, per product, stage (decode, encode) and codec path (fast: a generated fast path; reference)', 'counter', () =>
    processors().flatMap((p) =>
      [...p.metrics.codecPaths].map(([k, v]) => {
        const [stage, path] = k.split('/') as [string, string]
        return { value: v, labels: { product: p.name, stage, path } }
      }),
    ),
  )
  metric('tributary_batch_duration_seconds', 'Time to process and commit one batch', 'histogram', () =>
    processors().flatMap((p) => histogramSamples('tributary_batch_duration_seconds', p.metrics.batchSeconds, { product: p.name })),
  )
  metric('tributary_consumer_lag', 'Records not yet processed, per product group and input partition', 'gauge', async () => {
    const out: Sample[] = []
    for (const p of processors()) {
      const committed = new Map((await source.log.groupOffsets(p.name)).map((o) => [`${o.topic}/${o.partition}`, o.offset]))
      for (const port of p.product.inputs.filter((i) => i.spec.mode === 'stream')) {
        const info = await source.log.describeTopic(port.spec.topic)
        for (const part of info?.partitions ?? [])
          out.push({ value: Math.max(0, part.end - (committed.get(`${port.spec.topic}/${part.partition}`) ?? part.start)), labels: { product: p.name, topic: port.spec.topic, partition: part.partition } })
      }
    }
    return out
  })
  const perSink = (pick: (s: Sink) => number) => () => sinks().map((s) => ({ value: pick(s), labels: { table: s.name } }))
  metric('tributary_snapshot_commits_total', 'Snapshots committed to the lake, per table', 'counter', perSink((s) => s.stats.commits))
  metric('tributary_snapshot_rows_total', 'Rows written to the lake, per table', 'counter', perSink((s) => s.stats.rows))
  metric('tributary_snapshot_bytes_total', 'Bytes of data files written to the lake, per table', 'counter', perSink((s) => s.stats.bytes))
  metric('tributary_snapshot_commit_duration_seconds', 'Time to write, commit, audit and publish one snapshot', 'histogram', () =>
    sinks().flatMap((s) => histogramSamples('tributary_snapshot_commit_duration_seconds', s.stats.commitSeconds, { table: s.name })),
  )
  metric('tributary_snapshot_age_seconds', 'Age of the newest snapshot published on main (the freshness SLO); -1 before the first', 'gauge', perSink((s) => (s.stats.lastPublishAt ? (Date.now() - s.stats.lastPublishAt) / 1000 : -1)))
  metric('tributary_audit_failures_total', 'Snapshots whose quality audit failed (main did not move), per table', 'counter', perSink((s) => s.stats.auditFailures))
  metric('tributary_sink_dead_letters_total', 'Records a lake table could not hold, sent to the product dead letters, per table and error code', 'counter', () =>
    sinks().flatMap((s) => [...s.stats.deadLetters].map(([code, n]) => ({ value: n, labels: { table: s.name, code } }))),
  )
  metric('tributary_sink_refused_total', 'Dead letters the dead-letter table could not hold (they stay in the dead-letter topic)', 'counter', perSink((s) => s.stats.refused))

  metric('tributary_restarts_total', 'Restarts of a runnable after a retriable failure, per product, runnable and error code', 'counter', () =>
    (source.supervision()?.restarts() ?? []).map((r) => ({ value: r.count, labels: { product: r.product, runnable: r.runnable, code: r.code } })),
  )
  metric('tributary_product_up', 'Whether a product runs: 1 once all its runnables started, 0 while starting or once stopped', 'gauge', () =>
    (source.supervision()?.status() ?? []).map((s) => ({ value: s.state === 'running' ? 1 : 0, labels: { product: s.product } })),
  )
  metric('tributary_product_stopped', 'A product stopped by a failure no restart fixes (1), with the runnable and the error code', 'gauge', () =>
    (source.supervision()?.status() ?? []).flatMap((s) => (s.stopped ? [{ value: 1, labels: { product: s.product, runnable: s.stopped.runnable, code: s.stopped.code } }] : [])),
  )
  const log = source.log
  if (log.health)
    metric('tributary_transport_up', "Whether the transport's servers (the Kafka brokers) answer: 0 during an outage", 'gauge', () => [{ value: log.health!().reachable ? 1 : 0, labels: {} }])
  const schemas = source.registry
  if (schemas?.health)
    metric('tributary_registry_up', 'Whether the schema registry answers: 0 during an outage', 'gauge', () => [{ value: schemas.health!().reachable ? 1 : 0, labels: {} }])
  const heap = source.heap
  if (heap) {
    metric('tributary_heap_used_ratio', 'Used V8 heap as a share of its limit (main thread)', 'gauge', () => [{ value: heap.usedRatio, labels: {} }])
    metric('tributary_heap_watermark_exceeded', 'Whether the used heap is above heapWatermark (1): the process may run out of memory', 'gauge', () => [{ value: heap.exceeded ? 1 : 0, labels: {} }])
  }
  return registry
}

/** Prometheus histogram samples: cumulative buckets with `le`, then _sum and _count. */
function histogramSamples(name: string, h: Histogram, labels: Labels): Sample[] {
  let cumulative = 0
  const buckets = h.buckets.map((le, i) => {
    cumulative += h.counts[i] ?? 0
    return { value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` }
  })
  return [
    ...buckets,
    { value: h.count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` },
    { value: h.sum, labels, metricName: `${name}_sum` },
    { value: h.count, labels, metricName: `${name}_count` },
  ]
}
