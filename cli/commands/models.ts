/**
 * `rheo models …`: the model registry from the command line. Reads fold `models.lifecycle`; writes
 * are registry commands (refused with the rule they break, producing nothing) attributed to `--actor`
 * (default `user:<login>`, or RHEO_ACTOR).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { RheoError } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/log.ts';
import { RegistryClient } from '../../registry/client.ts';
import type { RegistryCommand } from '../../registry/commands.ts';
import { modelDetail, modelSummary, productionAt, requireModel, resolveVersion, versionDetail } from '../../registry/queries.ts';
import type { RegistryState, Stage } from '../../registry/types.ts';
import type { ValueType } from '../../schemas/index.ts';
import { type CliCommand, CliError, type CliIO } from '../command.ts';
import { table } from '../format.ts';

const USAGE = `rheo models list [--json]
       rheo models describe <model> [--version V] [--json]
       rheo models register <model> --version V --artifact FILE.onnx --inputs name:TYPE[@group],… --outputs name:TYPE,…
                            [--metric k=v]… [--param k=v]… [--card FILE.md] [--reason R] [--json]
       rheo models request <model> --version V --to staging|production|development|archived [--check ITEM]… [--reason R]
       rheo models approve <model> (--version V | --request ID) [--confirm all|ITEM]… [--reason R]
       rheo models reject <model> (--version V | --request ID) --reason R
       rheo models traffic <model> [--canary V:PCT|none] [--ab V:PCT[:SALT]|none] [--shadow V,…|none] [--reason R]
       rheo models rollback <model> [--to V] [--reason R]
       rheo models archive <model> --version V [--reason R]
       rheo models alias <model> <alias> (<version> | --remove)
       rheo models history <model> [--at ISO-TIME|EPOCH-MS] [--json]
  every write takes --actor user:<id> (default user:$USER) and --json`;

const OPTIONS = {
  json: { type: 'boolean' },
  version: { type: 'string' },
  artifact: { type: 'string' },
  inputs: { type: 'string' },
  outputs: { type: 'string' },
  metric: { type: 'string', multiple: true },
  param: { type: 'string', multiple: true },
  card: { type: 'string' },
  reason: { type: 'string' },
  to: { type: 'string' },
  check: { type: 'string', multiple: true },
  request: { type: 'string' },
  confirm: { type: 'string', multiple: true },
  canary: { type: 'string' },
  ab: { type: 'string' },
  shadow: { type: 'string' },
  at: { type: 'string' },
  remove: { type: 'boolean' },
  actor: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`, 2);
  }
}

const STAGE_NAMES: Record<string, Stage> = {
  development: 'DEVELOPMENT',
  staging: 'STAGING',
  production: 'PRODUCTION',
  archived: 'ARCHIVED',
};
const VALUE_TYPES = new Set(['DOUBLE', 'LONG', 'BOOLEAN']);

export function parseFields(text: string, what: string): Array<{ name: string; type: ValueType; feature_group: string | null }> {
  return text.split(',').map((entry) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z]+)(?:@([a-z][a-z0-9_]*))?$/.exec(entry.trim());
    const type = match?.[2]?.toUpperCase();
    if (!match || !type || !VALUE_TYPES.has(type))
      throw new CliError(`--${what}: "${entry}" is not name:DOUBLE|LONG|BOOLEAN[@feature_group]`, 2);
    return { name: match[1] as string, type: type as ValueType, feature_group: match[3] ?? null };
  });
}

function keyValues(items: string[] | undefined, numeric: boolean, what: string): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--${what} ${item}: expected key=value`, 2);
    const key = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    const n = Number(raw);
    if (numeric && !Number.isFinite(n)) throw new CliError(`--${what} ${key}: ${raw} is not a number`, 2);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(n) ? n : raw;
  }
  return out;
}

/** `V:PCT` → route; `none` → null; undefined when the flag was not given. */
function route(text: string | undefined, what: string, withSalt = false) {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  const [version, percent, salt] = text.split(':');
  const p = Number(percent);
  if (!version || !Number.isFinite(p))
    throw new CliError(`--${what} ${text}: expected VERSION:PERCENT${withSalt ? '[:SALT]' : ''} or none`, 2);
  return { version, percent: p, ...(withSalt && salt ? { salt } : {}) };
}

function actorOf(values: Values): string {
  const actor = values.actor ?? process.env.RHEO_ACTOR ?? `user:${userInfo().username}`;
  if (!/^(user|service):[A-Za-z0-9_.@-]+$/.test(actor))
    throw new CliError(`--actor ${actor}: expected user:<id> or service:<name>`, 2);
  return actor;
}

function need<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw new CliError(`${flag} is required\nusage: ${USAGE}`, 2);
  return value;
}

function show(io: CliIO, json: boolean, value: unknown, text: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : text());
}

const time = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'the model registry: register, list, describe, request/approve/reject transitions, traffic, rollback',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv);
    const [action = 'list', model, ...rest] = positionals;
    const json = values.json ?? false;
    const config = loadConfig();
    const logger = createLogger('cli', { level: process.env.RHEO_LOG_LEVEL ?? 'warn' });
    let client: RegistryClient;
    try {
      client = await RegistryClient.connect(config, logger);
    } catch (error) {
      throw new CliError(
        `cannot read the registry log from ${config.kafka.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    try {
      return await runAction(client, io, action, model, rest, values, json);
    } catch (error) {
      if (error instanceof RheoError)
        throw new CliError(`${error.code}: ${error.message}`, error.code === 'MODEL_NOT_FOUND' ? 4 : 1);
      throw error;
    } finally {
      await client.close();
    }
  },
};

async function runAction(
  client: RegistryClient,
  io: CliIO,
  action: string,
  model: string | undefined,
  rest: string[],
  values: Values,
  json: boolean,
): Promise<number> {
  const state = client.state;
  const named = () => need(model, '<model>');
  switch (action) {
    case 'list': {
      const models = [...state.models.values()].map(modelSummary);
      show(io, json, models, () =>
        table(
          models.map((m) => ({
            ...m,
            shadow: m.shadow.join(','),
            aliases: Object.entries(m.aliases)
              .map(([a, v]) => `${a}=${v}`)
              .join(','),
            last_event_time: time(m.last_event_time),
          })),
          [
            'name',
            'versions',
            'latest',
            'production',
            'canary',
            'ab',
            'shadow',
            'pending_requests',
            'aliases',
            'last_event_time',
          ],
        ),
      );
      return 0;
    }
    case 'describe': {
      const m = requireModel(state, named());
      if (values.version) {
        const v = versionDetail(resolveVersion(m, values.version));
        show(io, json, v, () => describeVersion(v));
        return 0;
      }
      const detail = modelDetail(m);
      show(io, json, detail, () => describeModel(detail));
      return 0;
    }
    case 'history': {
      const m = requireModel(state, named());
      if (values.at) {
        const at = /^\d+$/.test(values.at) ? Number(values.at) : Date.parse(values.at);
        if (!Number.isFinite(at)) throw new CliError(`--at ${values.at}: not a time`, 2);
        const period = productionAt(state, m.name, at);
        show(io, json, { at, period: period ?? null }, () =>
          period
            ? `${m.name} at ${time(at)}: ${period.version} (in production since ${time(period.from)} by ${period.via}; requested by ${period.requestedBy ?? '-'}, approved by ${period.approvedBy ?? '-'}, actor ${period.actor})`
            : `${m.name} had no production version at ${time(at)}`,
        );
        return 0;
      }
      show(io, json, m.productionHistory, () =>
        table(
          m.productionHistory.map((p) => ({
            version: p.version,
            from: time(p.from),
            to: time(p.to),
            via: p.via,
            requested_by: p.requestedBy,
            approved_by: p.approvedBy,
            actor: p.actor,
          })),
        ),
      );
      return 0;
    }
    case 'register': {
      const name = named();
      const settings = loadServingSettings(loadConfig());
      const path = need(values.artifact, '--artifact');
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (error) {
        throw new CliError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const result = await client.register(openArtifactStore(settings), bytes, {
        model: name,
        version: need(values.version, '--version'),
        actor: actorOf(values),
        inputs: parseFields(need(values.inputs, '--inputs'), 'inputs'),
        outputs: parseFields(need(values.outputs, '--outputs'), 'outputs').map(({ name: n, type }) => ({ name: n, type })),
        metrics: keyValues(values.metric, true, 'metric') as Record<string, number>,
        params: keyValues(values.param, false, 'param'),
        ...(values.card ? { modelCard: readFileSync(values.card, 'utf8') } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
      });
      const v = versionDetail(resolveVersion(requireModel(result.state, name), values.version as string));
      show(io, json, v, () => `registered ${name}@${v.version} (${v.stage}) sha256 ${v.sha256} → ${v.artifact_uri}`);
      return 0;
    }
    default: {
      const command = toCommand(action, named(), rest, values);
      const { events, state: after } = await client.execute(command);
      const summary = modelSummary(requireModel(after, command.model));
      show(io, json, { events: events.map((e) => ({ event_id: e.event_id, event_type: e.event_type })), model: summary }, () =>
        report(
          command,
          events.map((e) => e.event_type),
          after,
        ),
      );
      return 0;
    }
  }
}

function toCommand(action: string, model: string, rest: string[], values: Values): RegistryCommand {
  const actor = actorOf(values);
  const reason = values.reason ? { reason: values.reason } : {};
  switch (action) {
    case 'request': {
      const to = STAGE_NAMES[need(values.to, '--to').toLowerCase()];
      if (!to) throw new CliError(`--to ${values.to}: expected development, staging, production or archived`, 2);
      return {
        kind: 'request',
        model,
        version: need(values.version, '--version'),
        to,
        actor,
        ...reason,
        ...(values.check ? { checklist: values.check } : {}),
      };
    }
    case 'approve':
    case 'reject': {
      if (!values.version && !values.request) throw new CliError('--version or --request is required', 2);
      const which = {
        ...(values.version ? { version: values.version } : {}),
        ...(values.request ? { requestId: values.request } : {}),
      };
      if (action === 'reject') return { kind: 'reject', model, actor, reason: need(values.reason, '--reason'), ...which };
      const confirm = values.confirm?.includes('all') ? (true as const) : values.confirm;
      return { kind: 'approve', model, actor, ...which, ...reason, ...(confirm ? { confirm } : {}) };
    }
    case 'traffic': {
      const canary = route(values.canary, 'canary');
      const ab = route(values.ab, 'ab', true);
      const shadow =
        values.shadow === undefined ? undefined : values.shadow === 'none' ? [] : values.shadow.split(',').map((s) => s.trim());
      if (canary === undefined && ab === undefined && shadow === undefined)
        throw new CliError('give --canary, --ab and/or --shadow', 2);
      return {
        kind: 'traffic',
        model,
        actor,
        ...reason,
        ...(canary !== undefined ? { canary } : {}),
        ...(ab !== undefined ? { ab } : {}),
        ...(shadow ? { shadow } : {}),
      };
    }
    case 'rollback':
      return { kind: 'rollback', model, actor, ...reason, ...(values.to ? { to: values.to } : {}) };
    case 'archive':
      return { kind: 'archive', model, version: need(values.version, '--version'), actor, ...reason };
    case 'alias': {
      const [alias, version] = rest;
      if (!alias || (!version && !values.remove))
        throw new CliError('usage: rheo models alias <model> <alias> (<version> | --remove)', 2);
      return { kind: 'alias', model, alias, version: values.remove ? null : (version as string), actor };
    }
    default:
      throw new CliError(`unknown action "${action}"\nusage: ${USAGE}`, 2);
  }
}

function report(command: RegistryCommand, events: string[], state: RegistryState): string {
  const m = requireModel(state, command.model);
  const t = m.traffic;
  const routes = [
    `production ${t.production_version ?? 'none'}`,
    ...(t.canary ? [`canary ${t.canary.version} ${t.canary.percent}%`] : []),
    ...(t.ab_split ? [`A/B ${t.ab_split.version} ${t.ab_split.percent}%`] : []),
    ...(t.shadow_versions.length ? [`shadow ${t.shadow_versions.join(',')}`] : []),
  ].join(', ');
  const pending = [...m.requests.values()].filter((r) => r.status === 'PENDING');
  const lines = [`${command.kind}: ${events.join(' + ')}`, `${m.name}: ${routes}`];
  for (const r of pending)
    lines.push(
      `pending request ${r.requestId}: ${r.version} ${r.from} → ${r.to} by ${r.requestedBy} (needs approval by someone else)`,
    );
  return lines.join('\n');
}

function describeModel(d: ReturnType<typeof modelDetail>): string {
  const versions = table(
    d.versions.map((v) => ({
      version: v.version,
      stage: v.stage,
      registered: time(v.registered_at),
      by: v.registered_by,
      sha256: v.sha256.slice(0, 12),
      metrics: v.metrics,
    })),
  );
  const requests = table(
    d.requests.map((r) => ({
      request: r.requestId,
      version: r.version,
      move: `${r.from} → ${r.to}`,
      by: r.requestedBy,
      status: r.status,
      decided_by: r.decidedBy,
    })),
  );
  const history = table(
    d.production_history.map((p) => ({
      version: p.version,
      from: time(p.from),
      to: time(p.to),
      via: p.via,
      approved_by: p.approvedBy,
    })),
  );
  return [
    `${d.name}: production ${d.production ?? 'none'}${d.canary ? `, canary ${d.canary}` : ''}${d.ab ? `, A/B ${d.ab}` : ''}`,
    '',
    'versions',
    versions,
    '',
    'requests',
    requests,
    '',
    'production history',
    history,
  ].join('\n');
}

function describeVersion(v: ReturnType<typeof versionDetail>): string {
  return [
    `${v.version} (${v.stage}), registered ${time(v.registered_at)} by ${v.registered_by}`,
    `artifact ${v.artifact_uri} (${v.size_bytes} bytes, sha256 ${v.sha256})`,
    `inputs  ${v.inputs.map((i) => `${i.name}:${i.type}${i.feature_group ? `@${i.feature_group}` : ''}`).join(', ')}`,
    `outputs ${v.outputs.map((o) => `${o.name}:${o.type}`).join(', ')}`,
    `metrics ${JSON.stringify(v.metrics)}  params ${JSON.stringify(v.params)}`,
  ].join('\n');
}
