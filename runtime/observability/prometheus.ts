import { collectDefaultMetrics, Registry } from 'prom-client'
import { SnapshotCompactor } from '../compactor/compactor.ts'
import type { Log } from '../log/log.ts'
import type { Histogram } from '../processor/metrics.ts'
import type { RunnableProduct } from '../processor/runnable.ts'

type Labels = Record<string, string | number>
interface Sample {
  value: number
  labels: Labels
  metricName?: string
}

/**
 * The service's Prometheus metrics. Product and table figures are cumulative counts kept by the
 * processors and compactors (in this thread or summed from stream threads); each metric here reads
 * them at scrape time, so the hot path never touches prom-client. Process metrics come from
 * prom-client's default collectors.
 */
export function createMetricsRegistry(source: { runnables: () => readonly RunnableProduct[]; log: Log }): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'tributary_' })
  // prom-client names these gauges *_total, which promtool (rightly) rejects for non-counters.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`tributary_nodejs_${name}`)
  const processors = () => source.runnables().filter((r) => !(r instanceof SnapshotCompactor))
  const compactors = () => source.runnables().filter((r): r is SnapshotCompactor => r instanceof SnapshotCompactor)
  const metric = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[] | Promise<Sample[]>) =>
    registry.registerMetric({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: await collect() }) } as never)
  const perKey = (pick: (r: RunnableProduct) => Map<string, number>, label: string) => () =>
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
  metric('tributary_snapshot_commits_total', 'Snapshots committed to the lake, per table', 'counter', () => compactors().map((c) => ({ value: c.lake.commits, labels: { table: c.name } })))
  metric('tributary_snapshot_rows_total', 'Rows written to the lake, per table', 'counter', () => compactors().map((c) => ({ value: c.lake.rows, labels: { table: c.name } })))
  metric('tributary_snapshot_bytes_total', 'Bytes of data files written to the lake, per table', 'counter', () => compactors().map((c) => ({ value: c.lake.bytes, labels: { table: c.name } })))
  metric('tributary_snapshot_commit_duration_seconds', 'Time to write, commit, audit and publish one snapshot', 'histogram', () =>
    compactors().flatMap((c) => histogramSamples('tributary_snapshot_commit_duration_seconds', c.lake.commitSeconds, { table: c.name })),
  )
  metric('tributary_snapshot_age_seconds', 'Age of the newest snapshot published on main (the freshness SLO); -1 before the first', 'gauge', () =>
    compactors().map((c) => ({ value: c.lake.lastPublishAt ? (Date.now() - c.lake.lastPublishAt) / 1000 : -1, labels: { table: c.name } })),
  )
  metric('tributary_audit_failures_total', 'Snapshots whose quality audit failed (main did not move), per table', 'counter', () =>
    compactors().map((c) => ({ value: c.lake.auditFailures, labels: { table: c.name } })),
  )
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
