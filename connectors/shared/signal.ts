/**
 * Wakes waiters when something changes in this process (an append, a fetch); changes made by other
 * processes are noticed by whoever polls.
 */
export class Signal {
  private readonly waiters = new Set<() => void>()

  notify(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.waiters.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.waiters.add(wake)
    })
  }
}
