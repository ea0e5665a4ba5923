/** `rheo topics list|ensure [--fix]`: the topic catalogue of a project (core topics, its feature topics with their overrides, dead letters), and making the cluster hold it. */
import { defineActions } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { ensureTopics } from '../../topics/admin.ts';
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
  },
});

export const topicsCommand = defineCommand({
  name: 'topics',
  summary: 'list the topic catalogue, or create what is missing on the cluster and report drift',
  args: TOPICS_ARGS,
  async run(args, io) {
    const json = args.flags.json;
    // Core topics plus the project's `features.<group>` topics (with its overrides).
    const entries = [...(await openCliProject(args.flags.project)).topics];
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
