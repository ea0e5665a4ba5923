import { describe, expect, it } from 'vitest';
import { archiveTransform, type TableRow } from '../../../../processors/archiver/transform.ts';
import { MemorySink, ProcessorTestDriver } from '../../../../runtime/driver.ts';
import { type ProcessorSpec, statelessProcessor } from '../../../../runtime/types.ts';
import { contractNamed } from '../../../../schemas/contracts.ts';
import { FIXTURES } from '../../../../schemas/fixtures.ts';
import { archivedTable } from '../../../../tables/history.ts';

describe('archive transform', () => {
  it('writes decoded predictions as rows and refuses what it cannot map', async () => {
    const predictions = archivedTable('predictions');
    const sink = new MemorySink<TableRow>();
    const spec: ProcessorSpec<Record<string, unknown>, TableRow> = {
      name: 'archiver',
      inputs: [predictions.topic],
      decode: (raw) => JSON.parse(raw.value!.toString()) as Record<string, unknown>,
      supply: statelessProcessor(archiveTransform(new Map([[predictions.topic.name, predictions]]))),
      sink,
    };
    const driver = new ProcessorTestDriver(spec);
    const fixture = FIXTURES.Prediction[0]!;
    const good = JSON.stringify(fixture, (_k, v: unknown) => (v instanceof Date ? v.getTime() : v));
    await driver.pipe([
      driver.record('predictions', Buffer.from(good)),
      driver.record('predictions', Buffer.from(JSON.stringify({ event_id: 'x' }))),
    ]);
    expect(sink.written).toHaveLength(1);
    expect(sink.written[0]?.row.event_id).toBe(fixture.event_id);
    expect(driver.deadLetters).toHaveLength(1);
    expect(driver.deadLetters[0]?.reason).toMatch(/cannot map to predictions/);
    expect(contractNamed('Prediction')).toBeDefined();
  });
});
