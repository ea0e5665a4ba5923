/**
 * `projects/plan.ts` against in-memory fakes (registry, offline and online stores, a Kafka admin and
 * a ClickHouse client that keep state): a fresh world plans everything as created, apply makes a plan
 * show no change and is a no-op the second time, drift splits into what apply fixes and warnings,
 * an incompatible change is refused with nothing changed; plus the pure summary, refusal and rendering
 * helpers and `rheo plan` naming the services it cannot reach.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../cli/command.ts';
import { renderPlan } from '../../../cli/commands/plan.ts';
import { bindings } from '../../../cli/commands/schemas.ts';
import { main } from '../../../cli/main.ts';
import type { FeatureGroupDecl } from '../../../features/declaration.ts';
import { MemoryOfflineStore } from '../../../features/offline/memory.ts';
import { MemoryOnlineStore } from '../../../features/online/memory.ts';
import type { Admin } from '../../../kernel/kafka.ts';
import { type ProjectContext, projectContext } from '../../../projects/context.ts';
import type { ProjectDecl } from '../../../projects/declaration.ts';
import {
  type ApplyProjectDeps,
  applyProject,
  collectRefusals,
  collectWarnings,
  duration,
  type ProjectPlan,
  planProject,
  planRows,
  type SubjectPlan,
  summarize,
  summaryLine,
  type TablePlan,
  type TopicPlan,
} from '../../../projects/plan.ts';
import { InMemorySchemaRegistry, SchemaCodec } from '../../../schemas/index.ts';
import { CATALOGUE } from '../../../tables/catalogue.ts';
import { catalogue, featureTopic } from '../../../topics/catalogue.ts';

interface FakeTopic {
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** The part of a Kafka admin the topic functions use, over a map of topics. */
class FakeAdmin {
  readonly topics = new Map<string, FakeTopic>();
  readonly changes: string[] = [];
  brokers = 1;

  async listTopics() {
    return [...this.topics.keys()];
  }
  async describeCluster() {
    return { brokers: Array.from({ length: this.brokers }, (_, nodeId) => ({ nodeId, host: 'fake', port: 9092 })) };
  }
  async fetchTopicMetadata({ topics }: { topics: string[] }) {
    return {
      topics: topics.map((name) => {
        const t = this.topics.get(name) as FakeTopic;
        return {
          name,
          partitions: Array.from({ length: t.partitions }, (_, partitionId) => ({
            partitionId,
            replicas: Array.from({ length: t.replicationFactor }, (_, r) => r),
          })),
        };
      }),
    };
  }
  async describeConfigs({ resources }: { resources: Array<{ name: string }> }) {
    return {
      resources: resources.map((r) => ({
        resourceName: r.name,
        configEntries: Object.entries(this.topics.get(r.name)?.configs ?? {}).map(([configName, configValue]) => ({
          configName,
          configValue,
        })),
      })),
    };
  }
  async createTopics({
    topics,
  }: {
    topics: Array<{
      topic: string;
      numPartitions: number;
      replicationFactor: number;
      configEntries: Array<{ name: string; value: string }>;
    }>;
  }) {
    for (const t of topics) {
      this.changes.push(`create ${t.topic}`);
      this.topics.set(t.topic, {
        partitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configs: Object.fromEntries(t.configEntries.map((c) => [c.name, c.value])),
      });
    }
    return true;
  }
  async createPartitions({ topicPartitions }: { topicPartitions: Array<{ topic: string; count: number }> }) {
    for (const p of topicPartitions) {
      this.changes.push(`partitions ${p.topic} ${p.count}`);
      (this.topics.get(p.topic) as FakeTopic).partitions = p.count;
    }
  }
  async alterConfigs({
    resources,
  }: {
    resources: Array<{ name: string; configEntries: Array<{ name: string; value: string }> }>;
  }) {
    for (const r of resources) {
      this.changes.push(`configs ${r.name}`);
      const t = this.topics.get(r.name) as FakeTopic;
      for (const c of r.configEntries) t.configs[c.name] = c.value;
    }
  }
}

/** A ClickHouse client that answers `system.tables` from the objects its CREATE statements made. */
class FakeClickHouse {
  readonly tables = new Set<string>();
  readonly queries: string[] = [];
  readonly commands: string[] = [];

  async query({ query }: { query: string; format: 'JSONEachRow' }) {
    this.queries.push(query);
    const rows = [...this.tables].filter((name) => query.includes(`'${name}'`)).map((name) => ({ name }));
    return { json: async () => rows };
  }
  async command({ query }: { query: string }) {
    this.commands.push(query);
    const created = /^CREATE (?:TABLE|VIEW) IF NOT EXISTS `rheo`\.`([a-z_]+)`/.exec(query);
    if (created) this.tables.add(created[1] as string);
    return {};
  }
}

const group: FeatureGroupDecl = {
  name: 'card_stats',
  entity: 'card',
  description: 'Card statistics.',
  version: 1,
  ttlSeconds: 3_600,
  features: [
    { name: 'txn_count_1h', type: 'long', description: 'Transactions in the last hour.' },
    { name: 'amount_avg_7d', type: 'double', nullable: true, description: 'Mean amount over 7 days.' },
  ],
};

function projectOf(g: FeatureGroupDecl, topics: ProjectDecl['topics'] = { card_stats: { partitions: 2 } }): ProjectContext {
  const project: ProjectDecl = {
    name: 'plan_test',
    entities: [{ name: 'card', description: 'A card.', key: 'string' }],
    featureGroups: [g],
    requestInputs: [],
    models: [],
    ...(topics ? { topics } : {}),
  };
  return projectContext({ dir: '/projects/plan_test', file: '/projects/plan_test/rheo.project.ts', project });
}

let registry: InMemorySchemaRegistry;
let admin: FakeAdmin;
let clickhouse: FakeClickHouse;
let online: MemoryOnlineStore;
let offline: MemoryOfflineStore;
let deps: ApplyProjectDeps;

beforeEach(() => {
  registry = new InMemorySchemaRegistry();
  admin = new FakeAdmin();
  clickhouse = new FakeClickHouse();
  online = new MemoryOnlineStore();
  offline = new MemoryOfflineStore();
  deps = {
    codec: new SchemaCodec(registry),
    admin: admin as unknown as Admin,
    clickhouse,
    database: 'rheo',
    offline,
    online,
    contracts: bindings(),
  };
});

const CORE_TOPICS = catalogue().length;
const CORE_SUBJECTS = bindings().length;
const own = (plan: ProjectPlan) => [
  ...plan.topics.filter((t) => t.group === 'card_stats'),
  ...plan.subjects.filter((s) => s.group === 'card_stats'),
  ...plan.tables.filter((t) => t.group === 'card_stats'),
  ...plan.online,
];

describe('planProject', () => {
  it('plans every topic, subject, table and key layout of a fresh world as created, with the overrides', async () => {
    const plan = await planProject(projectOf(group), deps);
    expect(plan.project).toEqual({ name: 'plan_test', dir: '/projects/plan_test', file: '/projects/plan_test/rheo.project.ts' });

    expect(plan.topics).toHaveLength(CORE_TOPICS + 2);
    expect(plan.topics.every((t) => t.action === 'create' && t.replicationFactor === 1)).toBe(true);
    expect(plan.topics.find((t) => t.topic === 'features.card_stats')).toMatchObject({
      group: 'card_stats',
      partitions: 2,
      retentionMs: 30 * 86_400_000,
      cleanup: 'delete',
    });
    expect(plan.topics.find((t) => t.topic === 'features.card_stats.dlq')).toMatchObject({ group: 'card_stats', partitions: 1 });
    expect(plan.topics.find((t) => t.topic === 'predictions')).toMatchObject({ group: null, partitions: 6 });

    expect(plan.subjects.map((s) => s.subject)).toEqual([...bindings().map((b) => b.subject), 'features.card_stats-value']);
    for (const s of plan.subjects)
      expect(s).toMatchObject({
        status: 'new',
        action: 'create',
        version: null,
        compatibility: 'BACKWARD',
        currentCompatibility: null,
      });

    expect(plan.tables.map((t) => t.table)).toEqual([...CATALOGUE.map((e) => `rheo.${e.name}`), 'rheo.card_stats']);
    expect(plan.tables.filter((t) => t.kind === 'view').map((t) => t.table)).toEqual([
      'rheo.model_quality_hourly',
      'rheo.drift_windows',
      'rheo.drift_alerts',
    ]);
    expect(plan.tables.every((t) => t.action === 'create')).toBe(true);
    // One query of system.tables, every value a quoted literal.
    expect(clickhouse.queries).toHaveLength(1);
    expect(clickhouse.queries[0]).toMatch(
      /^SELECT name FROM system\.tables WHERE database = 'rheo' AND name IN \('predictions', /,
    );

    expect(plan.online).toEqual([
      {
        group: 'card_stats',
        keyPattern: 'rheo:features:card_stats:<entity_id>',
        ttlSeconds: 3_600,
        recorded: false,
        recordedTtlSeconds: null,
        action: 'create',
      },
    ]);
    expect(plan.refusals).toEqual([]);
    const total = CORE_TOPICS + 2 + CORE_SUBJECTS + 1 + CATALOGUE.length + 1 + 1;
    expect(summarize(plan)).toEqual({ create: total, change: 0, unchanged: 0, refused: 0, warnings: 0 });
    // Planning changed nothing.
    expect(admin.changes).toEqual([]);
    expect(clickhouse.commands).toEqual([]);
    expect(await registry.subjects()).toEqual([]);
    expect(await online.recorded('card_stats')).toBeUndefined();
  });

  it('apply creates everything; a plan after it and a second apply show no change', async () => {
    const project = projectOf(group);
    const first = await applyProject(project, deps);
    expect(first.applied).toBe(true);
    expect(summarize(first)).toMatchObject({ change: 0, unchanged: 0, refused: 0 });
    expect(first.subjects.find((s) => s.group === 'card_stats')).toMatchObject({ action: 'create', version: 1 });
    expect(admin.topics.get('features.card_stats')).toMatchObject({ partitions: 2, configs: { 'retention.ms': '2592000000' } });
    expect(await registry.getCompatibility('features.card_stats-value')).toBe('BACKWARD');
    expect(await registry.getCompatibility('predictions-value')).toBe('BACKWARD');
    expect([...clickhouse.tables].sort()).toEqual(CATALOGUE.map((e) => e.name).sort());
    expect(await online.recorded('card_stats')).toEqual({ ttlSeconds: 3_600 });

    const after = await planProject(project, deps);
    expect(summarize(after)).toEqual({ create: 0, change: 0, unchanged: summarize(first).create, refused: 0, warnings: 0 });
    expect(after.online[0]).toMatchObject({ recorded: true, recordedTtlSeconds: 3_600, action: 'unchanged' });

    const changes = admin.changes.length;
    const commands = clickhouse.commands.length;
    const again = await applyProject(project, deps);
    expect(again.applied).toBe(true);
    expect(summarize(again)).toEqual(summarize(after));
    expect(admin.changes).toHaveLength(changes);
    expect(await registry.versions('features.card_stats-value')).toEqual([1]);
    // `CREATE … IF NOT EXISTS` is re-sent; it creates nothing new.
    expect(clickhouse.commands.length).toBeGreaterThan(commands);
    expect(clickhouse.tables.size).toBe(CATALOGUE.length);
  });

  it('splits topic drift into what apply fixes and warnings it cannot fix', async () => {
    const project = projectOf(group);
    await applyProject(project, deps);
    (admin.topics.get('features.card_stats') as FakeTopic).partitions = 1; // fewer than declared: apply adds one
    (admin.topics.get('feedback') as FakeTopic).configs['retention.ms'] = '1000'; // retention: apply restores it
    (admin.topics.get('predictions') as FakeTopic).partitions = 8; // more than declared: never shrunk
    const plan = await planProject(project, deps);
    const topic = (name: string) => plan.topics.find((t) => t.topic === name) as TopicPlan;
    expect(topic('features.card_stats')).toMatchObject({
      action: 'change',
      drift: [{ setting: 'partitions', expected: '2', actual: '1', fixable: true, fixed: false }],
    });
    expect(topic('feedback')).toMatchObject({ action: 'change', drift: [{ setting: 'retention.ms', actual: '1000' }] });
    expect(topic('predictions')).toMatchObject({ action: 'unchanged', drift: [{ setting: 'partitions', fixable: false }] });
    expect(plan.warnings).toEqual([
      'topic predictions: partitions is 8 on the cluster, 6 declared; apply cannot fix this (Kafka cannot remove partitions; recreate the topic or declare its partitions)',
    ]);
    expect(summarize(plan)).toMatchObject({ change: 2, refused: 0, warnings: 1 });
    expect(summaryLine(summarize(plan))).toMatch(/^plan: 0 to create, 2 to change, \d+ unchanged; 0 refused; 1 warning$/);

    const applied = await applyProject(project, deps);
    expect(applied.topics.find((t) => t.topic === 'features.card_stats')).toMatchObject({
      action: 'change',
      drift: [{ setting: 'partitions', fixed: true }],
    });
    expect(admin.topics.get('features.card_stats')?.partitions).toBe(2);
    expect(admin.topics.get('feedback')?.configs['retention.ms']).toBe(String(30 * 86_400_000));
    expect(applied.warnings).toHaveLength(1);
    const after = await planProject(project, deps);
    expect(summarize(after)).toMatchObject({ create: 0, change: 0, warnings: 1 });
  });

  it('refuses an incompatible type change with the feature named, and changes nothing', async () => {
    await applyProject(projectOf(group), deps);
    const retyped = projectOf({
      ...group,
      version: 2,
      ttlSeconds: 60,
      features: group.features.map((f) => (f.name === 'txn_count_1h' ? { ...f, type: 'string' as const } : f)),
    });
    const plan = await planProject(retyped, deps);
    const subject = plan.subjects.find((s) => s.group === 'card_stats') as SubjectPlan;
    expect(subject).toMatchObject({ status: 'incompatible', action: 'refused', version: 1 });
    expect(plan.refusals).toEqual([
      {
        kind: 'subject',
        name: 'features.card_stats-value',
        group: 'card_stats',
        reason: expect.stringContaining('feature "txn_count_1h" changed type from long to string'),
      },
    ]);
    expect(summarize(plan)).toMatchObject({ refused: 1 });
    expect(plan.online[0]).toMatchObject({ action: 'change', recordedTtlSeconds: 3_600, ttlSeconds: 60 });

    const changes = admin.changes.length;
    const commands = clickhouse.commands.length;
    const refused = await applyProject(retyped, deps);
    expect(refused.applied).toBe(false);
    expect(refused.refusals).toEqual(plan.refusals);
    expect(await registry.versions('features.card_stats-value')).toEqual([1]);
    expect(admin.changes).toHaveLength(changes);
    expect(clickhouse.commands).toHaveLength(commands);
    expect(await online.recorded('card_stats')).toEqual({ ttlSeconds: 3_600 });
  });

  it('plans a compatible change as a new version, a TTL change as retiming, and a different compatibility level as a change', async () => {
    await applyProject(projectOf(group), deps);
    await registry.setCompatibility('feedback-value', 'NONE');
    const next = projectOf({
      ...group,
      version: 2,
      ttlSeconds: 7_200,
      features: [...group.features, { name: 'merchants_7d', type: 'long', default: 0, description: 'Merchants.' }],
    });
    const plan = await planProject(next, deps);
    const rows = planRows(plan);
    expect(plan.subjects.find((s) => s.group === 'card_stats')).toMatchObject({ status: 'compatible', action: 'change' });
    expect(rows.subjects.find((s) => s.subject === 'features.card_stats-value')).toMatchObject({
      action: 'change',
      schema: 'compatible',
      version: 'v1 → v2',
      compatibility: 'BACKWARD',
    });
    expect(plan.subjects.find((s) => s.subject === 'feedback-value')).toMatchObject({ status: 'unchanged', action: 'change' });
    expect(rows.subjects.find((s) => s.subject === 'feedback-value')).toMatchObject({ compatibility: 'NONE → BACKWARD' });
    expect(rows.online[0]).toMatchObject({ ttl: '2 h', recorded_ttl: '1 h', action: 'change' });
    expect(summarize(plan)).toMatchObject({ create: 0, change: 3, refused: 0 });

    const applied = await applyProject(next, deps);
    expect(applied.subjects.find((s) => s.group === 'card_stats')).toMatchObject({ action: 'change', version: 2 });
    expect(applied.online[0]).toMatchObject({ action: 'change', ttlSeconds: 7_200, entriesRetimed: 0 });
    expect(await registry.getCompatibility('feedback-value')).toBe('BACKWARD');
    expect(summarize(await planProject(next, deps))).toMatchObject({ create: 0, change: 0 });
  });

  it("gives a group without a topic override the catalogue's topic", async () => {
    const plan = await planProject(projectOf(group, {}), deps);
    expect(plan.topics.filter((t) => t.group === 'card_stats')).toEqual([
      expect.objectContaining({ topic: featureTopic('card_stats').name, partitions: 6 }),
      expect.objectContaining({ topic: 'features.card_stats.dlq', partitions: 1 }),
    ]);
    expect(own(plan).map((item) => item.action)).toEqual(['create', 'create', 'create', 'create', 'create']);
  });
});

describe('pure helpers', () => {
  const subject = (over: Partial<SubjectPlan>): SubjectPlan => ({
    subject: 's-value',
    kind: 'feature-group',
    name: 'g',
    group: 'g',
    status: 'unchanged',
    action: 'unchanged',
    version: 1,
    compatibility: 'BACKWARD',
    currentCompatibility: 'BACKWARD',
    reasons: [],
    ...over,
  });
  const tablePlan = (over: Partial<TablePlan>): TablePlan => ({
    table: 'rheo.features_g',
    kind: 'feature-table',
    group: 'g',
    action: 'unchanged',
    addColumns: [],
    makeNullable: [],
    conflicts: [],
    ...over,
  });

  it('collects every reason of incompatible subjects, then table conflicts', () => {
    const refusals = collectRefusals(
      [
        subject({ subject: 'a-value', status: 'incompatible', action: 'refused', reasons: ['first', 'second'] }),
        subject({ subject: 'b-value', status: 'compatible', action: 'change', reasons: [] }),
        subject({ subject: 'c-value', group: null, status: 'incompatible', action: 'refused', reasons: [] }),
      ],
      [tablePlan({ action: 'refused', conflicts: ['column x holds Int64'] }), tablePlan({ table: 'rheo.ok' })],
    );
    expect(refusals).toEqual([
      { kind: 'subject', name: 'a-value', group: 'g', reason: 'first' },
      { kind: 'subject', name: 'a-value', group: 'g', reason: 'second' },
      { kind: 'subject', name: 'c-value', group: null, reason: 'incompatible (the registry gave no reason)' },
      { kind: 'table', name: 'rheo.features_g', group: 'g', reason: 'column x holds Int64' },
    ]);
  });

  it('warns only about drift apply cannot fix and did not fix', () => {
    const base = { topic: 't', expected: '3', actual: '1' };
    const topics: TopicPlan[] = [
      {
        topic: 't',
        group: null,
        action: 'change',
        partitions: 3,
        retentionMs: 1,
        cleanup: 'delete',
        replicationFactor: 3,
        drift: [
          { ...base, setting: 'partitions', fixable: true, fixed: false },
          { ...base, setting: 'replication', fixable: false, fixed: false },
        ],
      },
    ];
    expect(collectWarnings(topics)).toEqual([
      'topic t: replication is 1 on the cluster, 3 declared; apply cannot fix this (reassign its partitions to raise the replication factor)',
    ]);
  });

  it('counts each object once by its action and words the summary for plan and apply', () => {
    const plan: ProjectPlan = {
      project: { name: 'p', dir: '/p', file: '/p/rheo.project.ts' },
      topics: [],
      subjects: [subject({ action: 'create' }), subject({ action: 'refused' }), subject({})],
      tables: [tablePlan({ action: 'change', addColumns: ['a'], makeNullable: ['b'] }), tablePlan({ action: 'create' })],
      online: [
        {
          group: 'g',
          keyPattern: 'rheo:features:g:<entity_id>',
          ttlSeconds: null,
          recorded: true,
          recordedTtlSeconds: 60,
          action: 'change',
        },
      ],
      refusals: [],
      warnings: ['w1', 'w2'],
    };
    const summary = summarize(plan);
    expect(summary).toEqual({ create: 2, change: 2, unchanged: 1, refused: 1, warnings: 2 });
    expect(summaryLine(summary)).toBe('plan: 2 to create, 2 to change, 1 unchanged; 1 refused; 2 warnings');
    expect(summaryLine({ ...summary, refused: 0, warnings: 0 }, true)).toBe('apply: 2 created, 2 changed, 1 unchanged');
    const rows = planRows(plan);
    expect(rows.tables[0]).toEqual({
      table: 'rheo.features_g',
      kind: 'feature-table',
      action: 'change',
      changes: 'add column a; make b nullable',
    });
    expect(rows.subjects.map((s) => s.action)).toEqual(['create', 'REFUSED', 'unchanged']);
    expect(planRows(plan, true).subjects.map((s) => s.action)).toEqual(['created', 'REFUSED', 'unchanged']);
    expect(rows.online[0]).toMatchObject({ ttl: 'none', recorded_ttl: '1 min' });
  });

  it('renders durations in their largest whole unit', () => {
    expect([
      duration(-1),
      duration(null),
      duration(30 * 86_400_000),
      duration(7_200_000),
      duration(90_000),
      duration(1_500),
    ]).toEqual(['forever', 'forever', '30 d', '2 h', '90 s', '1500 ms']);
  });

  it('renders the plan as sections, the refusals with their reasons, and the summary last', async () => {
    await applyProject(projectOf(group), deps);
    const plan = await planProject(
      projectOf({ ...group, features: group.features.map((f) => ({ ...f, type: 'string' as const })) }),
      deps,
    );
    const text = renderPlan(plan);
    expect(text).toMatch(
      /^project plan_test \(\/projects\/plan_test\/rheo\.project\.ts\)\n\ntopics \(Kafka\)\ntopic +action +partitions/,
    );
    expect(text).toMatch(/\nfeatures\.card_stats +unchanged +2 +30 d +delete +1\n/);
    expect(text).toMatch(/\nfeatures\.card_stats-value +feature-group +REFUSED +incompatible +v1 +BACKWARD\n/);
    expect(text).toMatch(/\ncard_stats +rheo:features:card_stats:<entity_id> +1 h +1 h +unchanged\n/);
    expect(text).toContain(
      '\nrefused:\n  subject features.card_stats-value: feature "txn_count_1h" changed type from long to string',
    );
    expect(text).toContain(
      '\n  subject features.card_stats-value: feature "amount_avg_7d" changed type from nullable double to nullable string',
    );
    expect(text.split('\n').at(-1)).toMatch(/^plan: 0 to create, 0 to change, \d+ unchanged; 1 refused$/);
  });
});

describe('MemoryOnlineStore.recorded', () => {
  it('reads what ensure recorded, and nothing for a group never ensured', async () => {
    const store = new MemoryOnlineStore();
    expect(await store.recorded('card_stats')).toBeUndefined();
    await store.ensure({ ...group, ttlSeconds: undefined });
    expect(await store.recorded('card_stats')).toEqual({ ttlSeconds: null });
    await store.ensure(group);
    expect(await store.recorded('card_stats')).toEqual({ ttlSeconds: 3_600 });
  });
});

describe('rheo plan / rheo apply without the services', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rheo-plan-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names every service it cannot reach in one line and exits 1', async () => {
    const project = { name: 'offline_test', entities: [], featureGroups: [], requestInputs: [], models: [] };
    writeFileSync(join(dir, 'rheo.project.ts'), `export default ${JSON.stringify(project)};\n`);
    const unreachable: Record<string, string> = {
      RHEO_KAFKA_BROKERS: '127.0.0.1:1',
      RHEO_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:2/apis/ccompat/v7',
      RHEO_CLICKHOUSE_URL: 'http://127.0.0.1:3',
      RHEO_REDIS_URL: 'redis://127.0.0.1:4/0',
    };
    const saved = Object.fromEntries(Object.keys(unreachable).map((key) => [key, process.env[key]]));
    Object.assign(process.env, unreachable);
    try {
      for (const command of ['plan', 'apply']) {
        let out = '';
        let err = '';
        const io: CliIO = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) };
        const code = await main([command, '--project', dir], io);
        expect(code).toBe(1);
        expect(out).toBe('');
        const lines = err.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(
            `^rheo ${command}: cannot reach Kafka at 127\\.0\\.0\\.1:1 \\(.*ECONNREFUSED.*\\), the schema registry at .*, ClickHouse at http://127\\.0\\.0\\.1:3 \\(.*\\), Redis at redis://127\\.0\\.0\\.1:4/0 \\(.*\\): is the stack up\\? \\(rheo stack status\\)$`,
          ),
        );
      }
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('refuses a misspelt flag with exit 2 before connecting', async () => {
    let err = '';
    const code = await main(['plan', '--jsn'], { out: () => undefined, err: (t) => (err += t) });
    expect(code).toBe(2);
    expect(err).toContain('usage: rheo plan [--project DIR] [--json]');
  });
});
