/**
 * Naming what a run produces: the next semantic version of a model, and the version of the
 * training code (recorded in every run and version for reproducibility).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Environment, processEnvironment } from '../kernel/settings.ts';
import { compareSemver, isSemver } from '../registry/rules.ts';
import type { ModelState, VersionState } from '../registry/types.ts';
import { declaredCodeVersion } from './settings.ts';

/** The minor after the highest registered release (1.0.0 for a model's first), so retrained versions sort after their parents. */
export function nextVersion(model: ModelState | undefined): string {
  const releases = [...(model?.versions.keys() ?? [])].filter((v) => isSemver(v) && !v.includes('-')).sort(compareSemver);
  const top = releases.at(-1);
  if (!top) return '1.0.0';
  const [major, minor] = top.split('.').map((part) => Number.parseInt(part, 10)) as [number, number];
  return `${major}.${minor + 1}.0`;
}

/** The version a run already registered (a redelivered request finds its own result). */
export function versionOfRun(model: ModelState | undefined, runId: string): VersionState | undefined {
  if (!model) return undefined;
  for (const v of model.versions.values()) if (v.spec.lineage.run_id === runId) return v;
  return undefined;
}

const run = promisify(execFile);

/**
 * `RHEO_CODE_VERSION` when set (deployments stamp it), else the git commit of the checkout, with
 * `-dirty` when the training code (trainers/, serving/onnx/) differs from it; `unknown` without git.
 * Asked afresh per run (two quick git calls beside a training run), so an edit between runs shows.
 */
export async function codeVersion(env: Environment = processEnvironment()): Promise<string> {
  const declared = declaredCodeVersion(env);
  if (declared) return declared;
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  try {
    const { stdout } = await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, timeout: 5_000 });
    const commit = stdout.trim();
    const status = await run('git', ['status', '--porcelain', '--', 'trainers', 'serving/onnx'], { cwd, timeout: 5_000 });
    return status.stdout.trim() === '' ? commit : `${commit}-dirty`;
  } catch {
    return 'unknown';
  }
}
