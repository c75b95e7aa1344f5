import { z } from 'zod'
import { audienceSchema, groupName, principalName } from './principal.ts'
import { secretSchema } from './secret.ts'

/**
 * The `access` block of the runtime configuration: who is who (principals, their credentials and
 * groups) and who may write. What a product lets others read is in its product.yaml.
 */
const principal = z
  .strictObject({
    token: secretSchema(16).optional().describe('bearer token (Authorization: Bearer …)'),
    basic: z
      .strictObject({
        username: z.string().regex(/^[^:\s]{1,100}$/, 'no colon or white space'),
        password: secretSchema(8),
      })
      .optional()
      .describe('HTTP basic auth, what Confluent schema registry clients send'),
    groups: z.array(groupName).default([]),
  })
  .refine((p) => p.token !== undefined || p.basic !== undefined, 'a principal needs a token or basic credentials')

/** Writes are closed by default: to members of this group (the control token's principal is one). */
export const ADMIN_AUDIENCE = ['group:admin'] as const

export const accessConfigSchema = z
  .strictObject({
    principals: z.record(principalName, principal).default({}).describe('principal name → credentials and groups'),
    control: audienceSchema.default([...ADMIN_AUDIENCE]).describe("who may change a product's policies when its spec does not say (access.control)"),
    registryWrite: audienceSchema.default([...ADMIN_AUDIENCE]).describe('who may write to the schema registry (subjects, versions, config, mode)'),
    registryRead: audienceSchema.optional().describe('who may read the schema registry; anyone when absent'),
  })
  .superRefine((a, ctx) => {
    const seen = new Map<string, string>()
    for (const [name, p] of Object.entries(a.principals)) {
      if (!p.basic) continue
      const other = seen.get(p.basic.username)
      if (other) ctx.addIssue({ code: 'custom', path: ['principals', name, 'basic', 'username'], message: `username "${p.basic.username}" is also ${other}'s` })
      seen.set(p.basic.username, name)
    }
  })

export type AccessConfig = z.infer<typeof accessConfigSchema>

/** The principal `http.controlToken` stands for: an admin, so it may change policies and write to the registry. */
export const CONTROL_PRINCIPAL = { name: 'control', groups: ['admin'] } as const
