import { defineTransform } from 'tributary-runtime'
import type { User, UserProfile } from '../../schemas/generated/types.ts'

const bands = ['18-24', '25-34', '35-44', '45-54', '55-64'] as const

/** Age band at the time of the change, so the output depends only on the input (replays agree). */
export function ageBand(birthDate: string | null, at: string): string | null {
  if (!birthDate) return null
  // Both are canonical 'YYYY-MM-DD…' strings: compare (month, day) as MMDD numbers.
  const age = +at.slice(0, 4) - +birthDate.slice(0, 4) - (+(at.slice(5, 7) + at.slice(8, 10)) < +(birthDate.slice(5, 7) + birthDate.slice(8, 10)) ? 1 : 0)
  if (age < 18) return 'under-18'
  if (age >= 65) return '65+'
  return bands[Math.min(4, Math.floor((age - 15) / 10))]!
}

export default defineTransform<{ users: User }, { profiles: UserProfile }>((record) => {
  // A deleted user leaves a tombstone, so compacted topics and the upsert snapshot drop them; a
  // truncated users table empties the profiles (their table and the lookups downstream).
  if (record.op === 't') return { port: 'profiles', truncate: true }
  if (record.op === 'd') return { port: 'profiles', key: record.value.id, value: null }
  const u = record.value
  return {
    port: 'profiles',
    value: {
      user_id: u.id,
      email: u.email.toLowerCase(),
      display_name: u.full_name.trim(),
      age_band: ageBand(u.birth_date, u.updated_at),
      country: u.country,
      city: u.city,
      plan: u.plan,
      marketing_opt_in: u.marketing_opt_in,
      lifetime_value: u.lifetime_value,
      registered_at: u.created_at,
      updated_at: u.updated_at,
    },
  }
})
