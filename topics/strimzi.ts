/**
 * The topic catalogue as Strimzi `KafkaTopic` resources (`rheo topics export --format strimzi`), so a
 * cluster run by the Strimzi Topic Operator holds the very topics `rheo apply` / `rheo topics ensure`
 * would create: same names, partitions, `retention.ms` and `cleanup.policy` (`topics/admin.ts`
 * `topicConfigEntries`), one resource per catalogue entry, dead-letter topics included.
 *
 * Kafka topic names may hold `_` and run to 249 characters; Kubernetes names may not. Each resource
 * therefore carries the real name in `spec.topicName`, and its `metadata.name` is the topic name made
 * a valid DNS-1123 subdomain; when that changed the name, a short hash of the topic name is appended,
 * so two topics never map to one resource. Pure: entries in, plain objects out; `toYaml` prints them.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { topicConfigEntries } from './admin.ts';
import type { TopicEntry } from './catalogue.ts';

export const STRIMZI_API_VERSION = 'kafka.strimzi.io/v1beta2';

export interface StrimziExportOptions {
  /** The Strimzi `Kafka` resource the topics belong to (label `strimzi.io/cluster`). */
  cluster: string;
  /** `metadata.namespace` of every resource; omitted when undefined (a Kustomize overlay sets it). */
  namespace?: string;
  /** Replication factor of every topic (Rheo's own default is min(3, brokers)). */
  replicas: number;
  /** `min.insync.replicas` of every topic; omitted when undefined (the cluster's default applies). */
  minInsyncReplicas?: number;
}

export interface KafkaTopicResource {
  apiVersion: typeof STRIMZI_API_VERSION;
  kind: 'KafkaTopic';
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    topicName: string;
    partitions: number;
    replicas: number;
    config: Record<string, string | number>;
  };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A valid Kubernetes resource name for a Kafka topic name, stable and collision-free. */
export function resourceName(topic: string): string {
  if (topic.length <= 253 && DNS_SUBDOMAIN.test(topic)) return topic;
  const cleaned = topic
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-*\.-*/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '');
  const hash = createHash('sha256').update(topic).digest('hex').slice(0, 8);
  return `${cleaned.slice(0, 240) || 'topic'}-${hash}`;
}

/** One `KafkaTopic` per catalogue entry, in the catalogue's order. */
export function strimziTopics(entries: readonly TopicEntry[], options: StrimziExportOptions): KafkaTopicResource[] {
  if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new Error('replicas must be a positive integer');
  if (options.minInsyncReplicas !== undefined && (options.minInsyncReplicas < 1 || options.minInsyncReplicas > options.replicas))
    throw new Error(`min.insync.replicas must be between 1 and the replication factor (${options.replicas})`);
  const names = new Map<string, string>();
  return entries.map((entry) => {
    const name = resourceName(entry.name);
    const clash = names.get(name);
    if (clash !== undefined) throw new Error(`topics ${clash} and ${entry.name} map to one resource name ${name}`);
    names.set(name, entry.name);
    const config: Record<string, string | number> = {};
    for (const { name: key, value } of topicConfigEntries(entry)) config[key] = /^-?\d+$/.test(value) ? Number(value) : value;
    if (options.minInsyncReplicas !== undefined) config['min.insync.replicas'] = options.minInsyncReplicas;
    const annotations: Record<string, string> = {
      'rheo/description': entry.description,
      'rheo/key': entry.key,
      'rheo/value-schema': entry.valueSchema ?? 'bytes',
    };
    if (entry.dlq) annotations['rheo/dead-letter-topic'] = entry.dlq;
    return {
      apiVersion: STRIMZI_API_VERSION,
      kind: 'KafkaTopic',
      metadata: {
        name,
        ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
        labels: { 'strimzi.io/cluster': options.cluster, 'app.kubernetes.io/part-of': 'rheo' },
        annotations,
      },
      spec: { topicName: entry.name, partitions: entry.partitions, replicas: options.replicas, config },
    };
  });
}

/** The resources as YAML documents (`---` between them) under a header comment of `#` lines. */
export function toYaml(resources: readonly KafkaTopicResource[], header: readonly string[] = []): string {
  const comment = header.map((line) => `# ${line}`.trimEnd()).join('\n');
  const docs = resources.map((resource) => stringify(resource, { lineWidth: 0 }).trimEnd());
  return `${comment ? `${comment}\n` : ''}${docs.map((doc) => `---\n${doc}`).join('\n')}\n`;
}
