/**
 * `rheo topics export --format strimzi`: the project's catalogue as Strimzi KafkaTopic resources, valid
 * against Strimzi's CRD schema, with the catalogue's partitions and configs; and the copy committed for
 * the production overlay (deploy/k8s/overlays/production/topics.yaml) is exactly a fresh export.
 */
import { readFileSync } from 'node:fs';
import { KafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { fraud } from '../../../examples/fraud/index.ts';
import { type KafkaTopicResource, resourceName, strimziTopics } from '../../../topics/strimzi.ts';
import { rheo } from '../../support/cli.ts';

const COMMITTED = new URL('../../../deploy/k8s/overlays/production/topics.yaml', import.meta.url);
const EXAMPLE = new URL('../../../examples/fraud', import.meta.url).pathname;

describe('rheo topics export --format strimzi', () => {
  it('prints one valid KafkaTopic per catalogue entry, dead letters included, with the catalogue settings', async () => {
    const { code, out } = await rheo(
      'topics',
      'export',
      '--format',
      'strimzi',
      '--project',
      EXAMPLE,
      '--json',
      '--min-insync-replicas',
      '2',
    );
    expect(code).toBe(0);
    const resources = JSON.parse(out) as KafkaTopicResource[];
    const entries = fraud.topics;
    expect(resources.map((r) => r.spec.topicName)).toEqual(entries.map((e) => e.name));
    for (const [i, entry] of entries.entries()) {
      const resource = resources[i] as KafkaTopicResource;
      new KafkaTopic(resource).validate();
      expect(resource.metadata.labels['strimzi.io/cluster']).toBe('rheo');
      expect(resource.metadata.namespace).toBeUndefined();
      expect(resource.spec).toEqual({
        topicName: entry.name,
        partitions: entry.partitions,
        replicas: 3,
        config: { 'retention.ms': entry.retentionMs, 'cleanup.policy': entry.cleanup, 'min.insync.replicas': 2 },
      });
    }
    expect(resources.map((r) => r.spec.topicName)).toContain('features.card_activity.dlq');
  });

  it('takes the cluster, namespace and replication factor, and refuses a min.insync.replicas above it', async () => {
    const { out } = await rheo(
      'topics',
      'export',
      '--format',
      'strimzi',
      '--project',
      EXAMPLE,
      '--json',
      '--cluster',
      'kafka-a',
      '--namespace',
      'streaming',
      '--replicas',
      '1',
    );
    const [first] = JSON.parse(out) as KafkaTopicResource[];
    expect(first?.metadata).toMatchObject({ namespace: 'streaming', labels: { 'strimzi.io/cluster': 'kafka-a' } });
    expect(first?.spec.replicas).toBe(1);
    expect(first?.spec.config['min.insync.replicas']).toBeUndefined();
    const refused = await rheo(
      'topics',
      'export',
      '--format',
      'strimzi',
      '--project',
      EXAMPLE,
      '--replicas',
      '2',
      '--min-insync-replicas',
      '3',
    );
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/above --replicas 2/);
    expect((await rheo('topics', 'export', '--project', EXAMPLE)).code).toBe(2); // --format is required
  });

  it('names resources validly, keeps valid topic names as they are, and never maps two topics to one name', () => {
    expect(resourceName('predictions.requests')).toBe('predictions.requests');
    const name = resourceName('features.card_activity');
    expect(name).toMatch(/^features\.card-activity-[0-9a-f]{8}$/);
    expect(resourceName('features.card-activity')).toBe('features.card-activity');
    expect(resourceName('features.card_activity')).not.toBe(resourceName('features.card-activity'));
    expect(resourceName('Weird__Topic.')).toMatch(/^weird--topic-[0-9a-f]{8}$/);
    expect(() => strimziTopics(fraud.topics, { cluster: 'c', replicas: 0 })).toThrow(/positive/);
  });

  it('matches the committed deploy/k8s/overlays/production/topics.yaml', async () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    const { code, out } = await rheo(
      'topics',
      'export',
      '--format',
      'strimzi',
      '--project',
      EXAMPLE,
      '--min-insync-replicas',
      '2',
    );
    expect(code).toBe(0);
    expect(
      out.trimEnd(),
      'regenerate: npx rheo topics export --format strimzi --project examples/fraud --min-insync-replicas 2 > deploy/k8s/overlays/production/topics.yaml',
    ).toBe(committed.trimEnd());
    const docs = parseAllDocuments(committed).map((d) => d.toJSON() as KafkaTopicResource);
    for (const doc of docs) new KafkaTopic(doc).validate();
    expect(docs).toHaveLength(fraud.topics.length);
  });
});
