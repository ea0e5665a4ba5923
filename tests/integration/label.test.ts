/**
 * `rheo label` on the real stack: a CSV of labels (one by prediction id, two by entity and
 * reference time) becomes Feedback events on the `feedback` topic, keyed by prediction id else
 * entity id, with the defaults of `--model` and `--source`; labelling the same file again writes the
 * same event ids; a file with one invalid row produces nothing and names the line; JSONL with
 * `--skip-invalid` produces the valid rows only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import type { Feedback } from '../../schemas/index.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { rheo } from '../support/cli.ts';
import { uniqueModelName } from '../support/models.ts';
import { TopicTail } from '../support/serving.ts';

const config = loadConfig();
const dir = mkdtempSync(join(tmpdir(), 'rheo-label-'));
const model = uniqueModelName('label');
const kafka = createKafka(config.kafka, undefined, 'label-test');
const tail = new TopicTail<Feedback>(kafka, config, TOPICS.feedback.name);

/** This test's records on the topic (other suites may label other models meanwhile). */
function ours(): Array<{ key: string | null; value: Feedback }> {
  return tail.records.filter((r) => r.value.model_name === model);
}

async function until(count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ours().length < count) {
    if (Date.now() > deadline) throw new Error(`saw ${ours().length} of ${count} labels of ${model}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, [TOPICS.feedback]).finally(() => admin.disconnect());
  await tail.start();
});

afterAll(async () => {
  await tail.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('rheo label', () => {
  const csv = join(dir, 'labels.csv');
  writeFileSync(
    csv,
    [
      'prediction_id,entity_id,reference_time,label,observed_time',
      'pred-1,,,true,2026-11-02T10:00:00Z',
      ',card-7,2026-11-01T09:30:00Z,0,2026-11-02T10:00:00Z',
      ',card-8,1762000000000,2.5,',
    ].join('\n'),
  );

  it('produces one Feedback event per row, keyed by prediction id else entity id', async () => {
    const { code, out, err } = await rheo('label', '--file', csv, '--model', model, '--source', 'chargeback', '--json');
    expect(err).not.toMatch(/invalid/);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ topic: 'feedback', produced: 3, by_prediction_id: 1, by_entity_id: 2, skipped: 0 });
    await until(3);
    const byKey = new Map(ours().map((r) => [r.value.prediction_id ?? r.value.entity_id, r.value]));
    expect(byKey.get('pred-1')).toMatchObject({
      prediction_id: 'pred-1',
      entity_id: null,
      label: 1,
      model_name: model,
      label_source: 'chargeback',
      observed_time: Date.parse('2026-11-02T10:00:00Z'),
    });
    expect(byKey.get('card-7')).toMatchObject({
      prediction_id: null,
      label: 0,
      reference_time: Date.parse('2026-11-01T09:30:00Z'),
    });
    expect(byKey.get('card-8')).toMatchObject({ label: 2.5, reference_time: 1_762_000_000_000 });
    // The record key is what the joiner's partitioning relies on.
    expect(
      tail.records
        .filter((r) => r.value.model_name === model)
        .map((r) => r.key)
        .sort(),
    ).toEqual(['card-7', 'card-8', 'pred-1']);
  });

  it('writes the same event ids when the same file is labelled again', async () => {
    const first = new Set(ours().map((r) => r.value.event_id));
    const { code } = await rheo('label', '--file', csv, '--model', model, '--source', 'chargeback', '--json');
    expect(code).toBe(0);
    await until(6);
    const second = ours()
      .slice(3)
      .map((r) => r.value.event_id);
    expect(new Set(second)).toEqual(first);
  });

  it('produces nothing from a file with an invalid row, and names the line', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(
      bad,
      ['entity_id,reference_time,label', 'card-9,2026-11-01T09:30:00Z,1', 'card-10,2026-11-01T09:30:00Z,maybe'].join('\n'),
    );
    const before = ours().length;
    const { code, err } = await rheo('label', '--file', bad, '--model', model);
    expect(code).not.toBe(0);
    expect(err).toMatch(/1 invalid label in .*nothing produced/);
    expect(err).toMatch(/line 3: label must be/);
    // Give a stray send time to arrive: none may.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(ours().length).toBe(before);
  });

  it('with --project, refuses model names the project does not declare, before producing anything', async () => {
    const undeclared = await rheo('label', '--file', csv, '--model', model, '--project', 'examples/fraud');
    expect(undeclared.code).toBe(1);
    expect(undeclared.err).toMatch(new RegExp(`model ${model} is not declared in the project \\(declared: fraud_detector\\)`));
    const rows = join(dir, 'named.csv');
    writeFileSync(rows, ['entity_id,reference_time,label,model_name', `card-1,2026-11-01T00:00:00Z,1,${model}`].join('\n'));
    const named = await rheo('label', '--file', rows, '--project', 'examples/fraud');
    expect(named.code).toBe(1);
    expect(named.err).toMatch(new RegExp(`line 2: model_name ${model} is not declared in the project`));
  });

  it('with --skip-invalid, produces the valid rows of a JSONL file only', async () => {
    const jsonl = join(dir, 'labels.jsonl');
    writeFileSync(
      jsonl,
      [
        JSON.stringify({ entity_id: 'card-11', reference_time: '2026-11-01T00:00:00Z', label: 1, model_name: model }),
        '{not json',
        JSON.stringify({ entity_id: 'card-12', label: 1, model_name: model }),
        JSON.stringify({ prediction_id: 'pred-13', label: false, model_name: model, label_source: 'review' }),
      ].join('\n'),
    );
    const before = ours().length;
    const { code, out, err } = await rheo('label', '--file', jsonl, '--skip-invalid', '--json');
    expect(code).toBe(0);
    expect(err).toMatch(/skipping 2 invalid labels/);
    expect(JSON.parse(out)).toMatchObject({ produced: 2, skipped: 2 });
    await until(before + 2);
    const added = ours()
      .slice(before)
      .map((r) => r.value);
    expect(added.map((f) => f.entity_id ?? f.prediction_id).sort()).toEqual(['card-11', 'pred-13']);
    expect(added.find((f) => f.prediction_id === 'pred-13')).toMatchObject({ label: 0, label_source: 'review' });
  });
});
