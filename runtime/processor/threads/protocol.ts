import type { Config } from '../../config/schema.ts'
import type { MetricsSnapshot } from '../../observability/metrics.ts'

export type { MetricsSnapshot }

/** Messages between the main thread and a stream thread (structured-clone safe). */
export type ToThread =
  | { type: 'start'; productDir: string; config: Config; member: { index: number; count: number } }
  | { type: 'step'; maxWaitMs: number }
  /** Steps until nothing is left to read right now. */
  | { type: 'drain' }
  | { type: 'run' }
  | { type: 'stop' }
  | { type: 'policy'; port: string; pii: Record<string, 'mask' | 'hash' | 'drop'> }
  | { type: 'close' }


export type FromThread =
  | { type: 'started' }
  | { type: 'stepped'; records: number; idle: boolean; metrics: MetricsSnapshot }
  | { type: 'progress'; records: number; metrics: MetricsSnapshot }
  | { type: 'stopped'; metrics: MetricsSnapshot }
  | { type: 'closed' }
  | { type: 'failed'; code: string; message: string }
