/**
 * `rheo plan` / `rheo apply` (like `terraform plan/apply`, `feast plan/apply`): what applying a
 * project would change on the live cluster, schema registry, ClickHouse and Redis, and the one
 * apply that makes them match it.
 *
 * `planProject` reads only: every topic of the project's catalogue (create, unchanged, or its
 * differences: fixable ones apply fixes, the others are warnings), every core contract subject and
 * every feature-group subject (new, unchanged, a compatible new version, or INCOMPATIBLE with the
 * reasons, and the compatibility level apply sets), every ClickHouse catalogue table and view and
 * every feature table, and each group's Redis key layout and TTL against what the store recorded.
 * An incompatible subject or a table conflict is a refusal. `applyProject` plans first and changes
 * nothing when anything is refused; otherwise it registers the core subjects, ensures the topics
 * (fixing the fixable drift), applies the feature groups and ensures the ClickHouse catalogue, and
 * reports what it did in the plan's own shape. Both are idempotent: a plan after an apply shows no
 * change. `summarize`, `collectRefusals`, `collectWarnings` and the rendering helpers are pure.
 */
import { applyFeatureGroups, type GroupApplyReport, type GroupPlan, planFeatureGroups } from '../features/apply.ts';
import type { FeatureGroupDecl } from '../features/declaration.ts';
import type { OfflineStore } from '../features/offline/store.ts';
import { DEFAULT_PREFIX, entityKey } from '../features/online/layout.ts';
import type { OnlineGroupRecord, OnlineStore } from '../features/online/store.ts';
import { errorMessage, RheoError } from '../kernel/errors.ts';
import type { Admin } from '../kernel/kafka.ts';
import { list, sql } from '../kernel/sql.ts';
import {
  type AvroRecordSchema,
  type Compatibility,
  type RegisteredSchema,
  type SchemaCodec,
  schemaText,
} from '../schemas/index.ts';
import { type DdlClient, ensureTables } from '../tables/admin.ts';
import { CATALOGUE, type CatalogueEntry } from '../tables/catalogue.ts';
import {
  compareTopic,
  defaultReplicationFactor,
  describeTopics,
  type EnsureReport,
  ensureTopics,
  type TopicDrift,
} from '../topics/admin.ts';
import type { Cleanup, TopicEntry } from '../topics/catalogue.ts';
import { type ProjectContext, projectFeatureTopic } from './context.ts';

/** What applying would do to one object (or, in an apply report, what it did). */
export type PlanAction = 'create' | 'change' | 'unchanged' | 'refused';

export interface TopicPlan {
  readonly topic: string;
  /** The feature group whose topic (or dead-letter topic) it is; null for a core topic. */
  readonly group: string | null;
  readonly action: Exclude<PlanAction, 'refused'>;
  /** As declared (the project's overrides applied). */
  readonly partitions: number;
  readonly retentionMs: number;
  readonly cleanup: Cleanup;
  /** What a created topic gets; an existing one is compared against it. */
  readonly replicationFactor: number;
  /** Differences from the cluster's topic: `fixable` ones apply fixes (`fixed` once it did), the others are warnings. */
  readonly drift: readonly TopicDrift[];
}

export interface SubjectPlan {
  readonly subject: string;
  readonly kind: 'contract' | 'feature-group';
  /** Contract name (`Prediction`) or feature group name. */
  readonly name: string;
  readonly group: string | null;
  /** new subject, this exact schema registered already, a compatible new version, or refused. */
  readonly status: 'new' | 'unchanged' | 'compatible' | 'incompatible';
  readonly action: PlanAction;
  /** Latest registered version; null for a new subject. In an apply report: the version registered or found. */
  readonly version: number | null;
  /** The level apply sets on the subject (BACKWARD). */
  readonly compatibility: Compatibility;
  /** The subject's own level now; null when it has none (new subject, or the registry's default applies). */
  readonly currentCompatibility: Compatibility | null;
  /** Why the schema is refused (empty unless incompatible). */
  readonly reasons: readonly string[];
}

export interface TablePlan {
  /** `database.table`. */
  readonly table: string;
  readonly kind: 'table' | 'view' | 'feature-table';
  readonly group: string | null;
  readonly action: PlanAction;
  readonly addColumns: readonly string[];
  readonly makeNullable: readonly string[];
  readonly conflicts: readonly string[];
}

export interface OnlinePlan {
  readonly group: string;
  /** Redis key of one entity's current features. */
  readonly keyPattern: string;
  /** Declared TTL; null: values never expire. */
  readonly ttlSeconds: number | null;
  /** Whether the store has a record of the group (from an earlier apply). */
  readonly recorded: boolean;
  readonly recordedTtlSeconds: number | null;
  /** create: no record yet; change: the TTL differs from the record (stored entries are retimed). */
  readonly action: Exclude<PlanAction, 'refused'>;
  /** Apply reports only: entries whose expiry was recomputed. */
  readonly entriesRetimed?: number;
}

/** Why applying is refused: nothing is changed while there is any. */
export interface Refusal {
  readonly kind: 'subject' | 'table';
  /** The subject or `database.table`. */
  readonly name: string;
  readonly group: string | null;
  readonly reason: string;
}

export interface PlanSummary {
  readonly create: number;
  readonly change: number;
  readonly unchanged: number;
  readonly refused: number;
  /** Differences apply cannot fix (e.g. more partitions than declared). */
  readonly warnings: number;
}

export interface ProjectPlan {
  readonly project: { readonly name: string; readonly dir: string; readonly file: string };
  readonly topics: readonly TopicPlan[];
  readonly subjects: readonly SubjectPlan[];
  readonly tables: readonly TablePlan[];
  readonly online: readonly OnlinePlan[];
  readonly refusals: readonly Refusal[];
  readonly warnings: readonly string[];
}

/** The outcome of `applyProject`, in the plan's shape: each object's action is what was done. */
export interface ProjectApplyReport extends ProjectPlan {
  /** False when refused: then nothing was changed and the lists are the plan. */
  readonly applied: boolean;
}

/** A core Avro contract and its subject (`bindings()` of `rheo schemas`). */
export interface CoreContract {
  readonly subject: string;
  readonly contract: { readonly name: string; readonly schema: AvroRecordSchema };
}

/** What planning reads of ClickHouse: a query answering JSON rows (a `ClickHouseClient` is one). */
export interface QueryClient {
  query(params: { query: string; format: 'JSONEachRow' }): Promise<{ json(): Promise<unknown> }>;
}

/** What planning reads of the online store: its record of a group (`RedisOnlineStore.recorded`). */
export interface OnlineRecords {
  recorded(group: string): Promise<OnlineGroupRecord | undefined>;
}

export interface PlanDeps {
  readonly codec: SchemaCodec;
  readonly admin: Admin;
  readonly clickhouse: QueryClient;
  /** The ClickHouse database of the catalogue and feature tables. */
  readonly database: string;
  readonly offline: OfflineStore;
  readonly online: OnlineRecords;
  /** The core contracts (`bindings()`). */
  readonly contracts: readonly CoreContract[];
  /** Replication factor of new topics; default min(3, brokers). */
  readonly replicationFactor?: number;
  /** Redis key prefix shown in the layout; default `rheo:features`. */
  readonly onlinePrefix?: string;
}

export interface ApplyProjectDeps extends PlanDeps {
  readonly clickhouse: QueryClient & DdlClient;
  readonly online: OnlineRecords & OnlineStore;
}

/** The feature group each feature topic and dead-letter topic belongs to. */
function topicGroups(context: ProjectContext): Map<string, string> {
  const groups = new Map<string, string>();
  for (const g of context.project.featureGroups) {
    const topic = projectFeatureTopic(context.project, g.name);
    groups.set(topic.name, g.name);
    if (topic.dlq) groups.set(topic.dlq, g.name);
  }
  return groups;
}

async function planTopics(context: ProjectContext, deps: PlanDeps): Promise<TopicPlan[]> {
  const replicationFactor = await defaultReplicationFactor(deps.admin, deps.replicationFactor);
  const entries: readonly TopicEntry[] = context.topics;
  const existing = await describeTopics(
    deps.admin,
    entries.map((e) => e.name),
  );
  const groups = topicGroups(context);
  return entries.map((entry) => {
    const topic = existing.get(entry.name);
    const drift = topic ? compareTopic(entry, topic, replicationFactor) : [];
    return {
      topic: entry.name,
      group: groups.get(entry.name) ?? null,
      action: !topic ? 'create' : drift.some((d) => d.fixable) ? 'change' : 'unchanged',
      partitions: entry.partitions,
      retentionMs: entry.retentionMs,
      cleanup: entry.cleanup,
      replicationFactor,
      drift,
    };
  });
}

async function levelOf(codec: SchemaCodec, subject: string, exists: boolean): Promise<Compatibility | null> {
  return exists ? ((await codec.registry.getCompatibility(subject)) ?? null) : null;
}

function subjectAction(status: SubjectPlan['status'], current: Compatibility | null, level: Compatibility): PlanAction {
  if (status === 'incompatible') return 'refused';
  if (status === 'new') return 'create';
  if (status === 'compatible') return 'change';
  return current === level ? 'unchanged' : 'change';
}

async function planContract(codec: SchemaCodec, contract: CoreContract): Promise<SubjectPlan> {
  const { subject } = contract;
  const report = await codec.checkCompatibility(subject, contract.contract.schema);
  const exists = report.latestVersion !== undefined;
  const registered = exists ? await codec.registry.lookup(subject, schemaText(contract.contract.schema)) : undefined;
  const status: SubjectPlan['status'] = !exists
    ? 'new'
    : registered
      ? 'unchanged'
      : report.compatible
        ? 'compatible'
        : 'incompatible';
  const current = await levelOf(codec, subject, exists);
  return {
    subject,
    kind: 'contract',
    name: contract.contract.name,
    group: null,
    status,
    action: subjectAction(status, current, codec.compatibility),
    version: report.latestVersion ?? null,
    compatibility: codec.compatibility,
    currentCompatibility: current,
    reasons: status === 'incompatible' ? report.reasons : [],
  };
}

async function groupSubject(codec: SchemaCodec, plan: GroupPlan): Promise<SubjectPlan> {
  // planFeatureGroups puts the schema's reasons (explainSchemaChange's wording) before the table's conflicts.
  const reasons = plan.refusals.slice(0, plan.refusals.length - plan.table.conflicts.length);
  const exists = plan.latestVersion !== undefined;
  const status: SubjectPlan['status'] = !exists
    ? 'new'
    : reasons.length > 0
      ? 'incompatible'
      : plan.schemaChanged
        ? 'compatible'
        : 'unchanged';
  const current = await levelOf(codec, plan.subject, exists);
  return {
    subject: plan.subject,
    kind: 'feature-group',
    name: plan.group,
    group: plan.group,
    status,
    action: subjectAction(status, current, codec.compatibility),
    version: plan.latestVersion ?? null,
    compatibility: codec.compatibility,
    currentCompatibility: current,
    reasons,
  };
}

async function existingTables(client: QueryClient, database: string, entries: readonly CatalogueEntry[]): Promise<Set<string>> {
  const query = sql`SELECT name FROM system.tables WHERE database = ${database} AND name IN ${list(entries.map((e) => e.name))}`;
  try {
    const result = await client.query({ query: query.text, format: 'JSONEachRow' });
    return new Set(((await result.json()) as Array<{ name: string }>).map((r) => r.name));
  } catch (error) {
    throw new RheoError('SINK_UNAVAILABLE', `ClickHouse failed reading system.tables: ${errorMessage(error)}`, { cause: error });
  }
}

function catalogueTables(database: string, existing: ReadonlySet<string>): TablePlan[] {
  return CATALOGUE.map((entry) => ({
    table: `${database}.${entry.name}`,
    kind: entry.kind,
    group: null,
    action: existing.has(entry.name) ? 'unchanged' : 'create',
    addColumns: [],
    makeNullable: [],
    conflicts: [],
  }));
}

function featureTable(database: string, plan: GroupPlan): TablePlan {
  const { table } = plan;
  return {
    table: `${database}.${table.table}`,
    kind: 'feature-table',
    group: plan.group,
    action:
      table.conflicts.length > 0
        ? 'refused'
        : table.action === 'create'
          ? 'create'
          : table.action === 'alter'
            ? 'change'
            : 'unchanged',
    addColumns: table.addColumns,
    makeNullable: table.makeNullable,
    conflicts: table.conflicts,
  };
}

async function planOnline(group: FeatureGroupDecl, deps: PlanDeps): Promise<OnlinePlan> {
  const record = await deps.online.recorded(group.name);
  const ttlSeconds = group.ttlSeconds ?? null;
  return {
    group: group.name,
    keyPattern: entityKey(deps.onlinePrefix ?? DEFAULT_PREFIX, group.name, '<entity_id>'),
    ttlSeconds,
    recorded: record !== undefined,
    recordedTtlSeconds: record?.ttlSeconds ?? null,
    action: record === undefined ? 'create' : record.ttlSeconds !== ttlSeconds ? 'change' : 'unchanged',
  };
}

/** Pure: every reason applying is refused — incompatible subjects, then table conflicts. */
export function collectRefusals(subjects: readonly SubjectPlan[], tables: readonly TablePlan[]): Refusal[] {
  return [
    ...subjects
      .filter((s) => s.status === 'incompatible')
      .flatMap((s) =>
        (s.reasons.length > 0 ? s.reasons : ['incompatible (the registry gave no reason)']).map((reason) => ({
          kind: 'subject' as const,
          name: s.subject,
          group: s.group,
          reason,
        })),
      ),
    ...tables.flatMap((t) => t.conflicts.map((reason) => ({ kind: 'table' as const, name: t.table, group: t.group, reason }))),
  ];
}

const CANNOT_FIX: Record<TopicDrift['setting'], string> = {
  partitions: 'Kafka cannot remove partitions; recreate the topic or declare its partitions',
  replication: 'reassign its partitions to raise the replication factor',
  'retention.ms': 'change it by hand',
  'cleanup.policy': 'change it by hand',
};

/** Pure: the topic differences apply cannot fix, one line each (those it fixed are left out). */
export function collectWarnings(topics: readonly TopicPlan[]): string[] {
  return topics.flatMap((t) =>
    t.drift
      .filter((d) => !d.fixable && !d.fixed)
      .map(
        (d) =>
          `topic ${d.topic}: ${d.setting} is ${d.actual} on the cluster, ${d.expected} declared; apply cannot fix this (${CANNOT_FIX[d.setting]})`,
      ),
  );
}

/** Pure: how many objects would be created, changed, left unchanged or refused, and how many warnings. */
export function summarize(plan: Pick<ProjectPlan, 'topics' | 'subjects' | 'tables' | 'online' | 'warnings'>): PlanSummary {
  const counts = { create: 0, change: 0, unchanged: 0, refused: 0 };
  for (const item of [...plan.topics, ...plan.subjects, ...plan.tables, ...plan.online]) counts[item.action]++;
  return { ...counts, warnings: plan.warnings.length };
}

/** What applying `context` would change, and refuse; changes nothing. */
export async function planProject(context: ProjectContext, deps: PlanDeps): Promise<ProjectPlan> {
  const groups = context.features.list();
  const topics = await planTopics(context, deps);
  const subjects: SubjectPlan[] = [];
  for (const contract of deps.contracts) subjects.push(await planContract(deps.codec, contract));
  const groupPlans = await planFeatureGroups(groups, deps);
  for (const plan of groupPlans) subjects.push(await groupSubject(deps.codec, plan));
  const tables = [
    ...catalogueTables(deps.database, await existingTables(deps.clickhouse, deps.database, CATALOGUE)),
    ...groupPlans.map((p) => featureTable(deps.database, p)),
  ];
  const online: OnlinePlan[] = [];
  for (const group of groups) online.push(await planOnline(group, deps));
  return {
    project: { name: context.project.name, dir: context.dir, file: context.file },
    topics,
    subjects,
    tables,
    online,
    refusals: collectRefusals(subjects, tables),
    warnings: collectWarnings(topics),
  };
}

function appliedTopics(planned: readonly TopicPlan[], report: EnsureReport): TopicPlan[] {
  const created = new Set(report.created);
  return planned.map((t) => {
    const drift = report.drift.filter((d) => d.topic === t.topic);
    return {
      ...t,
      replicationFactor: report.replicationFactor,
      action: created.has(t.topic) ? 'create' : drift.some((d) => d.fixed) ? 'change' : 'unchanged',
      drift,
    };
  });
}

function appliedSubject(planned: SubjectPlan, registered: Pick<RegisteredSchema, 'version' | 'created'>): SubjectPlan {
  const action: PlanAction = registered.created
    ? planned.version === null
      ? 'create'
      : 'change'
    : planned.currentCompatibility === planned.compatibility
      ? 'unchanged'
      : 'change';
  return { ...planned, action, version: registered.version, currentCompatibility: planned.compatibility };
}

function appliedGroup(
  database: string,
  subjects: readonly SubjectPlan[],
  online: readonly OnlinePlan[],
  report: GroupApplyReport,
): { subject: SubjectPlan; table: TablePlan; online: OnlinePlan } {
  const subject = subjects.find((s) => s.kind === 'feature-group' && s.name === report.group) as SubjectPlan;
  const layout = online.find((o) => o.group === report.group) as OnlinePlan;
  const { previousTtlSeconds, ttlSeconds, entriesRetimed } = report.online;
  return {
    subject: appliedSubject(subject, report.schema),
    table: featureTable(database, report),
    online: {
      ...layout,
      ttlSeconds,
      recorded: true,
      recordedTtlSeconds: ttlSeconds,
      action: previousTtlSeconds === undefined ? 'create' : previousTtlSeconds !== ttlSeconds ? 'change' : 'unchanged',
      entriesRetimed,
    },
  };
}

/**
 * Plans, then — unless anything is refused, when it changes nothing and returns the plan with
 * `applied: false` — registers the core subjects, ensures every topic (fixing the fixable drift),
 * applies the feature groups and ensures the ClickHouse catalogue. Idempotent.
 */
export async function applyProject(context: ProjectContext, deps: ApplyProjectDeps): Promise<ProjectApplyReport> {
  const plan = await planProject(context, deps);
  if (plan.refusals.length > 0) return { ...plan, applied: false };
  const rf = deps.replicationFactor ? { replicationFactor: deps.replicationFactor } : {};

  const contractSubjects: SubjectPlan[] = [];
  for (const contract of deps.contracts) {
    const planned = plan.subjects.find((s) => s.kind === 'contract' && s.subject === contract.subject) as SubjectPlan;
    contractSubjects.push(appliedSubject(planned, await deps.codec.register(contract.subject, contract.contract.schema)));
  }
  const topicReport = await ensureTopics(deps.admin, [...context.topics], { fix: true, ...rf });
  const groupReport = await applyFeatureGroups(context.features.list(), {
    topicOf: (g) => projectFeatureTopic(context.project, g),
    codec: deps.codec,
    admin: deps.admin,
    offline: deps.offline,
    online: deps.online,
    ...rf,
  });
  await ensureTables(deps.clickhouse, deps.database, CATALOGUE);

  const groups = groupReport.groups.map((g) => appliedGroup(deps.database, plan.subjects, plan.online, g));
  const topics = appliedTopics(plan.topics, topicReport);
  const report = {
    project: plan.project,
    topics,
    subjects: [...contractSubjects, ...groups.map((g) => g.subject)],
    tables: [...plan.tables.filter((t) => t.kind !== 'feature-table'), ...groups.map((g) => g.table)],
    online: groups.map((g) => g.online),
    refusals: [],
    warnings: collectWarnings(topics),
  };
  return { ...report, applied: true };
}

// ---- rendering (pure) ----

const DAY_MS = 86_400_000;

/** `30 d`, `12 h`, `forever`: a retention or TTL in the largest whole unit. */
export function duration(ms: number | null): string {
  if (ms === null || ms < 0) return 'forever';
  const units: Array<[number, string]> = [
    [DAY_MS, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

const PRESENT: Record<PlanAction, string> = { create: 'create', change: 'change', unchanged: 'unchanged', refused: 'REFUSED' };
const PAST: Record<PlanAction, string> = { create: 'created', change: 'changed', unchanged: 'unchanged', refused: 'REFUSED' };

/** The word for an action: what the plan would do, or (`done`) what apply did. */
export function actionLabel(action: PlanAction, done = false): string {
  return (done ? PAST : PRESENT)[action];
}

function topicChanges(t: TopicPlan): string {
  return t.drift
    .map((d) => `${d.setting} ${d.actual} → ${d.expected}${d.fixed ? ' (fixed)' : d.fixable ? '' : ' (cannot fix)'}`)
    .join('; ');
}

function subjectVersion(s: SubjectPlan, done: boolean): string {
  if (done) return s.version === null ? '' : `v${s.version}`;
  if (s.version === null) return 'v1';
  return s.status === 'compatible' ? `v${s.version} → v${s.version + 1}` : `v${s.version}`;
}

function subjectLevel(s: SubjectPlan): string {
  return s.currentCompatibility === s.compatibility
    ? s.compatibility
    : `${s.currentCompatibility ?? '(none)'} → ${s.compatibility}`;
}

function tableChanges(t: TablePlan): string {
  return [
    ...t.addColumns.map((c) => `add column ${c}`),
    ...t.makeNullable.map((c) => `make ${c} nullable`),
    ...(t.conflicts.length > 0 ? [`${t.conflicts.length} conflict${t.conflicts.length === 1 ? '' : 's'}`] : []),
  ].join('; ');
}

function ttl(seconds: number | null): string {
  return seconds === null ? 'none' : duration(seconds * 1000);
}

/** Rows of the four sections, for `cli/format.ts` `table`. */
export function planRows(plan: ProjectPlan, done = false) {
  return {
    topics: plan.topics.map((t) => ({
      topic: t.topic,
      action: actionLabel(t.action, done),
      partitions: t.partitions,
      retention: duration(t.retentionMs),
      cleanup: t.cleanup,
      replication: t.replicationFactor,
      changes: topicChanges(t),
    })),
    subjects: plan.subjects.map((s) => ({
      subject: s.subject,
      kind: s.kind,
      action: actionLabel(s.action, done),
      schema: s.status,
      version: subjectVersion(s, done),
      compatibility: subjectLevel(s),
    })),
    tables: plan.tables.map((t) => ({
      table: t.table,
      kind: t.kind,
      action: actionLabel(t.action, done),
      changes: tableChanges(t),
    })),
    online: plan.online.map((o) => ({
      group: o.group,
      key: o.keyPattern,
      ttl: ttl(o.ttlSeconds),
      recorded_ttl: o.recorded ? ttl(o.recordedTtlSeconds) : '(not recorded)',
      action: actionLabel(o.action, done),
      ...(done ? { keys_retimed: o.entriesRetimed ?? 0 } : {}),
    })),
  };
}

/** One line per refusal: `subject features.card-value: feature "x" changed type …`. */
export function refusalLines(refusals: readonly Refusal[]): string[] {
  return refusals.map((r) => `${r.kind} ${r.name}: ${r.reason}`);
}

/** `plan: 3 to create, 1 to change, 40 unchanged; 0 refused` (apply: `apply: 3 created, …`). */
export function summaryLine(summary: PlanSummary, done = false): string {
  const warnings = summary.warnings > 0 ? `; ${summary.warnings} warning${summary.warnings === 1 ? '' : 's'}` : '';
  return done
    ? `apply: ${summary.create} created, ${summary.change} changed, ${summary.unchanged} unchanged${warnings}`
    : `plan: ${summary.create} to create, ${summary.change} to change, ${summary.unchanged} unchanged; ${summary.refused} refused${warnings}`;
}
