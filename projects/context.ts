/**
 * What the services and commands read from a project: its feature registry, the trainer's specs of
 * its models, and the topic catalogue with its overrides. One door: every service and command opens
 * the project (`--project DIR` > `RHEO_PROJECT` > the current folder) through `openProject`, and
 * nothing in Rheo names a domain of its own.
 */
import { FeatureRegistry } from '../features/registry.ts';
import { RheoError, rheoError } from '../kernel/errors.ts';
import type { Environment } from '../kernel/settings.ts';
import { catalogue, featureTopic, type TopicEntry } from '../topics/catalogue.ts';
import type { TrainingSpec } from '../trainers/spec.ts';
import { type ModelDecl, type ProjectDecl, toTrainingSpec } from './declaration.ts';
import { type LoadedProject, loadProject, resolveProjectDir } from './load.ts';

export interface ProjectContext extends LoadedProject {
  /** The project's feature groups, references resolved against them. */
  readonly features: FeatureRegistry;
  /** The trainer's spec of every trainable model (binary and regression), by model name. */
  readonly trainingSpecs: Readonly<Record<string, TrainingSpec>>;
  /** Models the trainer cannot train (multiclass), with why: registered from elsewhere instead. */
  readonly untrainable: Readonly<Record<string, string>>;
  /** The feature groups' topics with the project's overrides (without dead-letter topics). */
  readonly featureTopics: readonly TopicEntry[];
  /** Every topic the cluster should hold for this project: core topics, feature topics, dead letters. */
  readonly topics: readonly TopicEntry[];
}

/** The feature topic of a group, with the project's override of partitions and retention applied. */
export function projectFeatureTopic(project: Pick<ProjectDecl, 'topics'>, group: string): TopicEntry {
  const override = project.topics?.[group];
  return featureTopic(group, {
    ...(override?.partitions !== undefined ? { partitions: override.partitions } : {}),
    ...(override?.retentionMs !== undefined ? { retentionMs: override.retentionMs } : {}),
  });
}

/** Derives what services read from a validated project (pure). */
export function projectContext(loaded: LoadedProject): ProjectContext {
  const { project } = loaded;
  const features = new FeatureRegistry(project.featureGroups);
  const trainingSpecs: Record<string, TrainingSpec> = {};
  const untrainable: Record<string, string> = {};
  for (const model of project.models) {
    if (model.task.type === 'multiclass')
      untrainable[model.name] =
        'the trainer trains binary and regression models; register a multiclass model trained elsewhere (`rheo models register`)';
    else trainingSpecs[model.name] = toTrainingSpec(project, model.name);
  }
  const featureTopics = project.featureGroups.map((g) => projectFeatureTopic(project, g.name));
  return Object.freeze({
    ...loaded,
    features,
    trainingSpecs: Object.freeze(trainingSpecs),
    untrainable: Object.freeze(untrainable),
    featureTopics,
    topics: catalogue(featureTopics),
  });
}

/** Finds, loads, validates and derives the project: `flag` > `RHEO_PROJECT` > `cwd`. */
export async function openProject(
  options: { flag?: string | undefined; env?: Environment; cwd?: string } = {},
): Promise<ProjectContext> {
  return projectContext(await loadProject(resolveProjectDir(options)));
}

/** A model of the project the trainer can train, or PROJECT_INVALID/NOT_FOUND saying why not. */
export function trainingSpecOf(context: ProjectContext, model: string): TrainingSpec {
  const spec = context.trainingSpecs[model];
  if (spec) return spec;
  const why = context.untrainable[model];
  if (why) throw rheoError('PROJECT_INVALID', { project: context.file, problems: `model ${model}: ${why}` });
  const declared = context.project.models.map((m: ModelDecl) => m.name);
  throw new RheoError(
    'NOT_FOUND',
    `project ${context.project.name} declares no model "${model}"; declared: ${declared.join(', ') || '(none)'}`,
    { details: { model } },
  );
}
