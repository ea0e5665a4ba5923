/**
 * `rheo topics list|ensure [--fix]|export --format strimzi`: the topic catalogue of a project (core topics, its feature
 * topics with their overrides, dead letters), making the cluster hold it, and printing it as Strimzi `KafkaTopic`
 * resources for clusters whose topics are managed the Kubernetes way (topics/strimzi.ts).
 */
import { defineActions } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { strimziTopics, toYaml } from '../../topics/strimzi.ts';
import { CliError, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';

const json = { type: 'boolean', description: 'print JSON instead of a table' } as const;

const TOPICS_ARGS = defineActions({
  program: 'rheo topics',
  defaultAction: 'list',
  actions: {
    list: { flags: { json, project: PROJECT_FLAG } },
    ensure: {
      flags: {
        fix: { type: 'boolean', description: 'repair the drift that can be fixed in place' },
        json,
        project: PROJECT_FLAG,
      },
      notes: ['ensure exits 3 when drift remains.'],
    },
    export: {
      flags: {
        format: {
          type: 'enum',
          values: ['strimzi'],
          required: true,
          description: 'strimzi: kafka.strimzi.io/v1beta2 KafkaTopic resources, one YAML document each',
        },
        cluster: {
          type: 'string',
          value: 'NAME',
          default: 'rheo',
          description: 'the Strimzi Kafka cluster (label strimzi.io/cluster)',
        },
        namespace: {
          type: 'string',
          value: 'NS',
          description: 'metadata.namespace of every resource (default: none, set by kubectl or Kustomize)',
        },
        replicas: {
          type: 'number',
          integer: true,
          min: 1,
          max: 5,
          default: 3,
          description: 'replication factor of every topic',
        },
        'min-insync-replicas': {
          type: 'number',
          integer: true,
          min: 1,
          max: 5,
          description: "min.insync.replicas of every topic (default: none, the cluster's setting applies)",
        },
        json: { type: 'boolean', description: 'print the resources as a JSON array instead of YAML documents' },
        project: PROJECT_FLAG,
      },
      notes: ['export prints to stdout and connects to nothing.'],
    },
  },
});

export const topicsCommand = defineCommand({
  name: 'topics',
  summary:
    'list the topic catalogue, create what is missing on the cluster and report drift, or export it as Strimzi KafkaTopic resources',
  args: TOPICS_ARGS,
  async run(args, io) {
    const json = args.flags.json;
    // Core topics plus the project's `features.<group>` topics (with its overrides).
    const project = await openCliProject(args.flags.project);
    const entries = [...project.topics];
    if (args.action === 'list') {
      if (json) io.out(JSON.stringify(entries, null, 2));
      else
        io.out(
          table(
            entries.map((e) => ({
              topic: e.name,
              partitions: e.partitions,
              key: e.key,
              value: e.valueSchema ?? 'bytes',
              retention_ms: e.retentionMs,
              dlq: e.dlq ?? '',
            })),
          ),
        );
      return 0;
    }
    if (args.action === 'export') {
      const { flags } = args;
      if (flags['min-insync-replicas'] !== undefined && flags['min-insync-replicas'] > flags.replicas)
        throw new CliError(`--min-insync-replicas ${flags['min-insync-replicas']} is above --replicas ${flags.replicas}`, 2);
      const resources = strimziTopics(entries, {
        cluster: flags.cluster,
        replicas: flags.replicas,
        ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
        ...(flags['min-insync-replicas'] !== undefined ? { minInsyncReplicas: flags['min-insync-replicas'] } : {}),
      });
      if (json) io.out(JSON.stringify(resources, null, 2));
      else io.out(toYaml(resources, exportHeader(project.project.name, flags)));
      return 0;
    }
    const config = loadConfig();
    const admin = createAdmin(createKafka(config.kafka, undefined, 'topics'));
    try {
      await admin.connect();
      const report = await ensureTopics(admin, entries, {
        fix: args.flags.fix,
        ...(config.kafka.replicationFactor ? { replicationFactor: config.kafka.replicationFactor } : {}),
      });
      if (json) io.out(JSON.stringify(report, null, 2));
      else {
        io.out(
          `created ${report.created.length}, unchanged ${report.unchanged.length}, drift ${report.drift.length} (replication factor ${report.replicationFactor})`,
        );
        if (report.created.length) io.out(`created: ${report.created.join(', ')}`);
        if (report.drift.length) io.out(table(report.drift.map((d) => ({ ...d }))));
      }
      return report.drift.some((d) => !d.fixed) ? 3 : 0;
    } catch (error) {
      throw new CliError(
        `cannot ensure topics on ${config.kafka.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      await admin.disconnect();
    }
  },
});

/** What the YAML says of itself: generated, from which project, and how to make it again. */
function exportHeader(
  project: string,
  flags: { cluster: string; namespace?: string | undefined; replicas: number; 'min-insync-replicas'?: number | undefined },
): string[] {
  const options = [
    `--cluster ${flags.cluster}`,
    ...(flags.namespace !== undefined ? [`--namespace ${flags.namespace}`] : []),
    `--replicas ${flags.replicas}`,
    ...(flags['min-insync-replicas'] !== undefined ? [`--min-insync-replicas ${flags['min-insync-replicas']}`] : []),
  ];
  return [
    `The topic catalogue of Rheo project "${project}" as Strimzi KafkaTopic resources.`,
    `Generated by: rheo topics export --format strimzi --project <DIR> ${options.join(' ')}`,
    "Do not edit: change the project (or Rheo's catalogue) and export again.",
  ];
}
