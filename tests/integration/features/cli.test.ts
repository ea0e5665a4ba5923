/**
 * `rheo features apply|describe|reconcile` and `rheo produce` on the real stack, with a test group
 * declared in a project of its own (`--project`): idempotent apply, an incompatible change refused with
 * nothing applied, a compatible change (new feature, shorter TTL) applied without downtime, files
 * validated before anything is produced, and reconcile at zero once the materializer caught up.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl } from '../../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../../features/online/redis.ts';
import { createClickHouse, createRedis } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { createAdmin, createKafka } from '../../../kernel/kafka.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import { createMaterializer } from '../../../processors/materializer/index.ts';
import { SchemaCodec } from '../../../schemas/index.ts';
import { featureTopic, valueSubject } from '../../../topics/catalogue.ts';
import { rheo } from '../../support/cli.ts';
import { uniqueGroupName } from '../../support/feature-groups.ts';
import { waitFor } from '../../support/wait.ts';

const config = loadConfig();
const dir = mkdtempSync(join(tmpdir(), 'rheo-features-cli-'));
const name = uniqueGroupName('cli');
const base: FeatureGroupDecl = {
  name,
  entity: 'card',
  description: 'A group declared by the CLI test.',
  version: 1,
  ttlSeconds: 86_400,
  features: [
    { name: 'txn_count_1h', type: 'long', description: 'Transactions in the last hour.' },
    { name: 'amount_avg_7d', type: 'double', nullable: true, description: 'Mean amount over 7 days.' },
  ],
};
const online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
const offline = new ClickHouseOfflineStore(createClickHouse(config), { database: config.clickhouse.database, ownsClient: true });

/** A project folder of its own holding just `group` (what `--project` takes). */
function declare(file: string, group: FeatureGroupDecl): string {
  const folder = join(dir, file.replace(/\.ts$/, ''));
  mkdirSync(folder, { recursive: true });
  const project = {
    name: 'features_cli_test',
    entities: [{ name: 'card', description: 'A payment card.', key: 'string' }],
    featureGroups: [group],
    requestInputs: [],
    models: [],
  };
  writeFileSync(join(folder, 'rheo.project.ts'), `export default ${JSON.stringify(project, null, 2)};\n`);
  return folder;
}

beforeAll(() => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
});

afterAll(async () => {
  await online.teardown(base).catch(() => undefined);
  await offline.teardown(base).catch(() => undefined);
  await Promise.allSettled([online.close(), offline.close()]);
  const admin = createAdmin(createKafka(config.kafka, undefined, 'cli-test'));
  await admin.connect();
  const topic = featureTopic(name);
  await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('rheo features / rheo produce', () => {
  const v1 = declare('v1.ts', base);

  it('applies a group idempotently and describes it', async () => {
    const first = await rheo('features', 'apply', '--project', v1, '--json');
    expect(first.code, first.err).toBe(0);
    const report = JSON.parse(first.out);
    expect(report.groups[0]).toMatchObject({ group: name, schema: { version: 1, created: true }, table: { action: 'create' } });
    expect(report.topics.created).toEqual([`features.${name}`, `features.${name}.dlq`]);

    const again = await rheo('features', 'apply', '--project', v1, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).groups[0]).toMatchObject({ schema: { created: false }, table: { action: 'none' } });

    const described = await rheo('features', 'describe', name, '--project', v1, '--json');
    expect(JSON.parse(described.out)).toMatchObject({ group: name, subject: `features.${name}-value`, ttl_seconds: 86_400 });
    const listed = await rheo('features', 'list', '--project', v1);
    expect(listed.out).toContain(name);
  });

  it('refuses an incompatible change with the reason and applies nothing', async () => {
    const retyped = declare('retyped.ts', {
      ...base,
      version: 2,
      features: base.features.map((f) => (f.name === 'txn_count_1h' ? { ...f, type: 'string' as const } : f)),
    });
    const refused = await rheo('features', 'apply', '--project', retyped);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('incompatible change refused, nothing was applied');
    expect(refused.err).toContain('feature "txn_count_1h" changed type from long to string');
    expect(refused.err).toContain('its column holds Int64');
    const codec = SchemaCodec.fromConfig(config.registry);
    expect(await codec.registry.versions(valueSubject(featureTopic(name)))).toHaveLength(1);
  });

  it('validates a file against the declaration before producing anything', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      [
        JSON.stringify({ entity_id: 'card-1', txn_count_1h: 1, event_time: Date.now() }),
        '{"entity_id": "card-2", "txn_count_1h": "two", "event_time": 1}',
        'not json',
        JSON.stringify({ entity_id: 'card-3', txn_count_1h: 1, typo: 2, event_time: Date.now() }),
      ].join('\n'),
    );
    const refused = await rheo('produce', name, '--file', bad, '--project', v1);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/3 invalid events in .*nothing produced/);
    expect(refused.err).toMatch(/line 2: feature "txn_count_1h" must be an integer \(long\), got "two"/);
    expect(refused.err).toMatch(/line 3: not JSON/);
    expect(refused.err).toMatch(/line 4: "typo" is not a feature/);
  });

  it('produces JSONL and CSV, the materializer lands them, and reconcile finds no difference', async () => {
    const now = Date.now();
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(
      jsonl,
      Array.from({ length: 300 }, (_, i) =>
        JSON.stringify({
          entity_id: `card-${i % 30}`,
          txn_count_1h: i,
          amount_avg_7d: i / 3,
          event_time: now - 300_000 + i * 1_000,
        }),
      ).join('\n'),
    );
    const csv = join(dir, 'events.csv');
    writeFileSync(
      csv,
      [
        'entity_id,txn_count_1h,amount_avg_7d,event_time',
        `card-100,5,,${new Date(now - 1_000).toISOString()}`,
        `"card,with,commas",7,12.5,${now - 2_000}`,
      ].join('\r\n'),
    );
    const json = await rheo('produce', name, '--file', jsonl, '--project', v1, '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ produced: 300, skipped: 0 });
    expect(json.err).toContain('100% 300/300 events');
    const fromCsv = await rheo('produce', name, '--file', csv, '--project', v1);
    expect(fromCsv.code, fromCsv.err).toBe(0);
    expect(fromCsv.out).toMatch(/produced 2 events/);

    const runner = await createMaterializer(
      config,
      {
        logger: createLogger('cli-test', { level: 'warn' }),
        metrics: createRegistry('cli-test', { defaultMetrics: false }),
        online,
        offline,
      },
      { startFrom: 'earliest', groups: [base], groupId: `test.materializer.${randomUUID().slice(0, 8)}` },
    );
    await runner.start();
    try {
      await waitFor('302 rows offline', async () => (await offline.count(base)) === 302, { timeoutMs: 60_000 });
      await waitFor('reconcile at zero', async () => (await rheo('features', 'reconcile', name, '--project', v1)).code === 0, {
        timeoutMs: 30_000,
      });
    } finally {
      await runner.stop();
    }
    const report = await rheo('features', 'reconcile', name, '--project', v1, '--json');
    expect(JSON.parse(report.out)).toMatchObject({ entitiesOffline: 32, matching: 32, differences: 0 });
    const [[commas] = []] = await online.read([{ group: base, entityIds: ['card,with,commas'] }]);
    expect(commas?.values).toEqual({ txn_count_1h: 7, amount_avg_7d: 12.5 });
  });

  it('applies a compatible change: a new nullable feature and a shorter TTL reach the table and existing keys', async () => {
    const v2 = declare('v2.ts', {
      ...base,
      version: 2,
      ttlSeconds: 120,
      features: [...base.features, { name: 'merchant_count_7d', type: 'long', default: 0, description: 'Distinct merchants.' }],
    });
    const applied = await rheo('features', 'apply', '--project', v2, '--json');
    expect(applied.code, applied.err).toBe(0);
    const report = JSON.parse(applied.out).groups[0];
    expect(report).toMatchObject({
      schema: { version: 2, created: true },
      table: { action: 'alter', addColumns: ['merchant_count_7d'] },
    });
    // Events up to 300 s old with a 120 s TTL: the old ones expire at once, recent ones stay.
    expect(report.online).toMatchObject({ previousTtlSeconds: 86_400, ttlSeconds: 120 });
    expect(report.online.entriesRetimed).toBe(32);
    const reconciled = await rheo('features', 'reconcile', name, '--project', v2, '--json');
    expect(JSON.parse(reconciled.out)).toMatchObject({ differences: 0, matching: 32 });
    // Entries written before the feature existed read its default, online as offline.
    const v2group = {
      ...base,
      features: [...base.features, { name: 'merchant_count_7d', type: 'long' as const, default: 0, description: 'x' }],
    };
    const [[card] = []] = await online.read([{ group: v2group, entityIds: ['card-1'] }]);
    expect(card?.values.merchant_count_7d).toBe(0);
  });
});
