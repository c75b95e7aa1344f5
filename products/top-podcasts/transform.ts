import { defineTransform } from 'tributary-runtime'
import type { DailyPodcastPlays, ListenerDemographic } from '../../schemas/generated/types.ts'

/** What the product remembers per (day, podcast); kept in ctx.state, committed with the outputs. */
interface Tally {
  plays: number
  seconds: number
  listeners: Array<number | bigint>
  countries: Record<string, number>
  /** Latest play time seen: the totals are as of then, whatever order plays arrive in. */
  latest: string
}

export default defineTransform<{ demographics: ListenerDemographic }, { 'daily-plays': DailyPodcastPlays }>(
  (record, ctx) => {
    const d = record.value
    const stateKey = `${d.play_day}|${d.podcast_id}`
    const t = ctx.state.get<Tally>(stateKey) ?? { plays: 0, seconds: 0, listeners: [], countries: {}, latest: d.played_at }
    t.plays += 1
    t.seconds += d.duration_seconds
    if (!t.listeners.includes(d.user_id)) t.listeners.push(d.user_id)
    if (d.country) t.countries[d.country] = (t.countries[d.country] ?? 0) + 1
    if (d.played_at > t.latest) t.latest = d.played_at
    ctx.state.put(stateKey, t)
    const top = Object.entries(t.countries).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]
    return {
      port: 'daily-plays',
      value: {
        day: d.play_day,
        podcast_id: d.podcast_id,
        plays: t.plays,
        listeners: t.listeners.length,
        listened_seconds: t.seconds,
        top_country: top ? top[0] : null,
        updated_at: t.latest,
      },
    }
  },
)
