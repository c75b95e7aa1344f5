import { defineTransform } from 'tributary-runtime'
import type { ListenerDemographic, PlayEvent, UserProfile } from '../../schemas/generated/types.ts'

export default defineTransform<{ plays: PlayEvent; profiles: UserProfile }, { demographics: ListenerDemographic }>(
  (record, ctx) => {
    if (record.port !== 'plays') return
    const play = record.value
    const profile = ctx.lookup<UserProfile>('profiles', play.user_id)
    return {
      port: 'demographics',
      value: {
        play_id: play.play_id,
        podcast_id: play.podcast_id,
        episode_id: play.episode_id,
        played_at: play.played_at,
        play_day: play.played_at.slice(0, 10),
        duration_seconds: play.duration_seconds,
        device: play.device,
        user_id: play.user_id,
        known_listener: profile !== undefined,
        age_band: profile?.age_band ?? null,
        country: profile?.country ?? null,
        city: profile?.city ?? null,
        plan: profile?.plan ?? null,
      },
    }
  },
)
