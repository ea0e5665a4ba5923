import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../../kernel/clients.ts';
import { driftSpec } from '../../../processors/drift/index.ts';
import type { DriftReporter } from '../../../processors/drift/reporter.ts';
import { DEFAULT_DRIFT_SETTINGS } from '../../../processors/drift/settings.ts';
import type { DriftStore } from '../../../processors/drift/store.ts';
import { joinerSpec } from '../../../processors/feedback-joiner/index.ts';
import { DEFAULT_JOINER_SETTINGS } from '../../../processors/feedback-joiner/lookup.ts';
import { InMemorySchemaRegistry, SchemaCodec } from '../../../schemas/index.ts';
import { catalogue, TOPICS } from '../../../topics/catalogue.ts';

describe('feedback and drift processors read catalogue topics', () => {
  const codec = new SchemaCodec(new InMemorySchemaRegistry());
  const names = new Set(catalogue().map((t) => t.name));

  it('drift reads predictions; the joiner reads feedback; both dead-letter to the catalogue DLQs', () => {
    const drift = driftSpec({
      codec,
      store: {} as DriftStore,
      reporter: {} as DriftReporter,
      baselines: { baseline: () => undefined, knows: () => true, waitFor: async () => undefined },
      settings: DEFAULT_DRIFT_SETTINGS,
    });
    const joiner = joinerSpec({
      codec,
      client: {} as ClickHouseClient,
      database: 'rheo',
      settings: DEFAULT_JOINER_SETTINGS,
      sink: { name: 'none', write: async () => undefined },
    });
    expect(drift.inputs).toEqual([TOPICS.predictions]);
    expect(joiner.inputs).toEqual([TOPICS.feedback]);
    for (const t of [...drift.inputs, ...joiner.inputs]) {
      expect(names.has(t.name)).toBe(true);
      expect(names.has(t.dlq as string)).toBe(true);
    }
  });

  it('decodes garbage into a refusal instead of throwing (so it is counted in dlq_count)', async () => {
    const drift = driftSpec({
      codec,
      store: {} as DriftStore,
      reporter: {} as DriftReporter,
      baselines: { baseline: () => undefined, knows: () => true, waitFor: async () => undefined },
      settings: DEFAULT_DRIFT_SETTINGS,
    });
    const raw = {
      topic: 'predictions',
      partition: 0,
      offset: '0',
      key: null,
      value: Buffer.from('not avro'),
      timestamp: 0,
      headers: {},
    };
    expect(await drift.decode(raw)).toMatchObject({ ok: false });
  });
});
