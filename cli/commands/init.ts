/**
 * `rheo init [DIR] [--name NAME] [--json]`: a new Rheo project in DIR (default the current folder).
 * Writes `rheo.project.ts` — a small, valid, commented starter (one entity, one feature group, one
 * request input, one binary model with its gate, drift settings and rollout policy) — plus a
 * `README.md` and a `package.json` (type module, depending on rheo) when those are missing. An
 * existing `rheo.project.ts` is never overwritten: the command refuses with exit status 1.
 *
 * The starter imports only types from `rheo` (`import type`, erased when Node strips types), so it
 * loads before `npm install`; the loader validates it either way.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { defineArgs } from '../../kernel/args.ts';
import { PROJECT_FILE } from '../../projects/load.ts';
import { CliError, defineCommand } from '../command.ts';

const NAME = /^[a-z][a-z0-9_-]*$/;

const INIT_ARGS = defineArgs({
  program: 'rheo init',
  positionals: [{ name: 'dir', description: 'the project folder, created when missing (default: the current folder)' }],
  flags: {
    name: { type: 'string', value: '<name>', description: 'the project name (default: the folder name, lower-cased)' },
    json: { type: 'boolean', description: 'print what was written as JSON' },
  },
  notes: [`Refuses (exit 1) when DIR already holds a ${PROJECT_FILE}; README.md and package.json are written only when missing.`],
});

export interface InitFile {
  path: string;
  status: 'written' | 'kept';
}

export interface InitResult {
  dir: string;
  name: string;
  files: InitFile[];
}

/** The project name a folder gets when none is given: its name, lower-cased, other characters as `_`. */
export function defaultProjectName(dir: string): string {
  const base = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[^a-z]+/, '');
  return base === '' ? 'project' : base;
}

/** Writes the project files into `dir`; throws CliError (exit 1) when a project is already there. */
export function initProject(dir: string, name = defaultProjectName(dir)): InitResult {
  const folder = resolve(dir);
  if (!NAME.test(name))
    throw new CliError(
      `project name ${JSON.stringify(name)} must be lower case letters, digits, "_" or "-", starting with a letter`,
    );
  const projectFile = join(folder, PROJECT_FILE);
  if (existsSync(projectFile))
    throw new CliError(`${projectFile} already exists; rheo init never overwrites a project (edit it, or init another folder)`);
  mkdirSync(folder, { recursive: true });
  const files: InitFile[] = [];
  try {
    writeFileSync(projectFile, starterProject(name), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError(`${projectFile} already exists; rheo init never overwrites a project`);
    throw error;
  }
  files.push({ path: PROJECT_FILE, status: 'written' });
  for (const [file, text] of [
    ['README.md', starterReadme(name)],
    ['package.json', starterPackageJson(name)],
  ] as const) {
    const path = join(folder, file);
    if (existsSync(path)) files.push({ path: file, status: 'kept' });
    else {
      writeFileSync(path, text, { flag: 'wx' });
      files.push({ path: file, status: 'written' });
    }
  }
  return { dir: folder, name, files };
}

export const initCommand = defineCommand({
  name: 'init',
  summary: 'create a Rheo project (rheo.project.ts, README.md, package.json) in a folder',
  args: INIT_ARGS,
  async run(args, io) {
    const dir = args.positionals.dir ?? '.';
    const result = initProject(dir, args.flags.name);
    if (args.flags.json) {
      io.out(JSON.stringify(result, null, 2));
      return 0;
    }
    for (const file of result.files) io.out(`${file.status === 'written' ? 'wrote' : 'kept '} ${join(result.dir, file.path)}`);
    const shown = relative(process.cwd(), result.dir) || '.';
    io.out(`\nproject ${result.name} is ready; next: edit ${join(shown, PROJECT_FILE)}, then see ${join(shown, 'README.md')}`);
    return 0;
  },
});

function rheoVersion(): string {
  return (createRequire(import.meta.url)('rheo/package.json') as { version: string }).version;
}

function starterPackageJson(name: string): string {
  const pkg = {
    name,
    private: true,
    type: 'module',
    description: `Rheo project ${name}: its features, models and policies are declared in rheo.project.ts.`,
    dependencies: { rheo: `^${rheoVersion()}` },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function starterReadme(name: string): string {
  return `# ${name}

A [Rheo](https://www.npmjs.com/package/rheo) project: features, models and their policies, declared
as data in TypeScript. Node 24 runs \`rheo.project.ts\` as it is; there is no build step.

| file | what it is |
|---|---|
| \`rheo.project.ts\` | the declaration: entities, feature groups, request-time inputs, models (inputs, labels, task, training, quality gate, drift, rollout) |
| \`package.json\` | the folder as an npm package depending on \`rheo\` (\`npm install\` brings the CLI and its types) |

Every command reads the project in the current folder, or the one \`--project DIR\` or \`RHEO_PROJECT\` names.

## Next

\`\`\`sh
npm install                                   # rheo, its CLI and the types rheo.project.ts imports
npx rheo plan                                 # what would change on the cluster, registry and ClickHouse
npx rheo apply                                # make it so (topics, schemas, tables), idempotently
npx rheo produce customer_activity --file events.csv   # your feature events, checked against the group
npx rheo train --model checkout_abandonment   # train, gate and register a version
\`\`\`
`;
}

function starterProject(name: string): string {
  return `/**
 * The ${name} Rheo project. Everything here is data: Rheo derives topics, Avro schemas, tables and the
 * online layout from it, and the trainer, the gateway and the drift monitor read the same declaration.
 * Edit it, then \`npx rheo plan\` shows what would change.
 */
import type { ProjectDecl } from 'rheo';

export default {
  name: '${name}',
  description: 'What this project predicts, and for whom.',

  // The things features describe; their ids key every feature event.
  entities: [{ name: 'customer', description: 'A customer of the shop.', key: 'string' }],

  // Feature groups: each becomes the topic features.<name>, a ClickHouse table and an online entry.
  featureGroups: [
    {
      name: 'customer_activity',
      entity: 'customer',
      description: 'How a customer has used the shop lately.',
      owner: 'data-team',
      version: 1, // raise on every change
      ttlSeconds: 30 * 24 * 3600, // an online value is valid for 30 days after its event time
      features: [
        { name: 'sessions_7d', type: 'long', description: 'Sessions over the last 7 days.' },
        { name: 'orders_30d', type: 'long', description: 'Orders over the last 30 days.' },
        {
          name: 'avg_order_value_30d',
          type: 'double',
          nullable: true,
          description: 'Mean order value over 30 days, in EUR; null before the first order.',
        },
      ],
    },
  ],

  // Inputs that only exist when a prediction is asked for: they come with the request.
  requestInputs: [
    {
      name: 'checkout',
      description: 'The checkout being scored.',
      features: [
        { name: 'basket_value', type: 'double', description: 'Value of the basket, in EUR.' },
        { name: 'item_count', type: 'long', description: 'Items in the basket.' },
      ],
    },
  ],

  models: [
    {
      name: 'checkout_abandonment',
      description: 'The probability that a customer abandons the checkout being scored.',
      owner: 'data-team',
      entity: 'customer',
      // 'request:<input>' from the request, 'group:feature' from the feature store, in model input order.
      inputs: [
        'request:basket_value',
        'request:item_count',
        'customer_activity:sessions_7d',
        'customer_activity:orders_30d',
        'customer_activity:avg_order_value_30d',
      ],
      // Labels: feedback on the topic 'feedback', joined to the logged predictions by prediction id.
      labels: { from: 'predictions' },
      task: { type: 'binary', positiveLabel: 'abandoned', negativeLabel: 'completed', threshold: 0.5 },
      // Training knobs left out take Rheo's defaults (an MLP, six trials of random search).
      training: { lookbackDays: 30, minRows: 500, trials: 6 },
      // A passing candidate starts a canary; the first version is promoted (nothing to compare with).
      gate: { action: 'canary', firstVersion: 'promote', metric: 'auc', minimum: 0.6, maxRegression: 0.01 },
      // PSI per feature over hourly windows: warn from 0.1, alert (and ask for retraining) from 0.25.
      drift: {
        bins: 10,
        window: { sizeMs: 3_600_000, slideMs: 3_600_000, latenessMs: 300_000 },
        thresholds: { warn: 0.1, alert: 0.25 },
        minSamples: 200,
        cooldownMs: 24 * 3_600_000,
      },
      rollout: {
        shadow: { predictions: 1_000 }, // scored and logged, not returned, for the first 1000 predictions
        canary: { percent: 10, steps: [25, 50, 100] },
        promote: { metric: 'auc', maxRegression: 0.01, minLabels: 500 },
        rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
        requireApproval: true, // a person approves the step to production
      },
      intendedUse: 'Offering help to customers likely to abandon; not for pricing decisions.',
      limitations: 'Labels arrive when a checkout completes or times out, so the newest day under-counts abandonment.',
    },
  ],
} satisfies ProjectDecl;
`;
}
