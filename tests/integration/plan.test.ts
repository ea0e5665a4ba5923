/**
 * `rheo plan` and `rheo apply` on the real stack, with a project of its own (`--project`) holding one
 * uniquely named feature group and a topic override (2 partitions): plan lists the group's topic,
 * subject, table and key layout as to create and changes nothing; apply creates them (checked on the
 * cluster, the registry, ClickHouse and Redis directly); a plan after apply shows no change and a
 * second apply is a no-op; an incompatible change (long → string) is refused by plan (exit 1, the
 * feature named) and by apply, which then changes nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { sql } from '../../kernel/sql.ts';
import type { PlanSummary, ProjectPlan } from '../../projects/plan.ts';
import { SchemaCodec } from '../../schemas/index.ts';
import { featureTopic, valueSubject } from '../../topics/catalogue.ts';
import { rheo } from '../support/cli.ts';
import { uniqueGroupName } from '../support/feature-groups.ts';

const config = loadConfig();
const database = config.clickhouse.database;
const dir = mkdtempSync(join(tmpdir(), 'rheo-plan-'));
const name = uniqueGroupName('plan');
const topic = featureTopic(name);
const subject = valueSubject(topic);
const table = `features_${name}`;
const base: FeatureGroupDecl = {
  name,
  entity: 'card',
  description: 'A group declared by the plan test.',
  version: 1,
  ttlSeconds: 86_400,
  features: [
    { name: 'txn_count_1h', type: 'long', description: 'Transactions in the last hour.' },
    { name: 'amount_avg_7d', type: 'double', nullable: true, description: 'Mean amount over 7 days.' },
  ],
};
const codec = SchemaCodec.fromConfig(config.registry);
const clickhouse = createClickHouse(config);
const online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
const offline = new ClickHouseOfflineStore(createClickHouse(config), { database, ownsClient: true });
const admin = createAdmin(createKafka(config.kafka, undefined, 'plan-test'));

type Document = ProjectPlan & { summary: PlanSummary; applied?: boolean };

/** A project folder of its own (a new folder per version: Node caches an imported module by path). */
function declare(folder: string, group: FeatureGroupDecl): string {
  const path = join(dir, folder);
  mkdirSync(path, { recursive: true });
  const project = {
    name: 'plan_test',
    entities: [{ name: 'card', description: 'A payment card.', key: 'string' }],
    featureGroups: [group],
    requestInputs: [],
    models: [],
    topics: { [name]: { partitions: 2 } },
  };
  writeFileSync(join(path, 'rheo.project.ts'), `export default ${JSON.stringify(project, null, 2)};\n`);
  return path;
}

async function rheoJson(...argv: string[]): Promise<{ code: number; doc: Document; err: string }> {
  const { code, out, err } = await rheo(...argv, '--json');
  return { code, doc: JSON.parse(out) as Document, err };
}

/** The objects of the test's own group: its topic and dead letters, subject, table and key layout. */
function own(doc: Document) {
  return [
    ...doc.topics.filter((t) => t.group === name),
    ...doc.subjects.filter((s) => s.group === name),
    ...doc.tables.filter((t) => t.group === name),
    ...doc.online.filter((o) => o.group === name),
  ];
}

async function columns(): Promise<Record<string, string>> {
  const query = sql`SELECT name, type FROM system.columns WHERE database = ${database} AND table = ${table}`.text;
  const rows = (await (await clickhouse.query({ query, format: 'JSONEachRow' })).json()) as Array<{ name: string; type: string }>;
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

/** Deletes the test subject (soft, then permanent) through the registry's HTTP API: the client has no delete. */
async function deleteSubject(): Promise<void> {
  const auth = config.registry.auth;
  const headers: Record<string, string> = auth
    ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
    : {};
  const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
  await fetch(url, { method: 'DELETE', headers }).catch(() => undefined);
  await fetch(`${url}?permanent=true`, { method: 'DELETE', headers }).catch(() => undefined);
}

beforeAll(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  await admin.connect();
});

afterAll(async () => {
  await online.teardown(base).catch(() => undefined);
  await offline.teardown(base).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
  await deleteSubject();
  await admin.disconnect();
  await Promise.allSettled([online.close(), offline.close(), clickhouse.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('rheo plan / rheo apply', () => {
  const v1 = declare('v1', base);

  it("plans the group's topic, subject, table and key layout as to create, and changes nothing", async () => {
    const { code, doc, err } = await rheoJson('plan', '--project', v1);
    expect(code, err).toBe(0);
    expect(doc.project).toMatchObject({ name: 'plan_test', dir: v1 });
    expect(doc.topics.filter((t) => t.group === name)).toEqual([
      expect.objectContaining({ topic: topic.name, action: 'create', partitions: 2, retentionMs: topic.retentionMs }),
      expect.objectContaining({ topic: topic.dlq, action: 'create', partitions: 1 }),
    ]);
    expect(doc.subjects.find((s) => s.group === name)).toMatchObject({
      subject,
      kind: 'feature-group',
      status: 'new',
      action: 'create',
      compatibility: 'BACKWARD',
    });
    expect(doc.tables.find((t) => t.group === name)).toMatchObject({ table: `${database}.${table}`, action: 'create' });
    expect(doc.online).toEqual([
      expect.objectContaining({
        group: name,
        keyPattern: `rheo:features:${name}:<entity_id>`,
        ttlSeconds: 86_400,
        recorded: false,
        action: 'create',
      }),
    ]);
    expect(doc.refusals).toEqual([]);
    expect(doc.summary.create).toBeGreaterThanOrEqual(5);
    // Every core object is listed too: topics, contract subjects, catalogue tables and views.
    expect(doc.topics.map((t) => t.topic)).toContain('predictions');
    expect(doc.subjects.map((s) => s.subject)).toContain('predictions-value');
    expect(doc.tables.map((t) => t.table)).toContain(`${database}.model_quality_hourly`);

    const text = await rheo('plan', '--project', v1);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(new RegExp(`\\n${topic.name.replace('.', '\\.')} +create +2 +30 d +delete`));
    expect(text.out.trim().split('\n').at(-1)).toMatch(/^plan: \d+ to create, \d+ to change, \d+ unchanged; 0 refused/);

    expect(await admin.listTopics()).not.toContain(topic.name);
    expect(await codec.registry.versions(subject)).toEqual([]);
    expect(await columns()).toEqual({});
    expect(await online.recorded(name)).toBeUndefined();
  });

  it('apply creates them: the topic with 2 partitions, the subject with BACKWARD, the table, the Redis record', async () => {
    const { code, doc, err } = await rheoJson('apply', '--project', v1);
    expect(code, err).toBe(doc.warnings.length > 0 ? 3 : 0);
    expect(doc.applied).toBe(true);
    expect(own(doc).map((o) => o.action)).toEqual(['create', 'create', 'create', 'create', 'create']);
    expect(doc.subjects.find((s) => s.group === name)).toMatchObject({ version: 1 });

    const metadata = await admin.fetchTopicMetadata({ topics: [topic.name, topic.dlq as string] });
    expect(metadata.topics.find((t) => t.name === topic.name)?.partitions).toHaveLength(2);
    expect(metadata.topics.find((t) => t.name === topic.dlq)?.partitions).toHaveLength(1);
    expect(await codec.registry.versions(subject)).toEqual([1]);
    expect(await codec.registry.getCompatibility(subject)).toBe('BACKWARD');
    expect(await codec.registry.getCompatibility('predictions-value')).toBe('BACKWARD');
    expect(await columns()).toMatchObject({ entity_id: 'String', txn_count_1h: 'Int64', amount_avg_7d: 'Nullable(Float64)' });
    expect(await online.recorded(name)).toEqual({ version: 1, ttlSeconds: 86_400, features: ['txn_count_1h', 'amount_avg_7d'] });
  });

  it('a plan after apply shows no change, and a second apply is a no-op', async () => {
    const planned = await rheoJson('plan', '--project', v1);
    expect(planned.code, planned.err).toBe(0);
    expect(own(planned.doc).every((o) => o.action === 'unchanged')).toBe(true);
    expect(planned.doc.summary).toMatchObject({ create: 0, change: 0, refused: 0 });
    expect(planned.doc.online[0]).toMatchObject({ recorded: true, recordedTtlSeconds: 86_400 });

    const again = await rheoJson('apply', '--project', v1);
    expect(again.code, again.err).toBe(again.doc.warnings.length > 0 ? 3 : 0);
    expect(again.doc.summary).toMatchObject({ create: 0, change: 0, unchanged: planned.doc.summary.unchanged });
    expect(again.doc.subjects.find((s) => s.group === name)).toMatchObject({ action: 'unchanged', version: 1 });
    expect(again.doc.online[0]).toMatchObject({ action: 'unchanged', entriesRetimed: 0 });

    const text = await rheo('apply', '--project', v1);
    expect(text.out.trim().split('\n').at(-1)).toMatch(/^apply: 0 created, 0 changed, \d+ unchanged/);
    expect(await codec.registry.versions(subject)).toEqual([1]);
  });

  it('refuses an incompatible change (long → string): plan exits 1 naming the feature, apply changes nothing', async () => {
    const retyped = declare('retyped', {
      ...base,
      version: 2,
      ttlSeconds: 120,
      features: base.features.map((f) => (f.name === 'txn_count_1h' ? { ...f, type: 'string' as const } : f)),
    });
    const planned = await rheoJson('plan', '--project', retyped);
    expect(planned.code).toBe(1);
    expect(planned.doc.summary.refused).toBe(2);
    expect(planned.doc.refusals).toEqual([
      expect.objectContaining({
        kind: 'subject',
        name: subject,
        group: name,
        reason: expect.stringContaining('feature "txn_count_1h" changed type from long to string'),
      }),
      expect.objectContaining({ kind: 'table', name: `${database}.${table}`, reason: expect.stringContaining('txn_count_1h') }),
    ]);
    expect(planned.doc.online[0]).toMatchObject({ action: 'change', ttlSeconds: 120, recordedTtlSeconds: 86_400 });

    const text = await rheo('plan', '--project', retyped);
    expect(text.code).toBe(1);
    expect(text.out).toContain(`\nrefused:\n  subject ${subject}: feature "txn_count_1h" changed type from long to string`);
    expect(text.out.trim().split('\n').at(-1)).toMatch(/; 2 refused/);

    const applied = await rheo('apply', '--project', retyped);
    expect(applied.code).toBe(1);
    expect(applied.out).toBe('');
    expect(applied.err).toContain('rheo apply: incompatible change refused, nothing was applied:');
    expect(applied.err).toContain(`subject ${subject}: feature "txn_count_1h" changed type from long to string`);
    expect(await codec.registry.versions(subject)).toEqual([1]);
    expect((await codec.registry.subjectVersion(subject, 'latest'))?.version).toBe(1);
    expect(await columns()).toMatchObject({ txn_count_1h: 'Int64' });
    expect((await online.recorded(name))?.ttlSeconds).toBe(86_400);
  });
});
