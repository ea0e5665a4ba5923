/**
 * `apply` (like `feast apply`): make the infrastructure match the declared groups — register each
 * group's Avro schema (BACKWARD), ensure its topic and dead-letter topic, create or extend its
 * ClickHouse table, record it in the online store (applying a changed TTL to stored entries).
 * Idempotent. Everything is checked first: when any group's change is incompatible (schema or table),
 * nothing at all is changed and the error says, per group, what is wrong and what to do instead.
 */
import { RheoError } from '../kernel/errors.ts';
import type { Admin } from '../kernel/kafka.ts';
import {
  type AvroRecordSchema,
  featureGroupSchema,
  type RegisteredSchema,
  type SchemaCodec,
  schemaText,
} from '../schemas/index.ts';
import { type EnsureReport, ensureTopics } from '../topics/admin.ts';
import { featureTopic, type TopicEntry, valueSubject, withDeadLetters } from '../topics/catalogue.ts';
import type { FeatureGroupDecl } from './declaration.ts';
import type { OfflinePlan, OfflineStore } from './offline/store.ts';
import type { OnlineEnsureReport, OnlineStore } from './online/store.ts';

export interface ApplyDeps {
  /** A group's topic (a project's overrides of partitions and retention); default the catalogue's. */
  topicOf?: (group: string) => TopicEntry;
  codec: SchemaCodec;
  admin: Admin;
  offline: OfflineStore;
  online: OnlineStore;
  replicationFactor?: number;
}

export interface GroupPlan {
  group: string;
  subject: string;
  /** Registry version the schema would follow; undefined for a new subject. */
  latestVersion: number | undefined;
  schemaChanged: boolean;
  table: OfflinePlan;
  /** Why the group cannot be applied; empty when it can. */
  refusals: string[];
}

export interface GroupApplyReport extends GroupPlan {
  schema: Pick<RegisteredSchema, 'id' | 'version' | 'created'>;
  online: OnlineEnsureReport;
}

export interface ApplyReport {
  groups: GroupApplyReport[];
  topics: EnsureReport;
}

export class FeatureGroupRefusedError extends RheoError {
  override name = 'FeatureGroupRefusedError';
  readonly plans: GroupPlan[];
  constructor(plans: GroupPlan[]) {
    const refused = plans.filter((p) => p.refusals.length > 0);
    super(
      'SCHEMA_INCOMPATIBLE',
      `nothing was applied: ${refused.map((p) => `feature group ${p.group}: ${p.refusals.join('; ')}`).join(' | ')}`,
      { details: { groups: refused.map((p) => ({ group: p.group, refusals: p.refusals })) } },
    );
    this.plans = plans;
  }
}

/** What apply would do and refuse, per group; changes nothing. */
export async function planFeatureGroups(
  groups: readonly FeatureGroupDecl[],
  deps: Pick<ApplyDeps, 'codec' | 'offline'>,
): Promise<GroupPlan[]> {
  const plans: GroupPlan[] = [];
  for (const group of groups) {
    const schema = featureGroupSchema(group);
    const subject = valueSubject(featureTopic(group.name));
    const report = await deps.codec.checkCompatibility(subject, schema);
    const latest = report.latestVersion === undefined ? undefined : await deps.codec.registry.subjectVersion(subject, 'latest');
    const previous = latest ? (JSON.parse(latest.schema) as AvroRecordSchema) : undefined;
    const refusals: string[] = [];
    if (!report.compatible) {
      const explained = previous ? explainSchemaChange(previous, schema) : [];
      refusals.push(...(explained.length > 0 ? explained : report.reasons));
    }
    const table = await deps.offline.plan(group);
    refusals.push(...table.conflicts);
    plans.push({
      group: group.name,
      subject,
      latestVersion: report.latestVersion,
      schemaChanged: !(await deps.codec.registry.lookup(subject, schemaText(schema))),
      table,
      refusals,
    });
  }
  return plans;
}

export async function applyFeatureGroups(groups: readonly FeatureGroupDecl[], deps: ApplyDeps): Promise<ApplyReport> {
  const plans = await planFeatureGroups(groups, deps);
  if (plans.some((p) => p.refusals.length > 0)) throw new FeatureGroupRefusedError(plans);
  const registered: RegisteredSchema[] = [];
  for (const group of groups)
    registered.push(await deps.codec.register(valueSubject(featureTopic(group.name)), featureGroupSchema(group)));
  const topics = await ensureTopics(
    deps.admin,
    withDeadLetters(groups.map((g) => (deps.topicOf ?? featureTopic)(g.name))),
    deps.replicationFactor ? { replicationFactor: deps.replicationFactor } : {},
  );
  const reports: GroupApplyReport[] = [];
  for (const [i, group] of groups.entries()) {
    const table = await deps.offline.ensure(group);
    const online = await deps.online.ensure(group);
    const schema = registered[i] as RegisteredSchema;
    reports.push({
      ...(plans[i] as GroupPlan),
      table,
      schema: { id: schema.id, version: schema.version, created: schema.created },
      online,
    });
  }
  return { groups: reports, topics };
}

type FieldSchema = AvroRecordSchema['fields'][number];

/**
 * Pure: what in a declaration change breaks BACKWARD compatibility (the new schema must read every
 * record already on the topic), said in terms of features, with what to do instead.
 */
export function explainSchemaChange(previous: AvroRecordSchema, next: AvroRecordSchema): string[] {
  const before = new Map(previous.fields.map((f) => [f.name, f]));
  const reasons: string[] = [];
  for (const field of next.fields) {
    const old = before.get(field.name);
    if (!old) {
      if (!('default' in field))
        reasons.push(
          `feature "${field.name}" is new but has no default, so records already on the topic cannot be read: make it nullable or give it a default`,
        );
      continue;
    }
    if (!readable(field.type, old.type))
      reasons.push(
        `feature "${field.name}" changed type from ${typeName(old.type)} to ${typeName(field.type)}: a type change is never compatible; declare a new feature (e.g. "${field.name}_v2") and stop producing the old one`,
      );
  }
  return reasons;
}

/** Whether a reader of type `reader` can read data written as `writer` (the cases declarations produce). */
function readable(reader: FieldSchema['type'], writer: FieldSchema['type']): boolean {
  const key = (t: unknown) => JSON.stringify(t);
  if (key(reader) === key(writer)) return true;
  const readerBranches = Array.isArray(reader) ? reader.map(key) : [key(reader)];
  const writerBranches = Array.isArray(writer) ? writer.map(key) : [key(writer)];
  // Avro promotions a declaration can hit: long → double.
  return writerBranches.every((w) => readerBranches.includes(w) || (w === '"long"' && readerBranches.includes('"double"')));
}

function typeName(type: FieldSchema['type']): string {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null');
    return `nullable ${branches.map((t) => typeName(t as FieldSchema['type'])).join('|')}`;
  }
  if (typeof type === 'object' && type !== null && 'type' in type) return String((type as { type: unknown }).type);
  return String(type);
}
