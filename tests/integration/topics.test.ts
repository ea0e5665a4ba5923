/** `ensureTopics` against the real cluster: idempotent creation, drift reported, safe drift fixed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { fraud } from '../../examples/fraud/index.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka } from '../../kernel/kafka.ts';
import { describeTopics, ensureTopics } from '../../topics/admin.ts';
import { catalogue, withDeadLetters } from '../../topics/catalogue.ts';
import { testTopic, uniqueName } from '../support/topics.ts';

const config = loadConfig();
let admin: Admin;

beforeAll(async () => {
  admin = createAdmin(createKafka(config.kafka, undefined, 'topics-test'));
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

describe('topic admin', () => {
  it('creates what is missing once, then reports everything unchanged', async () => {
    const entries = withDeadLetters([testTopic(uniqueName('ensure'), 3)]);
    const first = await ensureTopics(admin, entries);
    expect(first.created.sort()).toEqual(entries.map((e) => e.name).sort());
    const second = await ensureTopics(admin, entries);
    expect(second.created).toEqual([]);
    expect(second.unchanged.sort()).toEqual(entries.map((e) => e.name).sort());
    expect(second.drift).toEqual([]);
  });

  it('reports drift and fixes what can be fixed in place', async () => {
    const entry = testTopic(uniqueName('drift'), 2);
    await ensureTopics(admin, [entry]);
    const declared = { ...entry, partitions: 4, retentionMs: 3_600_000 };
    const report = await ensureTopics(admin, [declared]);
    expect(report.drift.map((d) => d.setting).sort()).toEqual(['partitions', 'retention.ms']);
    expect(report.drift.every((d) => d.fixable && !d.fixed)).toBe(true);
    const fixed = await ensureTopics(admin, [declared], { fix: true });
    expect(fixed.drift.every((d) => d.fixed)).toBe(true);
    const after = (await describeTopics(admin, [entry.name])).get(entry.name);
    expect(after?.partitions).toBe(4);
    expect(after?.configs['retention.ms']).toBe('3600000');
    expect((await ensureTopics(admin, [declared])).drift).toEqual([]);
  });

  it('never shrinks a topic: more partitions than declared is reported as not fixable', async () => {
    const entry = testTopic(uniqueName('shrink'), 3);
    await ensureTopics(admin, [entry]);
    const report = await ensureTopics(admin, [{ ...entry, partitions: 1 }], { fix: true });
    expect(report.drift).toMatchObject([{ setting: 'partitions', fixable: false, fixed: false }]);
  });

  it('`rheo topics ensure --json` is idempotent on the catalogue and exits 0', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {} };
    expect(await main(['topics', 'ensure'], io)).toBe(0);
    out.length = 0;
    expect(await main(['topics', 'ensure', '--json'], io)).toBe(0);
    const report = JSON.parse(out.join('')) as { created: string[]; unchanged: string[] };
    expect(report.created).toEqual([]);
    expect(report.unchanged.length).toBe(catalogue(fraud.features.topics()).length);
  });
});
