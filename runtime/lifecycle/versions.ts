/**
 * Major versions of a product. A product's spec carries a semver `version`; its major is the
 * product's contract with consumers. A new major runs beside the old one on the same inputs, so
 * each major's resources have their own names: the plain names for majors 0 and 1 (what a product
 * had before it ever had a second major, so existing topics, groups, state and tables stay where
 * they are), `<name>.v<N>` from major 2 on. The instance name prefixes everything a running product
 * owns: consumer group, state folder, changelog and dead-letter topics, lake tables
 * (`<lake>/<instance>/<port>`), and the output topics declared under the product's name.
 */

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/

export const isSemver = (version: string): boolean => SEMVER.test(version)

/** The major of a semver version: 2 for "2.1.0". */
export function majorOf(version: string): number {
  const m = SEMVER.exec(version)
  if (!m) throw new Error(`version ${JSON.stringify(version)} is not semver (MAJOR.MINOR.PATCH)`)
  return Number(m[1])
}

export const instanceName = (name: string, major: number): string => (major <= 1 ? name : `${name}.v${major}`)

/**
 * Where a major writes an output declared as `topic`: unchanged for majors 0 and 1; from major 2 on
 * `<name>.v<N>.<rest>` for a topic under the product's name (`user-profiles.profiles` →
 * `user-profiles.v2.profiles`), `<topic>.v<N>` for any other. A major never writes to another
 * major's topics, so consumers of the old one never see records of the new schema.
 */
export function versionedTopic(name: string, major: number, topic: string): string {
  if (major <= 1) return topic
  return topic.startsWith(`${name}.`) ? `${instanceName(name, major)}.${topic.slice(name.length + 1)}` : `${topic}.v${major}`
}

/** `2`, `v2` or `2.0.0` as written on the command line → 2. */
export function parseMajor(text: string): number | undefined {
  const m = /^v?(0|[1-9]\d*)(?:\.\d+\.\d+)?$/.exec(text.trim())
  return m ? Number(m[1]) : undefined
}
