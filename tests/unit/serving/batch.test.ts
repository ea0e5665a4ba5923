import { describe, expect, it } from 'vitest';
import { parseRanges, progressLine } from '../../../cli/commands/score.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../../serving/batch/checkpoint.ts';
import { checkQuery, jobId, rowToInstance } from '../../../serving/batch/job.ts';
import { deterministicUuid, modelInputs, namedOutputs, writeFeatureRow } from '../../../serving/scoring.ts';

describe('batch scorer pieces', () => {
  it('accepts one ordered SELECT only', () => {
    expect(checkQuery(' SELECT entity_id, amount FROM t ORDER BY entity_id; ')).toBe(
      'SELECT entity_id, amount FROM t ORDER BY entity_id',
    );
    expect(() => checkQuery('DROP TABLE t')).toThrow(/SELECT/);
    expect(() => checkQuery('SELECT 1 FROM t')).toThrow(/ORDER BY/);
    expect(() => checkQuery('SELECT 1 FROM t ORDER BY 1; DROP TABLE t')).toThrow(/one statement/);
    expect(() => checkQuery('SELECT 1 FROM t ORDER BY 1 FORMAT CSV')).toThrow(/FORMAT/);
  });

  it('names jobs stably from model, version and source', () => {
    const a = jobId('m', undefined, { kind: 'query', query: 'SELECT 1 ORDER BY 1' });
    expect(a).toBe(jobId('m', undefined, { kind: 'query', query: 'SELECT 1 ORDER BY 1' }));
    expect(a).not.toBe(jobId('m', '1.0.0', { kind: 'query', query: 'SELECT 1 ORDER BY 1' }));
    expect(a).toMatch(/^m-[0-9a-f]{12}$/);
  });

  it('turns rows into instances with deterministic ids', () => {
    const instance = rowToInstance(
      { entity_id: 'card-1', amount: '12.5', hour_of_day: 3, request_time: '2026-01-01 00:00:00' },
      'batch:j:0',
    );
    expect(instance).toMatchObject({
      entityId: 'card-1',
      inputs: { amount: 12.5, hour_of_day: 3 },
      requestTime: Date.UTC(2026, 0, 1),
    });
    expect(instance.ids?.('PINNED', '1.0.0')).toEqual(
      rowToInstance({ entity_id: 'card-1' }, 'batch:j:0').ids?.('PINNED', '1.0.0'),
    );
    expect(() => rowToInstance({ amount: 1 }, 'x')).toThrow(/entity_id/);
  });

  it('round-trips checkpoints and parses ranges and progress', () => {
    const checkpoint = {
      job: 'j',
      model: 'm',
      version: '1.0.0',
      source: { kind: 'query' as const, query: 'q' },
      rows: 5,
      scored: 4,
      skipped: 1,
      positions: {},
      status: 'running' as const,
      startedAt: 1,
      updatedAt: 2,
    };
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint))).toEqual(checkpoint);
    expect(decodeCheckpoint(Buffer.from('garbage'))).toBeUndefined();
    expect(parseRanges('0:10-20,3:-5')).toEqual({ 0: { from: '10', to: '20' }, 3: { to: '5' } });
    expect(() => parseRanges('x')).toThrow(/PARTITION:FROM-TO/);
    expect(progressLine({ job: 'j', rows: 50, scored: 50, skipped: 0, total: 100, resumedFrom: 0, done: false }, 10)).toMatch(
      /^█████░░░░░ {2}50% {2}50\/100 rows/,
    );
  });
});

describe('scoring helpers', () => {
  const inputs = [
    { name: 'a', type: 'DOUBLE' as const, feature_group: null },
    { name: 'b', type: 'BOOLEAN' as const, feature_group: null },
  ];
  it('writes feature rows in registered order and reports missing and invalid values', () => {
    const out = new Float32Array(4);
    expect(writeFeatureRow(inputs, { b: true, a: 2 }, out, 2)).toBeNull();
    expect(Array.from(out)).toEqual([0, 0, 2, 1]);
    expect(writeFeatureRow(inputs, { a: Number.NaN, b: null }, out, 0)).toEqual({ missing: ['b'], invalid: ['a'] });
    expect(modelInputs(inputs, { a: 1, extra: 5 })).toEqual({ a: 1, b: null });
  });

  it('names outputs and picks the score', () => {
    const single = namedOutputs([{ name: 'p', width: 1 }], [Float32Array.from([0.25, 0.75])], 1);
    expect(single).toEqual({ outputs: { p: 0.75 }, score: 0.75 });
    const pair = namedOutputs([{ name: 'probs', width: 2 }], [Float32Array.from([0.9, 0.1, 0.4, 0.6])], 1);
    expect(pair.outputs).toEqual({ probs_0: expect.closeTo(0.4, 6), probs_1: expect.closeTo(0.6, 6) });
    expect(pair.score).toBeCloseTo(0.6, 6);
  });

  it('makes name-based UUIDs', () => {
    const id = deterministicUuid('a', 'b');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicUuid('a', 'b')).toBe(id);
    expect(deterministicUuid('ab', '')).not.toBe(id);
  });
});
