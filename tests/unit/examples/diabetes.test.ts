/**
 * examples/diabetes: the project loads and validates, both committed CSVs parse with the parsers
 * `rheo produce` and `rheo label` use (feature events also against the group's Avro schema), they
 * hold the real data set (442 patients, the known target statistics, the known least-squares fit),
 * and the model compiles to a regression training spec whose point-in-time training set keeps
 * every row and is not refused.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLabels } from '../../../cli/commands/label.ts';
import { readEvents } from '../../../cli/commands/produce.ts';
import { type FeatureGroupDecl, type FeatureRow, isExpired, rowFromEvent } from '../../../features/declaration.ts';
import type { FeatureEventRecord } from '../../../features/input.ts';
import { MemoryOfflineStore } from '../../../features/offline/memory.ts';
import { type ProjectContext, projectContext, trainingSpecOf } from '../../../projects/context.ts';
import { projectProblems, toTrainingSpec } from '../../../projects/declaration.ts';
import { loadProject } from '../../../projects/load.ts';
import { avroType, type Feedback, featureGroupSchema, validationIssues } from '../../../schemas/index.ts';
import { buildDataset } from '../../../trainers/data/dataset.ts';
import { MemoryLabelSource } from '../../../trainers/data/labels.ts';
import { prepare } from '../../../trainers/run.ts';
import { resolveFeatures } from '../../../trainers/spec.ts';

const DIR = fileURLToPath(new URL('../../../examples/diabetes/', import.meta.url));
const MEASUREMENTS = `${DIR}data/measurements.csv`;
const LABELS = `${DIR}data/labels.csv`;
const MODEL = 'diabetes_progression';
const FEATURES = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'];
const ROWS = 442;
const DAY = 86_400_000;

let context: ProjectContext;
let group: FeatureGroupDecl;
let events: FeatureEventRecord[];
let labels: Feedback[];

beforeAll(async () => {
  context = projectContext(await loadProject(DIR));
  group = context.features.get('patient_measurements');
  events = [];
  for await (const line of readEvents(MEASUREMENTS, group, 'csv')) {
    if (!('event' in line.result)) throw new Error(`measurements.csv line ${line.line}: ${line.result.problems.join('; ')}`);
    events.push(line.result.event);
  }
  labels = [];
  for await (const line of readLabels(LABELS, 'csv', { now: Date.now(), model: MODEL, source: 'followup_1y' })) {
    if (!('feedback' in line.result)) throw new Error(`labels.csv line ${line.line}: ${line.result.problems.join('; ')}`);
    labels.push(line.result.feedback);
  }
});

describe('examples/diabetes project', () => {
  it('loads and validates: entity patient, one group of ten features, a regression model', () => {
    const { project } = context;
    expect(projectProblems(project)).toEqual([]);
    expect(project.name).toBe('diabetes');
    expect(project.entities.map((e) => e.name)).toEqual(['patient']);
    expect(group.entity).toBe('patient');
    expect(group.features.map((f) => f.name)).toEqual(FEATURES);
    for (const feature of group.features) expect(feature.description, feature.name).toBeTruthy();
    const model = project.models.find((m) => m.name === MODEL);
    expect(model?.task).toEqual({ type: 'regression' });
    expect(model?.labels.from).toBe('label-events');
    expect(model?.inputs).toEqual(FEATURES.map((f) => `patient_measurements:${f}`));
  });

  it('compiles the model to a regression training spec the trainer can resolve', () => {
    const spec = trainingSpecOf(context, MODEL);
    expect(spec).toEqual(toTrainingSpec(context.project, MODEL));
    expect(spec.task).toBe('regression');
    expect(spec.outputName).toBe('prediction');
    expect(spec.decision).toBeUndefined();
    expect(spec.labels).toBe('label-events');
    expect(spec.entity).toBe('patient');
    expect(spec.requestInputs.features).toEqual([]);
    expect(spec.gate.metric).toBe('rmse');
    expect(spec.minRows).toBeLessThanOrEqual(ROWS);
    const resolved = resolveFeatures(spec, context.features);
    expect(resolved.map((f) => [f.name, f.group, f.entity])).toEqual(FEATURES.map((f) => [f, 'patient_measurements', 'patient']));
  });
});

describe('examples/diabetes data', () => {
  it('has one measurement event per patient, p0001..p0442, each valid against the group’s Avro schema', () => {
    expect(events).toHaveLength(ROWS);
    expect(events.map((e) => e.entity_id)).toEqual(Array.from({ length: ROWS }, (_, i) => `p${String(i + 1).padStart(4, '0')}`));
    const type = avroType(featureGroupSchema(group));
    for (const event of events) {
      expect(validationIssues(type, event, { noUndeclaredFields: true }), event.entity_id).toEqual([]);
      expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
    }
    // Deterministic ids and times: nothing is filled in at produce time.
    expect(new Set(events.map((e) => e.event_id)).size).toBe(ROWS);
    expect(new Set(events.map((e) => e.event_time)).size).toBe(ROWS);
    for (const e of events) expect(e.created_time).toBe(e.event_time);
    const times = events.map((e) => e.event_time);
    expect(Math.min(...times)).toBe(Date.UTC(2025, 0, 1, 8));
    expect(Math.max(...times)).toBeLessThan(Date.UTC(2025, 6, 1));
  });

  it('holds the raw values of the data set (column means and ranges of the source)', () => {
    const column = (name: string) => events.map((e) => e[name] as number);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(new Set(column('sex'))).toEqual(new Set([1, 2]));
    expect([Math.min(...column('age')), Math.max(...column('age'))]).toEqual([19, 79]);
    expect(mean(column('age'))).toBeCloseTo(48.518, 3);
    expect(mean(column('bmi'))).toBeCloseTo(26.3758, 4);
    expect(mean(column('bp'))).toBeCloseTo(94.647, 3);
    expect(mean(column('s1'))).toBeCloseTo(189.1403, 4);
    expect(mean(column('s5'))).toBeCloseTo(4.64141, 5);
    expect(mean(column('s6'))).toBeCloseTo(91.2602, 4);
  });

  it('has one label per patient at its measurement’s time, observed a year later, with the known target statistics', () => {
    expect(labels).toHaveLength(ROWS);
    const eventTime = new Map(events.map((e) => [e.entity_id, e.event_time]));
    expect(new Set(labels.map((l) => l.entity_id))).toEqual(new Set(eventTime.keys()));
    for (const l of labels) {
      expect(l.prediction_id).toBeNull();
      expect(l.reference_time, l.entity_id ?? '').toBe(eventTime.get(l.entity_id as string));
      expect(l.observed_time - (l.reference_time as number)).toBe(365 * DAY);
      expect(l.label_source).toBe('followup_1y');
      expect(l.model_name).toBe(MODEL);
    }
    expect(new Set(labels.map((l) => l.event_id)).size).toBe(ROWS);
    const y = labels.map((l) => l.label);
    expect(Math.min(...y)).toBe(25);
    expect(Math.max(...y)).toBe(346);
    expect(y.every(Number.isInteger)).toBe(true);
    expect(y.reduce((a, b) => a + b, 0)).toBe(67_243);
    expect(y.reduce((a, b) => a + b, 0) / ROWS).toBeCloseTo(152.1335, 4);
  });

  it('is the real data set: least squares on all ten variables explains R² ≈ 0.518 (Efron et al. 2004)', () => {
    const target = new Map(labels.map((l) => [l.entity_id, l.label]));
    const x = events.map((e) => [1, ...FEATURES.map((f) => e[f] as number)]);
    const y = events.map((e) => target.get(e.entity_id) as number);
    const beta = leastSquares(x, y);
    const fitted = x.map((row) => row.reduce((s, v, j) => s + v * (beta[j] as number), 0));
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const sse = y.reduce((s, v, i) => s + (v - (fitted[i] as number)) ** 2, 0);
    const sst = y.reduce((s, v) => s + (v - mean) ** 2, 0);
    expect(1 - sse / sst).toBeCloseTo(0.5177, 4);
    expect(Math.sqrt(sse / y.length)).toBeCloseTo(53.476, 2);
  });

  it('trains as committed: every label joins its measurement point-in-time and the split is not refused', async () => {
    const spec = trainingSpecOf(context, MODEL);
    const offline = new MemoryOfflineStore();
    const rows: FeatureRow[] = events.map((e) => {
      const checked = rowFromEvent(group, e, e.entity_id);
      if ('reason' in checked) throw new Error(checked.reason);
      return checked.row;
    });
    await offline.writeBatch(group, rows);
    const source = new MemoryLabelSource(
      labels.map((l) => ({
        id: `${l.entity_id}@${l.reference_time}`,
        entityId: l.entity_id as string,
        time: l.reference_time as number,
        label: l.label,
        observedTime: l.observed_time,
        inputs: {},
      })),
    );
    // The window a run without --from/--to reads: lookbackDays back from now.
    const now = Date.now();
    const features = resolveFeatures(spec, context.features);
    const dataset = await buildDataset(
      { labels: source, offline, registry: context.features },
      {
        model: MODEL,
        kind: 'label-events',
        start: now - spec.lookbackDays * DAY,
        end: now,
        maxRows: spec.maxRows,
        entity: 'patient',
        features,
      },
    );
    expect(dataset.rows, 'every label is in the default window (visits within lookbackDays, observed before now)').toBe(ROWS);
    for (const column of dataset.columns)
      expect(column.some(Number.isNaN), 'a feature missing at its reference time').toBe(false);
    const prepared = prepare(
      spec,
      dataset,
      features.map((f) => f.ref),
    );
    expect([prepared.split.train.length, prepared.split.validation.length, prepared.split.test.length]).toEqual([309, 66, 67]);
    expect(prepared.target?.scale).toBeGreaterThan(70);
    // Served as well: the online store keeps an entry until event time + TTL.
    for (const row of rows) expect(isExpired(group, row, now), `${row.entityId} expired online`).toBe(false);
    expect(Math.max(...labels.map((l) => l.observed_time)), 'labels are observed before the window ends (now)').toBeLessThan(now);
  });
});

/** Ordinary least squares by the normal equations (Gauss–Jordan with partial pivoting); small, dense. */
function leastSquares(x: number[][], y: number[]): number[] {
  const n = (x[0] as number[]).length;
  const a = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => x.reduce((s, row) => s + (row[i] as number) * (row[j] as number), 0)),
    x.reduce((s, row, k) => s + (row[i] as number) * (y[k] as number), 0),
  ]);
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let k = i + 1; k < n; k++) if (Math.abs(a[k]?.[i] as number) > Math.abs(a[p]?.[i] as number)) p = k;
    [a[i], a[p]] = [a[p] as number[], a[i] as number[]];
    const pivot = a[i] as number[];
    for (let k = 0; k < n; k++) {
      if (k === i) continue;
      const row = a[k] as number[];
      const f = (row[i] as number) / (pivot[i] as number);
      for (let j = i; j <= n; j++) row[j] = (row[j] as number) - f * (pivot[j] as number);
    }
  }
  return a.map((row, i) => (row[n] as number) / (row[i] as number));
}
