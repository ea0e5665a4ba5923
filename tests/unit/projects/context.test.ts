import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fraud, fraudProject } from '../../../examples/fraud/index.ts';
import { projectDriftOverrides } from '../../../processors/drift/index.ts';
import { openProject, projectContext, projectFeatureTopic, trainingSpecOf } from '../../../projects/context.ts';
import type { ModelDecl, ProjectDecl } from '../../../projects/declaration.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-context-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fraudModel = fraudProject.models[0] as ModelDecl;
/** The fraud project with a topic override and a second, multiclass model. */
const project: ProjectDecl = {
  ...fraudProject,
  topics: { card_activity: { partitions: 3, retentionMs: 86_400_000 } },
  models: [
    ...fraudProject.models,
    {
      ...fraudModel,
      name: 'fraud_kind',
      task: { type: 'multiclass', classes: ['legit', 'stolen_card', 'account_takeover'] },
      gate: { ...fraudModel.gate, metric: 'accuracy', minimum: 0.5 },
      rollout: { ...fraudModel.rollout, promote: { ...fraudModel.rollout.promote, metric: 'accuracy' } },
    },
  ],
};

describe('project context', () => {
  const context = projectContext({ dir, file: join(dir, 'rheo.project.ts'), project });

  it("derives the feature registry, the catalogue with the project's topic overrides, and the trainable models", () => {
    expect(context.features.list().map((g) => g.name)).toEqual(['card_activity', 'merchant_risk']);
    const card = context.topics.find((t) => t.name === 'features.card_activity');
    expect(card).toMatchObject({ partitions: 3, retentionMs: 86_400_000 });
    expect(context.topics.find((t) => t.name === 'features.merchant_risk')).toMatchObject({ partitions: 6 });
    expect(context.topics.map((t) => t.name)).toContain('features.card_activity.dlq');
    expect(context.topics.map((t) => t.name)).toContain('predictions');
    expect(projectFeatureTopic(project, 'card_activity')).toEqual(card);
    expect(Object.keys(context.trainingSpecs)).toEqual(['fraud_detector']);
    expect(trainingSpecOf(context, 'fraud_detector').features).toContain('card_activity:txn_count_1h');
  });

  it('says why a model cannot be trained, and which models there are', () => {
    expect(() => trainingSpecOf(context, 'fraud_kind')).toThrow(/multiclass.*rheo models register/);
    expect(() => trainingSpecOf(context, 'nope')).toThrow(/declares no model "nope"; declared: fraud_detector, fraud_kind/);
  });

  it('the in-process fraud project is the one `--project examples/fraud` loads', async () => {
    const loaded = await openProject({ flag: 'examples/fraud' });
    expect(loaded.dir).toBe(fraud.dir.replace(/\/$/, ''));
    expect(loaded.trainingSpecs).toEqual(fraud.trainingSpecs);
    expect(loaded.topics).toEqual(fraud.topics);
  });

  it('says clearly when there is no project, and where it looked', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(openProject({ cwd: empty, env: {} })).rejects.toThrow(
      new RegExp(`no Rheo project in ${empty}: rheo.project.ts not found \\(run \`rheo init`),
    );
    await expect(openProject({ flag: join(dir, 'missing'), env: {} })).rejects.toMatchObject({ code: 'PROJECT_INVALID' });
  });

  it('takes --project over RHEO_PROJECT over the current folder', async () => {
    const make = (name: string) => {
      const folder = join(dir, name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(
        join(folder, 'rheo.project.ts'),
        `export default ${JSON.stringify({ name, entities: [], featureGroups: [], requestInputs: [], models: [] })};\n`,
      );
      return folder;
    };
    const [flagged, fromEnv, cwd] = [make('flagged'), make('from_env'), make('in_cwd')];
    expect((await openProject({ flag: flagged, env: { RHEO_PROJECT: fromEnv }, cwd })).project.name).toBe('flagged');
    expect((await openProject({ env: { RHEO_PROJECT: fromEnv }, cwd })).project.name).toBe('from_env');
    expect((await openProject({ env: {}, cwd })).project.name).toBe('in_cwd');
  });

  it("gives the drift processor each model's declared policy fields, and nothing for what it leaves out", () => {
    expect(
      projectDriftOverrides([
        { name: 'a', drift: { thresholds: { warn: 0.05, alert: 0.2 }, minSamples: 50 } },
        { name: 'b' },
        { name: 'c', drift: { cooldownMs: 0 } },
      ]),
    ).toEqual({ a: { thresholds: { warn: 0.05, alert: 0.2 }, minSamples: 50 }, c: { cooldownMs: 0 } });
  });
});
