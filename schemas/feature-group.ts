/**
 * Feature events are per feature group, and their Avro schema is derived from the group's
 * declaration in code, never written by hand. This module holds the smallest declaration the
 * derivation needs and the pure function that derives it; the feature-group catalogue (a later
 * issue) adds its own fields to the declaration and calls `featureGroupSchema`.
 *
 * Derived record `io.rheo.features.<PascalName>`: `entity_id`, the features in declaration order,
 * then `event_time`, `created_time`, `event_id`. Nullable features are `["null", T]` with default null;
 * a non-nullable feature carries its declared default when it has one. To stay BACKWARD compatible, a
 * feature added to an existing group must be nullable or have a default; removing a feature is
 * compatible only if it had one, and changing a type never is (the registry refuses both loudly).
 */
import type { AvroFieldSchema, AvroRecordSchema } from './avro.ts';
import { avroType } from './avro.ts';
import { type Contract, defineContract } from './contracts.ts';
import { SchemaInvalidError } from './errors.ts';
import type { EpochMillis, Uuid } from './types.generated.ts';

export type FeatureValueType = 'double' | 'long' | 'string' | 'boolean';

export interface FeatureTypeMap {
  double: number;
  long: number;
  string: string;
  boolean: boolean;
}

export interface FeatureDecl {
  /** Lower snake_case, unique in the group, e.g. `txn_count_1h`. */
  readonly name: string;
  readonly type: FeatureValueType;
  /** Whether the value may be null (unknown); default false. */
  readonly nullable?: boolean;
  /** What the feature means, with its unit; becomes the field's `doc`. */
  readonly description: string;
  /** Value a reader fills in for records written before the feature existed (non-nullable features). */
  readonly default?: number | string | boolean;
}

export interface FeatureGroupDecl {
  /** Lower snake_case; the topic is `features.<name>`. */
  readonly name: string;
  /** Entity the group is keyed by, e.g. `card`. */
  readonly entity: string;
  readonly description: string;
  /** Declaration version, raised on every change. */
  readonly version: number;
  readonly features: readonly FeatureDecl[];
  /** Team or person answerable for the group. */
  readonly owner?: string;
  /** How long an online value stays valid, in seconds; absent means forever. */
  readonly ttlSeconds?: number;
}

export const FEATURE_NAMESPACE = 'io.rheo.features';
const RESERVED = new Set(['entity_id', 'event_time', 'created_time', 'event_id']);
const SNAKE = /^[a-z][a-z0-9_]*$/;

/** The decoded feature event of a group declared `as const` (typed features, nullable ones `| null`). */
export type FeatureEvent<D extends FeatureGroupDecl> = FeatureEventBase & {
  [F in D['features'][number] as F['name']]: FeatureTypeMap[F['type']] | (F['nullable'] extends true ? null : never);
};

/** A feature event as a producer writes it: nullable features and features with a default may be left out. */
export type FeatureEventInput<D extends FeatureGroupDecl> = FeatureEventBase & {
  [F in D['features'][number] as F['nullable'] extends true
    ? F['name']
    : F['default'] extends FeatureTypeMap[FeatureValueType]
      ? F['name']
      : never]?: FeatureTypeMap[F['type']] | (F['nullable'] extends true ? null : never);
} & {
  [F in D['features'][number] as F['nullable'] extends true
    ? never
    : F['default'] extends FeatureTypeMap[FeatureValueType]
      ? never
      : F['name']]: FeatureTypeMap[F['type']];
};

export interface FeatureEventBase {
  /** Id of the entity (as declared by the group), also the record key. */
  entity_id: string;
  /** When the feature values became true in the world. */
  event_time: EpochMillis;
  /** When the values were computed and produced. */
  created_time: EpochMillis;
  /** Unique id of the event (UUID). */
  event_id: Uuid;
}

/** PascalCase record name of a group: `card_activity` → `CardActivity`. */
export function featureRecordName(group: string): string {
  return group
    .split('_')
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/** The Avro record schema of a feature group's events. Pure; throws SchemaInvalidError naming every problem. */
export function featureGroupSchema(decl: FeatureGroupDecl): AvroRecordSchema {
  const problems = declarationProblems(decl);
  if (problems.length) {
    throw new SchemaInvalidError(`feature group "${decl.name}" cannot become an Avro schema: ${problems.join('; ')}`, {
      details: { group: decl.name, problems },
    });
  }
  const fields: AvroFieldSchema[] = [
    { name: 'entity_id', type: 'string', doc: `Id of the ${decl.entity} the features describe; also the record key.` },
    ...decl.features.map(featureField),
    {
      name: 'event_time',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'When the feature values became true in the world; online stores keep the newest by this time.',
    },
    {
      name: 'created_time',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'When the values were computed and produced.',
    },
    {
      name: 'event_id',
      type: { type: 'string', logicalType: 'uuid' },
      doc: 'Unique id of this event (UUID); sinks deduplicate on it.',
    },
  ];
  const about = [
    `Feature group ${decl.name} (entity ${decl.entity}${decl.owner ? `, owner ${decl.owner}` : ''}, declaration version ${decl.version})`,
    decl.description.trim(),
  ];
  const schema: AvroRecordSchema = {
    type: 'record',
    name: featureRecordName(decl.name),
    namespace: FEATURE_NAMESPACE,
    doc: `${about.join(': ')} Produced to \`features.${decl.name}\`, keyed by ${decl.entity} id.`,
    fields,
  };
  avroType(schema, `derived schema of feature group "${decl.name}"`);
  return schema;
}

/** The group's schema as a contract, typed from a declaration written `as const` (or with `satisfies FeatureGroupDecl`). */
export function featureGroupContract<const D extends FeatureGroupDecl>(decl: D): Contract<FeatureEvent<D>, FeatureEventInput<D>> {
  return defineContract<FeatureEvent<D>, FeatureEventInput<D>>(featureGroupSchema(decl), {
    version: decl.version,
    history: [`${decl.version}: derived from the declaration of feature group ${decl.name}`],
  });
}

function featureField(feature: FeatureDecl): AvroFieldSchema {
  if (feature.nullable) return { name: feature.name, type: ['null', feature.type], default: null, doc: feature.description };
  return {
    name: feature.name,
    type: feature.type,
    ...(feature.default === undefined ? {} : { default: feature.default }),
    doc: feature.description,
  };
}

/** Every reason a declaration cannot be derived; empty when it can. */
export function declarationProblems(decl: FeatureGroupDecl): string[] {
  const problems: string[] = [];
  if (!SNAKE.test(decl.name)) problems.push(`group name "${decl.name}" must be lower snake_case`);
  if (!SNAKE.test(decl.entity)) problems.push(`entity "${decl.entity}" must be lower snake_case`);
  if (!decl.description?.trim()) problems.push('the group needs a description');
  if (!Number.isInteger(decl.version) || decl.version < 1)
    problems.push(`version must be a positive integer, got ${decl.version}`);
  if (decl.features.length === 0) problems.push('a group needs at least one feature');
  const seen = new Set<string>();
  for (const feature of decl.features) {
    const name = feature.name;
    if (!SNAKE.test(name)) problems.push(`feature "${name}" must be lower snake_case`);
    if (RESERVED.has(name)) problems.push(`feature "${name}" collides with a field every feature event has`);
    if (seen.has(name)) problems.push(`feature "${name}" is declared twice`);
    seen.add(name);
    if (!['double', 'long', 'string', 'boolean'].includes(feature.type))
      problems.push(`feature "${name}" has unknown type "${feature.type}"`);
    if (!feature.description?.trim()) problems.push(`feature "${name}" needs a description`);
    if (feature.default !== undefined) {
      if (feature.nullable) problems.push(`feature "${name}" is nullable, so its default is null; drop \`default\``);
      else if (!defaultFits(feature.type, feature.default))
        problems.push(`default of feature "${name}" is not a ${feature.type}: ${JSON.stringify(feature.default)}`);
    }
  }
  return problems;
}

function defaultFits(type: FeatureValueType, value: unknown): boolean {
  switch (type) {
    case 'double':
      return typeof value === 'number' && Number.isFinite(value);
    case 'long':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
  }
}
