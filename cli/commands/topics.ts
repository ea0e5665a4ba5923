import { FeatureRegistry } from '../../features/registry.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { type CliCommand, CliError } from '../command.ts';
import { hasFlag, table } from '../format.ts';

export const topicsCommand: CliCommand = {
  name: 'topics',
  summary: 'list the topic catalogue, or create what is missing on the cluster and report drift',
  usage: 'rheo topics list [--json] | rheo topics ensure [--fix] [--json]',
  async run(argv, io) {
    const [action = 'list'] = argv.filter((a) => !a.startsWith('--'));
    const json = hasFlag(argv, '--json');
    // Core topics plus the declared feature groups' `features.<group>` topics.
    const entries = catalogue(FeatureRegistry.demo().topics());
    if (action === 'list') {
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
    if (action !== 'ensure') throw new CliError(`unknown action "${action}"; usage: ${this.usage}`, 2);
    const config = loadConfig();
    const admin = createAdmin(createKafka(config.kafka, undefined, 'topics'));
    try {
      await admin.connect();
      const report = await ensureTopics(admin, entries, {
        fix: hasFlag(argv, '--fix'),
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
};
