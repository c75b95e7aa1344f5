import { z } from 'zod'

/** Someone the configuration knows, proven by a credential. */
export interface Principal {
  readonly name: string
  readonly groups: readonly string[]
}

/** Who made a request: a principal, or `null` for a request without credentials (anonymous). */
export type Identity = Principal | null

/**
 * Who may do something: principal names, `group:<name>` for every member of a group, or `*` for
 * every principal (anonymous requests match nothing). An absent audience means "anyone", and is only
 * used for reads.
 */
export type Audience = readonly string[]

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/
export const principalName = z
  .string()
  .regex(NAME, 'letters, digits, ".", "_", "@" and "-", starting with a letter or digit')
  .refine((n) => n !== 'anonymous', '"anonymous" names requests without credentials')
export const groupName = z.string().regex(NAME, 'letters, digits, ".", "_", "@" and "-", starting with a letter or digit')
export const audienceSchema = z
  .array(z.string().regex(/^(\*|group:[A-Za-z0-9][A-Za-z0-9._@-]{0,99}|[A-Za-z0-9][A-Za-z0-9._@-]{0,99})$/, 'a principal name, "group:<name>" or "*"'))
  .describe('principal names, "group:<name>", or "*" for every principal')

export function inAudience(audience: Audience, who: Identity): boolean {
  if (!who) return false
  return audience.some((entry) => entry === '*' || entry === who.name || (entry.startsWith('group:') && who.groups.includes(entry.slice(6))))
}

/** How audit logs and metrics name the caller. */
export const nameOf = (who: Identity): string => who?.name ?? 'anonymous'
