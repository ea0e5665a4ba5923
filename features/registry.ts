/**
 * The feature registry: the declared groups by name, and resolution of `group:feature` references
 * against them. `apply.ts` makes the infrastructure match it; readers (online, offline, gateway)
 * resolve references here so a typo fails with a message instead of returning nulls.
 */
import { RheoError } from '../kernel/errors.ts';
import { SchemaInvalidError } from '../schemas/index.ts';
import { featureTopic, type TopicEntry } from '../topics/catalogue.ts';
import { type FeatureGroupDecl, type FeatureRef, groupProblems, parseFeatureRef } from './declaration.ts';

/** Features wanted from one group, in the order first referenced. */
export interface GroupSelection {
  readonly group: FeatureGroupDecl;
  readonly features: readonly string[];
}

export class FeatureRegistry {
  readonly #groups: ReadonlyMap<string, FeatureGroupDecl>;

  constructor(groups: Iterable<FeatureGroupDecl>) {
    const byName = new Map<string, FeatureGroupDecl>();
    const problems: string[] = [];
    for (const group of groups) {
      if (byName.has(group.name)) problems.push(`group "${group.name}" is declared twice`);
      for (const problem of groupProblems(group)) problems.push(`${group.name}: ${problem}`);
      byName.set(group.name, group);
    }
    if (problems.length > 0)
      throw new SchemaInvalidError(`feature groups are not valid: ${problems.join('; ')}`, { details: { problems } });
    this.#groups = byName;
  }

  list(): FeatureGroupDecl[] {
    return [...this.#groups.values()];
  }

  has(name: string): boolean {
    return this.#groups.has(name);
  }

  /** The group, or NOT_FOUND naming the declared ones. */
  get(name: string): FeatureGroupDecl {
    const group = this.#groups.get(name);
    if (!group)
      throw new RheoError(
        'NOT_FOUND',
        `no feature group "${name}"; declared: ${[...this.#groups.keys()].join(', ') || '(none)'}`,
        {
          details: { group: name },
        },
      );
    return group;
  }

  topic(name: string): TopicEntry {
    return featureTopic(this.get(name).name);
  }

  topics(): TopicEntry[] {
    return this.list().map((group) => featureTopic(group.name));
  }

  /** The group whose topic this is, if any. */
  byTopic(topic: string): FeatureGroupDecl | undefined {
    return topic.startsWith('features.') ? this.#groups.get(topic.slice('features.'.length)) : undefined;
  }

  /** Parses and checks `group:feature` references; BAD_REQUEST names every unknown one. Grouped, duplicates dropped. */
  resolve(refs: readonly string[]): GroupSelection[] {
    if (refs.length === 0) throw new RheoError('BAD_REQUEST', 'no features requested');
    const parsed: FeatureRef[] = refs.map(parseFeatureRef);
    const unknown: string[] = [];
    const selected = new Map<string, string[]>();
    for (const ref of parsed) {
      const group = this.#groups.get(ref.group);
      if (!group) unknown.push(`${ref.group}:${ref.feature} (no group "${ref.group}")`);
      else if (!group.features.some((f) => f.name === ref.feature))
        unknown.push(`${ref.group}:${ref.feature} (group ${ref.group} has ${group.features.map((f) => f.name).join(', ')})`);
      else {
        const features = selected.get(ref.group) ?? [];
        if (!features.includes(ref.feature)) features.push(ref.feature);
        selected.set(ref.group, features);
      }
    }
    if (unknown.length > 0)
      throw new RheoError('BAD_REQUEST', `unknown features: ${unknown.join('; ')}`, { details: { unknown } });
    return [...selected].map(([name, features]) => ({ group: this.#groups.get(name) as FeatureGroupDecl, features }));
  }
}
