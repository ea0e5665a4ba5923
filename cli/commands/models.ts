/**
 * `rheo models …`: the model registry from the command line. Reads fold `models.lifecycle`; writes
 * are registry commands (refused with the rule they break, producing nothing) attributed to `--actor`
 * (default `user:<login>`, or RHEO_ACTOR).
 *
 * `register` takes a model trained anywhere (scikit-learn through skl2onnx, or Rheo's own trainer):
 * with `--project`, a model the project declares gets by default the inputs a Rheo-trained version of
 * it registers with (names in order, types, feature groups), the output its declared task scores from
 * (chosen among the graph's outputs) and, for a binary task, its decision threshold and labels;
 * `--inputs`, `--outputs` and `--param` still win.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { defineActions, type ParsedActions } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/log.ts';
import type { ProjectContext } from '../../projects/context.ts';
import { type ModelDecl, requestSourceOf, type TaskDecl } from '../../projects/declaration.ts';
import { PROJECT_FILE } from '../../projects/load.ts';
import { RegistryClient } from '../../registry/client.ts';
import type { RegistryCommand } from '../../registry/commands.ts';
import { modelDetail, modelSummary, productionAt, requireModel, resolveVersion, versionDetail } from '../../registry/queries.ts';
import type { RegistryState, Stage } from '../../registry/types.ts';
import type { RegisterRequest } from '../../registry/writer.ts';
import type { ModelOutput, ValueType } from '../../schemas/index.ts';
import { describeValue, type GraphInterface, type GraphValue, inspectOnnx } from '../../serving/onnx/inspect.ts';
import { registeredInputs, resolveFeatures, type TrainingSpec } from '../../trainers/spec.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';
import { declaredActor } from '../settings.ts';

const json = { type: 'boolean', description: 'print JSON' } as const;
const actor = { type: 'string', value: 'user:<id>', description: 'who acts (default user:$USER, or RHEO_ACTOR)' } as const;
const reason = { type: 'string', value: 'R', description: 'why, recorded with the event' } as const;
const model = { name: 'model', description: 'the model name', required: true } as const;
const version = { type: 'string', value: 'V', required: true, description: 'the version' } as const;
const versionOrRequest = {
  version: { type: 'string', value: 'V', description: 'the version whose pending request is decided' },
  request: { type: 'string', value: 'ID', description: 'the request id' },
} as const;

const MODELS_ARGS = defineActions({
  program: 'rheo models',
  defaultAction: 'list',
  actions: {
    list: { flags: { json } },
    describe: {
      positionals: [model],
      flags: { version: { type: 'string', value: 'V', description: 'describe this version (or alias) instead' }, json },
    },
    register: {
      positionals: [model],
      flags: {
        version,
        artifact: { type: 'string', value: 'FILE.onnx', required: true, description: 'the ONNX model file' },
        project: PROJECT_FLAG,
        inputs: {
          type: 'string',
          value: 'name:TYPE[@group],…',
          description: "inputs in order (TYPE: DOUBLE|LONG|BOOLEAN); default: the project's declared model's",
        },
        outputs: {
          type: 'string',
          value: 'name:TYPE,…',
          description: "outputs in order, the first scored; default: the graph's output for the declared task",
        },
        metric: { type: 'list', value: 'k=v', description: 'a numeric metric of the version' },
        param: { type: 'list', value: 'k=v', description: 'a hyperparameter of the version' },
        card: { type: 'string', value: 'FILE.md', description: 'the model card' },
        reason,
        actor,
        json,
      },
      notes: [
        'Without --inputs or --outputs, the model is read from the project (--project DIR, else RHEO_PROJECT, else the',
        "current folder): its declared inputs, and the graph output its task scores from (binary: the positive class's",
        'probability, e.g. skl2onnx\'s "probabilities" column 1; multiclass: one column per class; regression: one value).',
      ],
    },
    request: {
      positionals: [model],
      flags: {
        version,
        to: {
          type: 'string',
          value: 'staging|production|development|archived',
          required: true,
          description: 'the stage asked for',
        },
        check: { type: 'list', value: 'ITEM', description: 'a checklist item the approver must confirm' },
        reason,
        actor,
        json,
      },
    },
    approve: {
      positionals: [model],
      flags: {
        ...versionOrRequest,
        confirm: { type: 'list', value: 'all|ITEM', description: 'a checklist item confirmed (all: every one)' },
        reason,
        actor,
        json,
      },
      notes: ['Name the request with --version or --request.'],
    },
    reject: {
      positionals: [model],
      flags: { ...versionOrRequest, reason: { ...reason, required: true }, actor, json },
      notes: ['Name the request with --version or --request.'],
    },
    traffic: {
      positionals: [model],
      flags: {
        canary: { type: 'string', value: 'V:PCT|none', description: 'send PCT% of traffic to version V' },
        ab: { type: 'string', value: 'V:PCT[:SALT]|none', description: 'split PCT% to version V by a hash of the entity id' },
        shadow: { type: 'string', value: 'V,…|none', description: 'score these versions too, without returning them' },
        reason,
        actor,
        json,
      },
      notes: ['Give --canary, --ab and/or --shadow.'],
    },
    rollback: {
      positionals: [model],
      flags: { to: { type: 'string', value: 'V', description: 'the version to go back to' }, reason, actor, json },
    },
    archive: { positionals: [model], flags: { version, reason, actor, json } },
    alias: {
      positionals: [
        model,
        { name: 'alias', description: 'the alias', required: true },
        { name: 'version', description: 'the version it names' },
      ],
      flags: { remove: { type: 'boolean', description: 'drop the alias' }, actor, json },
      notes: ['Give <version>, or --remove.'],
    },
    history: {
      positionals: [model],
      flags: { at: { type: 'string', value: 'ISO-TIME|EPOCH-MS', description: 'the production version at this time' }, json },
    },
  },
  notes: ['Every write takes --actor user:<id> (default user:$USER) and --json.'],
});

type ModelsArgs = ParsedActions<typeof MODELS_ARGS>;
/** The actions that are registry commands (everything but the reads and `register`). */
type CommandArgs = Exclude<ModelsArgs, { action: 'list' | 'describe' | 'history' | 'register' }>;

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

function actorOf(given: string | undefined): string {
  const actor = given ?? declaredActor() ?? `user:${userInfo().username}`;
  if (!/^(user|service):[A-Za-z0-9_.@-]+$/.test(actor))
    throw new CliError(`--actor ${actor}: expected user:<id> or service:<name>`, 2);
  return actor;
}

function show(io: CliIO, json: boolean, value: unknown, text: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : text());
}

const time = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export const modelsCommand = defineCommand({
  name: 'models',
  summary: 'the model registry: register, list, describe, request/approve/reject transitions, traffic, rollback',
  args: MODELS_ARGS,
  async run(args, io) {
    const config = loadConfig();
    const logger = createLogger('cli', { defaultLevel: 'warn' });
    try {
      // A registration's artifact and declared interface are settled before the registry is read.
      const artifact = args.action === 'register' ? await readArtifact(args.positionals.model, args.flags) : undefined;
      let client: RegistryClient;
      try {
        client = await RegistryClient.connect(config, logger);
      } catch (error) {
        throw new CliError(
          `cannot read the registry log from ${config.kafka.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      try {
        return await runAction(client, io, args, artifact);
      } finally {
        await client.close();
      }
    } catch (error) {
      if (error instanceof RheoError)
        throw new CliError(`${error.code}: ${error.message}`, error.code === 'MODEL_NOT_FOUND' ? 4 : 1);
      throw error;
    }
  },
});

/** The artifact of a registration, read, and the interface it is declared with. */
interface Artifact {
  bytes: Uint8Array;
  declared: Registration;
}

async function readArtifact(
  model: string,
  flags: { artifact: string; inputs?: string | undefined; outputs?: string | undefined; project?: string | undefined },
): Promise<Artifact> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(flags.artifact);
  } catch (error) {
    throw new CliError(`cannot read ${flags.artifact}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { bytes, declared: await registrationOf(model, flags, bytes) };
}

async function runAction(client: RegistryClient, io: CliIO, args: ModelsArgs, artifact?: Artifact): Promise<number> {
  const state = client.state;
  const json = args.flags.json;
  switch (args.action) {
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
      const m = requireModel(state, args.positionals.model);
      const { version } = args.flags;
      if (version) {
        const v = versionDetail(resolveVersion(m, version));
        show(io, json, v, () => describeVersion(v));
        return 0;
      }
      const detail = modelDetail(m);
      show(io, json, detail, () => describeModel(detail));
      return 0;
    }
    case 'history': {
      const m = requireModel(state, args.positionals.model);
      const given = args.flags.at;
      if (given) {
        const at = /^\d+$/.test(given) ? Number(given) : Date.parse(given);
        if (!Number.isFinite(at)) throw new CliError(`--at ${given}: not a time`, 2);
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
      const name = args.positionals.model;
      const values = args.flags;
      const settings = loadServingSettings(loadConfig());
      const { bytes, declared } = artifact ?? (await readArtifact(name, values));
      const params = { ...declared.params, ...keyValues(values.param, false, 'param') };
      const result = await client.register(openArtifactStore(settings), bytes, {
        model: name,
        version: values.version,
        actor: actorOf(values.actor),
        inputs: declared.inputs,
        outputs: declared.outputs,
        metrics: keyValues(values.metric, true, 'metric') as Record<string, number>,
        params,
        ...(values.card ? { modelCard: readFileSync(values.card, 'utf8') } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
      });
      const v = versionDetail(resolveVersion(requireModel(result.state, name), values.version));
      show(io, json, { ...v, scoring: result.scoring, ...(declared.from ? { declared_by: declared.from } : {}) }, () =>
        [
          `registered ${name}@${v.version} (${v.stage}) sha256 ${v.sha256} → ${v.artifact_uri}`,
          ...declaredLines(declared, params),
          result.scoring.description,
        ].join('\n'),
      );
      return 0;
    }
    default: {
      const command = toCommand(args);
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

/** The interface a registration declares, and what of it came from the project's declared model. */
export interface Registration {
  inputs: RegisterRequest['inputs'];
  outputs: ModelOutput[];
  /** The declared decision rule of a binary model (`decision_threshold`, labels), as the trainer registers it. */
  params: Record<string, number | string>;
  /** Set when the project was read: which project and task, and which parts it gave. */
  from?: { project: string; model: string; task: TaskDecl['type']; inputs: boolean; outputs: boolean; params: boolean };
}

/**
 * What `register` declares: `--inputs`/`--outputs` when given, else the project's declared model's
 * inputs and the graph output its task scores from. The project is read when `--project` is given
 * or something is left out; without one, the refusal says both ways.
 */
async function registrationOf(
  model: string,
  flags: { inputs?: string | undefined; outputs?: string | undefined; project?: string | undefined },
  bytes: Uint8Array,
): Promise<Registration> {
  const given = {
    ...(flags.inputs !== undefined ? { inputs: parseFields(flags.inputs, 'inputs') } : {}),
    ...(flags.outputs !== undefined
      ? { outputs: parseFields(flags.outputs, 'outputs').map(({ name, type }) => ({ name, type })) }
      : {}),
  };
  if (flags.project === undefined && given.inputs && given.outputs)
    return { inputs: given.inputs, outputs: given.outputs, params: {} };
  let project: ProjectContext;
  try {
    project = await openCliProject(flags.project);
  } catch (error) {
    if (flags.project !== undefined) throw error;
    const missing = [given.inputs ? undefined : '--inputs', given.outputs ? undefined : '--outputs'].filter(Boolean);
    throw new CliError(
      `${missing.join(' and ')} not given, and there is no project to take them from (${errorMessage(error)}).\n` +
        `Give --inputs name:TYPE[@group],… and --outputs name:TYPE,…, or --project DIR whose ${PROJECT_FILE} declares ${model}.`,
      2,
    );
  }
  const graph = given.outputs ? undefined : await inspectOnnx(bytes);
  return registrationFromProject(project, model, given, graph);
}

/**
 * The registration of a model the project declares (pure): the given inputs and outputs, else its
 * declared inputs (`declaredInputs`) and the graph output its task scores from (`outputsForTask`).
 * A name the project does not declare is refused, listing the ones it does.
 */
export function registrationFromProject(
  project: ProjectContext,
  model: string,
  given: { inputs?: RegisterRequest['inputs']; outputs?: ModelOutput[] },
  graph: GraphInterface | undefined,
): Registration {
  const decl = declaredModel(project, model);
  const inputs = given.inputs ?? declaredInputs(project, model);
  let outputs = given.outputs;
  if (!outputs) {
    if (!graph) throw new Error('registrationFromProject: the graph is needed to choose the outputs');
    outputs = outputsForTask(decl.task, graph);
  }
  const decision = project.trainingSpecs[model]?.decision;
  const params: Record<string, number | string> = decision
    ? { decision_threshold: decision.threshold, positive_label: decision.positiveLabel, negative_label: decision.negativeLabel }
    : {};
  return {
    inputs,
    outputs,
    params,
    from: {
      project: project.project.name,
      model,
      task: decl.task.type,
      inputs: !given.inputs,
      outputs: !given.outputs,
      params: decision !== undefined,
    },
  };
}

function declaredModel(project: ProjectContext, model: string): ModelDecl {
  const decl = project.project.models.find((m) => m.name === model);
  if (decl) return decl;
  const names = project.project.models.map((m) => m.name);
  throw new CliError(
    `project ${project.project.name} (${project.file}) declares no model "${model}"; it declares ${names.join(', ') || 'none'}.\n` +
      'Register under a declared name, declare the model in the project, or give --inputs and --outputs without --project.',
  );
}

/**
 * The inputs a version of a declared model registers with — the same list a Rheo-trained version of
 * it registers (the trainer's `resolveFeatures` then `registeredInputs`): bare names in declared
 * order, types from the feature declarations, the feature group of each `group:feature` input.
 */
export function declaredInputs(project: ProjectContext, model: string): RegisterRequest['inputs'] {
  const decl = declaredModel(project, model);
  // A multiclass model has no training spec; its inputs resolve the same way the trainer's would.
  const spec: Pick<TrainingSpec, 'model' | 'features' | 'requestInputs'> = project.trainingSpecs[model] ?? {
    model,
    features: decl.inputs.map((ref) => (ref.startsWith('request:') ? ref.slice('request:'.length) : ref)),
    requestInputs: requestSourceOf(project.project, decl) ?? { name: 'request', description: '', features: [] },
  };
  return registeredInputs(resolveFeatures(spec, project.features));
}

/** How well a graph output fits a task's score (higher is better; 0: it does not). */
function fitScore(task: TaskDecl, value: GraphValue): number {
  if (value.elementType !== 'float' && value.elementType !== 'double') return 0;
  if (value.shape.length !== 1 && value.shape.length !== 2) return 0;
  const width = value.shape.length === 1 ? 1 : value.shape[1];
  if (typeof width !== 'number') return 0;
  const probability = /prob/i.test(value.name) ? 1 : 0;
  switch (task.type) {
    case 'binary':
      // Two columns (the positive class is column 1) over one, a probability's name over another.
      return width === 2 ? 3 + probability * 2 : width === 1 ? 2 + probability * 2 : 0;
    case 'multiclass':
      return width === task.classes.length ? 1 + probability : 0;
    case 'regression':
      return width === 1 ? 1 : 0;
  }
}

const WANTED: Record<TaskDecl['type'], string> = {
  binary: "a float tensor [N, 2] of the two classes' probabilities, or [N] / [N, 1] of the positive class's",
  multiclass: "a float tensor [N, k] of the classes' probabilities, one column per declared class",
  regression: 'a float tensor [N] or [N, 1] of the predicted value',
};

/**
 * The output a declared task scores from, chosen among the graph's outputs (pure): binary, the
 * positive class's probability (skl2onnx's `probabilities` [N, 2] — column 1 is scored — or Rheo's
 * `probability`); multiclass, the [N, k] probabilities of the k declared classes; regression, the one
 * value (skl2onnx's `variable` [N, 1], Rheo's `prediction`). MODEL_INVALID, listing the graph's
 * outputs, when none fits or several fit equally well.
 */
export function outputsForTask(task: TaskDecl, graph: GraphInterface): ModelOutput[] {
  const scored = graph.outputs.map((value) => ({ value, score: fitScore(task, value) }));
  const best = Math.max(0, ...scored.map((s) => s.score));
  const chosen = scored.filter((s) => s.score === best && best > 0).map((s) => s.value);
  const outputs = graph.outputs.map(describeValue).join(', ') || 'none';
  const wanted = task.type === 'multiclass' ? WANTED.multiclass.replace('k]', `${task.classes.length}]`) : WANTED[task.type];
  const refuse = (reason: string): never => {
    throw new RheoError('MODEL_INVALID', `${reason}; name the output to score from with --outputs NAME:DOUBLE`, {
      details: { task: task.type, graph_outputs: graph.outputs.map(describeValue) },
    });
  };
  if (chosen.length === 0) refuse(`no output of the graph fits a ${task.type} model (${wanted}); its outputs are ${outputs}`);
  if (chosen.length > 1)
    refuse(`more than one output of the graph fits a ${task.type} model equally well (${chosen.map(describeValue).join(', ')})`);
  return [{ name: (chosen[0] as GraphValue).name, type: 'DOUBLE' }];
}

/** What the project gave a registration, one line each, for the text output. */
function declaredLines(declared: Registration, params: Record<string, unknown>): string[] {
  const from = declared.from;
  if (!from) return [];
  const fields = (list: ReadonlyArray<{ name: string; type: string; feature_group?: string | null }>) =>
    list.map((f) => `${f.name}:${f.type}${f.feature_group ? `@${f.feature_group}` : ''}`).join(', ');
  const where = `project ${from.project}, model ${from.model}`;
  return [
    ...(from.inputs ? [`inputs from ${where}: ${fields(declared.inputs)}`] : []),
    ...(from.outputs ? [`output for its ${from.task} task: ${fields(declared.outputs)}`] : []),
    ...(from.params
      ? [
          `decision from ${where}: ${params.positive_label} when the score ≥ ${params.decision_threshold}, else ${params.negative_label}`,
        ]
      : []),
  ];
}

function toCommand(args: CommandArgs): RegistryCommand {
  const model = args.positionals.model;
  const actor = actorOf(args.flags.actor);
  const reason = 'reason' in args.flags && args.flags.reason ? { reason: args.flags.reason } : {};
  switch (args.action) {
    case 'request': {
      const values = args.flags;
      const to = STAGE_NAMES[values.to.toLowerCase()];
      if (!to) throw new CliError(`--to ${values.to}: expected development, staging, production or archived`, 2);
      return {
        kind: 'request',
        model,
        version: values.version,
        to,
        actor,
        ...reason,
        ...(values.check.length > 0 ? { checklist: values.check } : {}),
      };
    }
    case 'approve':
    case 'reject': {
      const values = args.flags;
      if (!values.version && !values.request) throw new CliError('--version or --request is required', 2);
      const which = {
        ...(values.version ? { version: values.version } : {}),
        ...(values.request ? { requestId: values.request } : {}),
      };
      if (args.action === 'reject') return { kind: 'reject', model, actor, reason: args.flags.reason, ...which };
      const given = args.flags.confirm;
      const confirm = given.includes('all') ? (true as const) : given.length > 0 ? given : undefined;
      return { kind: 'approve', model, actor, ...which, ...reason, ...(confirm ? { confirm } : {}) };
    }
    case 'traffic': {
      const values = args.flags;
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
      return { kind: 'rollback', model, actor, ...reason, ...(args.flags.to ? { to: args.flags.to } : {}) };
    case 'archive':
      return { kind: 'archive', model, version: args.flags.version, actor, ...reason };
    case 'alias': {
      const { alias, version } = args.positionals;
      if (!version && !args.flags.remove) throw new CliError(`give <version> or --remove\n\n${modelsCommand.usage}`, 2);
      return { kind: 'alias', model, alias, version: args.flags.remove ? null : (version as string), actor };
    }
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
