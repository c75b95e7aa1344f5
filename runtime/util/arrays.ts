/**
 * Minimum, maximum and append over arrays of any length. `Math.min(...values)` and
 * `target.push(...items)` pass every element as an argument, and past ~100k elements that overflows
 * the stack (`demo --plays 200000` did); these loop instead. A test keeps argument spread of arrays
 * out of the runtime.
 */
export function minOf(values: Iterable<number>): number {
  let min = Infinity
  for (const v of values) if (v < min) min = v
  return min
}

export function maxOf(values: Iterable<number>): number {
  let max = -Infinity
  for (const v of values) if (v > max) max = v
  return max
}

export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item)
  return target
}
