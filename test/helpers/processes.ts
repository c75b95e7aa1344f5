import type { ChildProcess } from 'node:child_process'

/** Stops a child process with SIGTERM (as a container runtime does); resolves when it has exited. */
export const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })

/** Polls `ok` every 200 ms for up to 2 minutes; fails with `what` and the tail of the server's logs. */
export async function waitFor(what: string, logs: { text: string }, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what} did not happen: ${logs.text.slice(-3000)}`)
}
