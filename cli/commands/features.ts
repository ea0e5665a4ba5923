import { applyFeatureGroups, FeatureGroupRefusedError, planFeatureGroups } from '../../features/apply.ts';
import type { FeatureGroupDecl } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { createTableSql, DEFAULT_TABLE_PREFIX, tableName } from '../../features/offline/sql.ts';
import { DEFAULT_PREFIX, entityKey } from '../../features/online/layout.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { reconcile } from '../../features/reconcile.ts';
import type { FeatureRegistry } from '../../features/registry.ts';
import { defineActions } from '../../kernel/args.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../../kernel/config.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { type ProjectContext, projectFeatureTopic } from '../../projects/context.ts';
import { featureGroupSchema, SchemaCodec } from '../../schemas/index.ts';
import { featureTopic, valueSubject } from '../../topics/catalogue.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';

const json = { type: 'boolean', description: 'print JSON' } as const;
const groupName = { name: 'group', description: 'a declared feature group', required: true } as const;

const FEATURES_ARGS = defineActions({
  program: 'rheo features',
  defaultAction: 'list',
  actions: {
    list: { flags: { json, project: PROJECT_FLAG } },
    describe: { positionals: [groupName], flags: { json, project: PROJECT_FLAG } },
    apply: {
      flags: { 'dry-run': { type: 'boolean', description: 'show the plan, change nothing' }, json, project: PROJECT_FLAG },
      notes: ['apply exits 3 when topic drift remains.'],
    },
    reconcile: {
      positionals: [groupName],
      flags: { json, project: PROJECT_FLAG },
      notes: ['reconcile exits 3 when online and offline differ.'],
    },
  },
});

/** The feature groups of the project named by `--project` (else RHEO_PROJECT, else the current folder). */
export async function projectRegistry(flag: string | undefined): Promise<FeatureRegistry> {
  return (await openCliProject(flag)).features;
}

function group(registry: FeatureRegistry, name: string): FeatureGroupDecl {
  try {
    return registry.get(name);
  } catch (error) {
    throw new CliError(errorMessage(error));
  }
}

export function describeGroup(config: Pick<RheoConfig, 'clickhouse'>, decl: FeatureGroupDecl) {
  const topic = featureTopic(decl.name);
  const table = tableName(DEFAULT_TABLE_PREFIX, decl.name);
  return {
    group: decl.name,
    entity: decl.entity,
    description: decl.description,
    owner: decl.owner ?? null,
    version: decl.version,
    ttl_seconds: decl.ttlSeconds ?? null,
    features: decl.features.map((f) => ({
      name: f.name,
      type: f.type,
      nullable: f.nullable ?? false,
      default: f.default ?? null,
      description: f.description,
    })),
    topic: { name: topic.name, partitions: topic.partitions, dlq: topic.dlq, key: topic.key },
    subject: valueSubject(topic),
    avro: featureGroupSchema(decl),
    offline: { table: `${config.clickhouse.database}.${table}`, ddl: createTableSql(config.clickhouse.database, table, decl) },
    online: {
      key: entityKey(DEFAULT_PREFIX, decl.name, '<entity_id>'),
      value: `<event_time>|<created_time>|<event id bytes>:<event_id>{${decl.features.map((f) => `"${f.name}":…`).join(',')}}`,
      expiry: decl.ttlSeconds ? `event_time + ${decl.ttlSeconds} s` : 'none',
    },
  };
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return 'none (values never expire)';
  const units: Array<[number, string]> = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
  ];
  for (const [size, unit] of units) if (seconds % size === 0) return `${seconds / size} ${unit}`;
  return `${seconds} s`;
}

async function withStores<T>(
  config: RheoConfig,
  action: (stores: { online: RedisOnlineStore; offline: ClickHouseOfflineStore }) => Promise<T>,
): Promise<T> {
  const online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
  const offline = new ClickHouseOfflineStore(createClickHouse(config), {
    database: config.clickhouse.database,
    ownsClient: true,
  });
  try {
    return await action({ online, offline });
  } finally {
    await Promise.allSettled([online.close(), offline.close()]);
  }
}

async function apply(io: CliIO, project: ProjectContext, dryRun: boolean, json: boolean): Promise<number> {
  const config = loadConfig();
  const codec = SchemaCodec.fromConfig(config.registry);
  const groups = project.features.list();
  return withStores(config, async ({ online, offline }) => {
    if (dryRun) {
      const plans = await planFeatureGroups(groups, { codec, offline });
      if (json) io.out(JSON.stringify(plans, null, 2));
      else
        io.out(
          table(
            plans.map((p) => ({
              group: p.group,
              subject: p.subject,
              registry_version: p.latestVersion ?? 'new',
              schema_changed: p.schemaChanged,
              table: p.table.action,
              add_columns: p.table.addColumns.join(' '),
              refused: p.refusals.join('; '),
            })),
          ),
        );
      return plans.some((p) => p.refusals.length > 0) ? 1 : 0;
    }
    const admin = createAdmin(createKafka(config.kafka, undefined, 'features'));
    await admin.connect();
    try {
      const report = await applyFeatureGroups(groups, {
        topicOf: (name) => projectFeatureTopic(project.project, name),
        codec,
        admin,
        offline,
        online,
        ...(config.kafka.replicationFactor ? { replicationFactor: config.kafka.replicationFactor } : {}),
      });
      if (json) io.out(JSON.stringify(report, null, 2));
      else {
        io.out(
          table(
            report.groups.map((g) => ({
              group: g.group,
              subject: `${g.subject} v${g.schema.version}${g.schema.created ? ' (new)' : ''}`,
              schema_id: g.schema.id,
              table: `${g.table.table} ${g.table.action === 'none' ? 'unchanged' : g.table.action === 'create' ? 'created' : `+${[...g.table.addColumns, ...g.table.makeNullable].join(',')}`}`,
              ttl: duration(g.online.ttlSeconds ?? undefined),
              keys_retimed: g.online.entriesRetimed,
            })),
          ),
        );
        io.out(
          `topics: ${report.topics.created.length} created, ${report.topics.unchanged.length} unchanged, ${report.topics.drift.length} differences`,
        );
      }
      return report.topics.drift.some((d) => !d.fixed) ? 3 : 0;
    } catch (error) {
      if (error instanceof FeatureGroupRefusedError) {
        if (json) io.out(JSON.stringify({ refused: error.plans.filter((p) => p.refusals.length > 0) }, null, 2));
        const lines = error.plans
          .filter((p) => p.refusals.length > 0)
          .flatMap((p) => p.refusals.map((r) => `  ${p.group}: ${r}`));
        throw new CliError(`incompatible change refused, nothing was applied:\n${lines.join('\n')}`, 1);
      }
      if (error instanceof RheoError) throw new CliError(`${error.code}: ${error.message}`);
      throw error;
    } finally {
      await admin.disconnect();
    }
  });
}

export const featuresCommand = defineCommand({
  name: 'features',
  summary: 'feature groups: list, describe, apply (schemas, topics, tables, online TTL), reconcile online with offline',
  args: FEATURES_ARGS,
  async run(args, io) {
    const json = args.flags.json;
    const project = await openCliProject(args.flags.project);
    const registry = project.features;
    switch (args.action) {
      case 'list': {
        const groups = registry.list();
        if (json) io.out(JSON.stringify(groups, null, 2));
        else
          io.out(
            table(
              groups.map((g) => ({
                group: g.name,
                entity: g.entity,
                features: g.features.map((f) => f.name).join(', '),
                ttl: duration(g.ttlSeconds),
                version: g.version,
                owner: g.owner ?? '',
                topic: featureTopic(g.name).name,
              })),
            ),
          );
        return 0;
      }
      case 'describe': {
        const config = loadConfig();
        const described = describeGroup(config, group(registry, args.positionals.group));
        if (json) {
          io.out(JSON.stringify(described, null, 2));
          return 0;
        }
        io.out(
          [
            `${described.group} — ${described.description}`,
            `  entity       ${described.entity}`,
            `  owner        ${described.owner ?? '(none)'}, declaration version ${described.version}`,
            `  ttl          ${duration(described.ttl_seconds ?? undefined)}`,
            `  topic        ${described.topic.name} (${described.topic.partitions} partitions, key: ${described.topic.key}), dead letters ${described.topic.dlq}`,
            `  subject      ${described.subject} (Avro record ${described.avro.namespace}.${described.avro.name})`,
            `  offline      ${described.offline.table} (ReplacingMergeTree, one row per event)`,
            `  online       ${described.online.key} = ${described.online.value}, expires at ${described.online.expiry}`,
            '',
            table(described.features.map((f) => ({ ...f, default: f.default ?? '' }))),
          ].join('\n'),
        );
        return 0;
      }
      case 'apply':
        return apply(io, project, args.flags['dry-run'], json);
      case 'reconcile': {
        const decl = group(registry, args.positionals.group);
        const config = loadConfig();
        const report = await withStores(config, ({ online, offline }) => reconcile(decl, online, offline)).catch(
          (error: unknown) => {
            throw new CliError(`cannot reconcile ${decl.name}: ${errorMessage(error)}`);
          },
        );
        if (json) io.out(JSON.stringify(report, null, 2));
        else {
          io.out(
            `${report.group}: ${report.entitiesOffline} entities with a valid offline value, ${report.entitiesOnline} online, ` +
              `${report.matching} matching, ${report.expired} expired, ${report.skippedExpiring} expiring now (skipped), ` +
              `${report.differences} difference${report.differences === 1 ? '' : 's'}`,
          );
          if (report.examples.length > 0)
            io.out(
              table(
                report.examples.map((d) => ({
                  entity_id: d.entityId,
                  kind: d.kind,
                  online: d.online ? `${d.online.eventId} @${new Date(d.online.eventTime).toISOString()}` : '',
                  offline: d.offline ? `${d.offline.eventId} @${new Date(d.offline.eventTime).toISOString()}` : '',
                })),
              ),
            );
        }
        return report.differences > 0 ? 3 : 0;
      }
    }
  },
});
