import { Histogram } from '../observability/metrics.ts'
import type { Runnable } from '../supervisor/runnable.ts'

/**
 * A sink consumes one topic and commits what it read to a destination exactly once: each commit
 * records, in the destination itself, the topic offsets it covers, and `start()` resumes from the
 * offsets of the last commit. So a crash or a restart at any point produces no duplicate and no
 * gap. The Iceberg snapshot compactor (runtime/compactor/) is the implementation; a sink could as
 * well write another table format or a warehouse.
 *
 * Contract, beyond Runnable's:
 * - Records are read without a consumer group (the destination holds the position).
 * - `commit()` makes what is pending visible in one atomic step with its offsets; `run()` commits by
 *   the sink's policy (interval, size) and once more when it stops.
 * - A record the destination cannot hold is not dropped: it becomes a dead letter of the product
 *   (with its code and the field), written before the commit that moves past it.
 * - `stats` are cumulative over restarts.
 */
export interface Sink extends Runnable {
  /** `<product>.<port>`: the destination's name (a lake table). */
  readonly name: string
  /** The product whose output this is. */
  readonly productName: string
  readonly topic: string
  readonly stats: SinkStats
  commit(): Promise<void>
}

/** Figures of one sink, read by the CLI summary and by metrics at scrape time. */
export class SinkStats {
  /** Records read from the topic. */
  read = 0
  /** Rows committed to the destination. */
  rows = 0
  commits = 0
  /** Bytes of the files written. */
  bytes = 0
  lastCommitMs = 0
  /** When the destination last became visible to readers (a published snapshot), epoch ms; 0 before. */
  lastPublishAt = 0
  /** Commits that failed the quality audit (they stay unpublished). */
  auditFailures = 0
  /** Truncates applied (every row dropped), and ignored (append tables, or `truncate: ignore`). */
  truncates = 0
  truncatesIgnored = 0
  /** Records the destination could not hold, sent to the product's dead letters, per error code. */
  readonly deadLetters = new Map<string, number>()
  /** Dead letters it could not write (only the dead-letter table's own sink, whose topic it is). */
  refused = 0
  /** Seconds per commit: write files, commit, audit, publish. */
  readonly commitSeconds = new Histogram([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
}
