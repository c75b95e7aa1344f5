/**
 * What the supervisor drives: a product's processor (in this thread or its stream threads) or one
 * of its sinks (the lake compactors).
 *
 * Contract:
 * - `start()` acquires what the runnable needs (consumers joined, stores and tables open). After
 *   `close()` it may be called again: that is a restart, which resumes from the last commit.
 * - `step(maxWaitMs)` does one unit of work and returns the input records it handled (0: idle now);
 *   `idle()` is true once the last step found nothing and every input is read to its end.
 * - `run(onBatch)` steps until `requestStop()`; the batch in flight finishes and commits before it
 *   returns. It throws what a step throws and then has stopped; nothing it did not commit counts.
 *   A stop request ends the run in progress only: calling `run` again (a resume) runs again.
 * - `close()` releases everything; it is safe after a failure and when called twice.
 * - Failures are TributaryErrors: `retriable` says whether a restart may help. Errors whose codes
 *   say the component already rewound to its last commit (restart.ts) are resumed without a restart.
 */
export interface Runnable {
  /** `<product>` for a processor, `<product>.<port>` for a sink. */
  readonly name: string
  start(): Promise<void>
  step(maxWaitMs?: number): Promise<number>
  idle(): boolean
  run(onBatch?: (records: number) => void): Promise<void>
  requestStop(): void
  close(): Promise<void>
}
