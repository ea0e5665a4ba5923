import { describe, expect, it } from 'vitest';
import { compareTopic } from '../../../topics/admin.ts';
import { catalogue, deadLetterEntry, featureTopic, TOPICS, valueSubject } from '../../../topics/catalogue.ts';

describe('topic catalogue', () => {
  it('declares every topic of the design with its dead-letter topic', () => {
    const names = catalogue().map((e) => e.name);
    for (const name of [
      'predictions.requests',
      'predictions',
      'feedback',
      'models.lifecycle',
      'training.requests',
      'training.runs',
      'monitoring.drift',
    ]) {
      expect(names).toContain(name);
      expect(names).toContain(`${name}.dlq`);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('keeps the registry log forever and in one total order', () => {
    expect(TOPICS.modelsLifecycle.retentionMs).toBe(-1);
    expect(TOPICS.modelsLifecycle.partitions).toBe(1);
  });

  it('derives feature topics and subjects by the topic name strategy', () => {
    const entry = featureTopic('card_activity');
    expect(entry.name).toBe('features.card_activity');
    expect(entry.dlq).toBe('features.card_activity.dlq');
    expect(valueSubject(entry)).toBe('features.card_activity-value');
    expect(() => featureTopic('Card Activity')).toThrow(/snake_case/);
  });

  it('gives dead-letter topics raw bytes and no dead-letter topic of their own', () => {
    const dlq = deadLetterEntry(TOPICS.predictions);
    expect(dlq.valueSchema).toBeNull();
    expect(dlq.dlq).toBeNull();
    expect(() => deadLetterEntry(dlq)).toThrow();
  });
});

describe('compareTopic', () => {
  const entry = TOPICS.predictions;
  const same = {
    name: entry.name,
    partitions: entry.partitions,
    replicationFactor: 1,
    configs: { 'retention.ms': String(entry.retentionMs), 'cleanup.policy': 'delete' },
  };

  it('finds nothing when the cluster matches', () => {
    expect(compareTopic(entry, same, 1)).toEqual([]);
  });

  it('reports too few partitions as fixable and too many as not', () => {
    expect(compareTopic(entry, { ...same, partitions: 2 }, 1)).toMatchObject([
      { setting: 'partitions', expected: '6', actual: '2', fixable: true },
    ]);
    expect(compareTopic(entry, { ...same, partitions: 12 }, 1)).toMatchObject([{ setting: 'partitions', fixable: false }]);
  });

  it('reports config and replication differences', () => {
    const drift = compareTopic(entry, { ...same, configs: { 'retention.ms': '1000', 'cleanup.policy': 'compact' } }, 3);
    expect(drift.map((d) => d.setting).sort()).toEqual(['cleanup.policy', 'replication', 'retention.ms']);
  });
});
