/**
 * Makes the cluster match the catalogue: creates what is missing (idempotently), and reports where an
 * existing topic differs. Safe differences (too few partitions, a retention or cleanup policy) are
 * fixed only when asked; a topic with more partitions than declared is reported, never shrunk.
 */
import type { Admin } from '../kernel/kafka.ts';
import type { TopicEntry } from './catalogue.ts';

export interface TopicDrift {
  topic: string;
  setting: 'partitions' | 'retention.ms' | 'cleanup.policy' | 'replication';
  expected: string;
  actual: string;
  fixable: boolean;
  fixed: boolean;
}

export interface EnsureReport {
  created: string[];
  unchanged: string[];
  drift: TopicDrift[];
  replicationFactor: number;
}

export interface ExistingTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** Pure: what differs between the catalogue entry and the cluster's topic. */
export function compareTopic(entry: TopicEntry, existing: ExistingTopic, replicationFactor: number): TopicDrift[] {
  const drift: TopicDrift[] = [];
  const note = (setting: TopicDrift['setting'], expected: string, actual: string, fixable: boolean) =>
    drift.push({ topic: entry.name, setting, expected, actual, fixable, fixed: false });
  if (existing.partitions < entry.partitions) note('partitions', String(entry.partitions), String(existing.partitions), true);
  if (existing.partitions > entry.partitions) note('partitions', String(entry.partitions), String(existing.partitions), false);
  if (existing.replicationFactor < replicationFactor)
    note('replication', String(replicationFactor), String(existing.replicationFactor), false);
  const retention = existing.configs['retention.ms'];
  if (retention !== undefined && retention !== String(entry.retentionMs))
    note('retention.ms', String(entry.retentionMs), retention, true);
  const cleanup = existing.configs['cleanup.policy'];
  if (cleanup !== undefined && cleanup !== entry.cleanup) note('cleanup.policy', entry.cleanup, cleanup, true);
  return drift;
}

export function topicConfigEntries(entry: TopicEntry): Array<{ name: string; value: string }> {
  return [
    { name: 'retention.ms', value: String(entry.retentionMs) },
    { name: 'cleanup.policy', value: entry.cleanup },
  ];
}

export async function describeTopics(admin: Admin, names: string[]): Promise<Map<string, ExistingTopic>> {
  const present = new Set(await admin.listTopics());
  const wanted = names.filter((name) => present.has(name));
  const result = new Map<string, ExistingTopic>();
  if (wanted.length === 0) return result;
  const metadata = await admin.fetchTopicMetadata({ topics: wanted });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: wanted.map((name) => ({
      type: 2 /* ConfigResourceTypes.TOPIC */,
      name,
      configNames: ['retention.ms', 'cleanup.policy'],
    })),
  });
  const configByTopic = new Map(
    configs.resources.map((resource) => [
      resource.resourceName,
      Object.fromEntries(resource.configEntries.map((config) => [config.configName, config.configValue])),
    ]),
  );
  for (const topic of metadata.topics) {
    result.set(topic.name, {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.min(...topic.partitions.map((p) => p.replicas.length)),
      configs: configByTopic.get(topic.name) ?? {},
    });
  }
  return result;
}

/** Replication factor for new topics: the configured one, else min(3, brokers). */
export async function defaultReplicationFactor(admin: Admin, configured?: number): Promise<number> {
  if (configured) return configured;
  const cluster = await admin.describeCluster();
  return Math.min(3, cluster.brokers.length);
}

export async function ensureTopics(
  admin: Admin,
  entries: TopicEntry[],
  options: { fix?: boolean; replicationFactor?: number } = {},
): Promise<EnsureReport> {
  const replicationFactor = await defaultReplicationFactor(admin, options.replicationFactor);
  const existing = await describeTopics(
    admin,
    entries.map((e) => e.name),
  );
  const missing = entries.filter((entry) => !existing.has(entry.name));
  const report: EnsureReport = { created: [], unchanged: [], drift: [], replicationFactor };
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((entry) => ({
        topic: entry.name,
        numPartitions: entry.partitions,
        replicationFactor,
        configEntries: topicConfigEntries(entry),
      })),
    });
    // createTopics is not atomic across concurrent callers: a topic another process created first is fine.
    report.created.push(...missing.map((entry) => entry.name));
  }
  for (const entry of entries) {
    const topic = existing.get(entry.name);
    if (!topic) continue;
    const drift = compareTopic(entry, topic, replicationFactor);
    if (drift.length === 0) report.unchanged.push(entry.name);
    report.drift.push(...drift);
  }
  if (options.fix) await fixDrift(admin, entries, report.drift);
  return report;
}

async function fixDrift(admin: Admin, entries: TopicEntry[], drift: TopicDrift[]): Promise<void> {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const grow = drift.filter((d) => d.fixable && d.setting === 'partitions');
  if (grow.length > 0) {
    await admin.createPartitions({ topicPartitions: grow.map((d) => ({ topic: d.topic, count: Number(d.expected) })) });
    for (const d of grow) d.fixed = true;
  }
  const configTopics = new Set(drift.filter((d) => d.fixable && d.setting !== 'partitions').map((d) => d.topic));
  if (configTopics.size > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [...configTopics].map((name) => ({
        type: 2 /* ConfigResourceTypes.TOPIC */,
        name,
        configEntries: topicConfigEntries(byName.get(name) as TopicEntry),
      })),
    });
    for (const d of drift) if (configTopics.has(d.topic) && d.setting !== 'partitions') d.fixed = true;
  }
}
