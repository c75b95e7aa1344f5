const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** '500ms', '10s', '5m', '2h', '7d', '1w' (or a combination such as '1h30m') → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined
  return parts.reduce((total, p) => total + Number(p[1]) * units[p[2]!]!, 0)
}

export const formatDuration = (ms: number): string =>
  ms >= 86_400_000 ? `${+(ms / 86_400_000).toFixed(1)}d`
  : ms >= 3_600_000 ? `${+(ms / 3_600_000).toFixed(1)}h`
  : ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)}m`
  : ms >= 1000 ? `${+(ms / 1000).toFixed(1)}s`
  : `${Math.round(ms)}ms`
