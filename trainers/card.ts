/**
 * The model card of a trained version, generated from the run's facts (Markdown): what it is for,
 * the data it saw, how it was trained, how it did on held-out data next to production, what the
 * gate decided, its limitations, and its lineage. Stored with the version (`model_card`).
 */
import type { GateDecision } from './gate.ts';
import type { TrialParams } from './models/network.ts';
import type { ResolvedFeature, TrainingSpec } from './spec.ts';

export interface CardFacts {
  spec: Pick<TrainingSpec, 'model' | 'description' | 'owner' | 'intendedUse' | 'limitations' | 'task' | 'labels' | 'outputName'>;
  version: string;
  features: readonly ResolvedFeature[];
  missingRates: Record<string, number>;
  window: { start: number; end: number };
  rows: { total: number; train: number; validation: number; test: number };
  splitTimes: { validationFrom: number; testFrom: number };
  positiveRate?: number;
  datasetHash: string;
  params: TrialParams;
  trials: number;
  epochs: { run: number; best: number; stoppedEarly: boolean };
  backend: string;
  metrics: Record<string, number>;
  production: { version: string; metrics?: Record<string, number>; unavailable?: string } | null;
  gate: GateDecision;
  parity: { rows: number; maxAbsDiff: number };
  lineage: {
    runId: string;
    requestId: string | null;
    reason: string;
    parentVersion: string | null;
    codeVersion: string;
    seed: number;
  };
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : 'n/a');
const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : Number(v.toPrecision(4)).toString());

export function modelCard(f: CardFacts): string {
  const p = f.params;
  const architecture =
    p.algorithm === 'logistic_regression'
      ? 'logistic regression (one dense layer, sigmoid)'
      : `MLP ${[f.features.length, ...p.hidden, 1].join(' → ')} (${p.activation})${f.spec.task === 'binary' ? ', sigmoid output' : ', linear output'}`;
  const metricNames = Object.keys(f.metrics).filter((k) => !k.includes('_rows'));
  const lines = [
    `# ${f.spec.model} ${f.version}`,
    '',
    f.spec.description,
    '',
    `- **Owner:** ${f.spec.owner}`,
    `- **Intended use:** ${f.spec.intendedUse}`,
    `- **Task:** ${f.spec.task === 'binary' ? 'binary classification' : 'regression'}; output \`${f.spec.outputName}\``,
    '',
    '## Data',
    '',
    `- Labels: ${f.spec.labels === 'predictions' ? 'labeled predictions (feedback joined by prediction id)' : 'label events (entity and reference time)'}, reference times ${iso(f.window.start)} to ${iso(f.window.end)}, labels known before ${iso(f.window.end)}.`,
    `- Features joined point-in-time (never a value later than the label's reference time).`,
    `- ${f.rows.total} rows: train ${f.rows.train}, validation ${f.rows.validation} (from ${iso(f.splitTimes.validationFrom)}), test ${f.rows.test} (from ${iso(f.splitTimes.testFrom)}) — split by time.`,
    ...(f.positiveRate !== undefined ? [`- Positive rate: ${num(f.positiveRate)}.`] : []),
    `- Dataset SHA-256: \`${f.datasetHash}\`.`,
    '',
    '| input | source | type | missing (imputed with the training mean) |',
    '|---|---|---|---|',
    ...f.features.map(
      (x) => `| \`${x.name}\` | ${x.group ?? 'request'} | ${x.type} | ${((f.missingRates[x.ref] ?? 0) * 100).toFixed(1)}% |`,
    ),
    '',
    '## Training',
    '',
    `- ${architecture}; normalisation fitted on the training split, inside the graph.`,
    `- Adam, learning rate ${p.learningRate}, batch ${p.batchSize}, L2 ${p.l2}; best of ${f.trials} trial(s) by validation loss.`,
    `- Early stopping (patience ${p.patience}): ${f.epochs.run} epoch(s) run, best epoch ${f.epochs.best}${f.epochs.stoppedEarly ? ', stopped early' : ''}.`,
    `- Backend: ${f.backend}; seed ${f.lineage.seed}.`,
    '',
    '## Evaluation (test split)',
    '',
    `| metric | ${f.version} | ${f.production ? `production ${f.production.version}` : 'production'} |`,
    '|---|---|---|',
    ...metricNames.map(
      (m) =>
        `| ${m} | ${num(f.metrics[m])} | ${f.production?.metrics ? num(f.production.metrics[m]) : f.production ? 'not scorable' : 'none'} |`,
    ),
    '',
    `ONNX export reproduces TensorFlow.js on ${f.parity.rows} test rows within ${f.parity.maxAbsDiff.toExponential(1)}.`,
    '',
    '## Quality gate',
    '',
    ...f.gate.checks.map((c) => `- [${c.passed ? 'x' : ' '}] ${c.item} — ${c.note}`),
    '',
    `Decision: **${f.gate.action}** (${f.gate.passed ? 'passed' : 'failed'}) → ${f.gate.targetStage}${f.gate.canaryPercent !== null ? ` with a ${f.gate.canaryPercent}% canary` : ''}.`,
    ...(f.production?.unavailable ? ['', `Production could not be scored: ${f.production.unavailable}.`] : []),
    '',
    '## Limitations',
    '',
    f.spec.limitations,
    '',
    '## Lineage',
    '',
    `- Run \`${f.lineage.runId}\`${f.lineage.requestId ? ` for request \`${f.lineage.requestId}\`` : ' (started by hand)'}: ${f.lineage.reason}.`,
    `- Parent version: ${f.lineage.parentVersion ?? 'none'}; code version \`${f.lineage.codeVersion}\`.`,
    '',
  ];
  return lines.join('\n');
}
