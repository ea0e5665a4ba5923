/**
 * The diabetes data set (Efron, Hastie, Johnstone and Tibshirani 2004; the copy scikit-learn bundles)
 * as a Rheo project: entity `patient`, one feature group of baseline measurements
 * (`features/patient-measurements.ts`), and the regression model `diabetes_progression`, which
 * predicts disease progression one year after the baseline visit. Its data are real and committed
 * (`data/`, exported once by `export-data.py`; licence and citation in `data/LICENSE.md`); see the
 * README for running it end to end. Inside this repository the helpers are imported by relative path
 * (a user's project imports them from `rheo`).
 */
import { defineProject } from '../../projects/declaration.ts';
import { patientMeasurements } from './features/patient-measurements.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export default defineProject({
  name: 'diabetes',
  description: 'Disease progression of diabetes patients, from ten baseline measurements (a real, public data set).',
  entities: [{ name: 'patient', description: 'A diabetes patient; ids are p0001..p0442.', key: 'string' }],
  featureGroups: [patientMeasurements],
  requestInputs: [],
  models: [
    {
      name: 'diabetes_progression',
      description:
        'Predicts a quantitative measure of diabetes disease progression one year after the baseline visit (25..346 in the data, mean 152) from the patient’s age, sex, body mass index, blood pressure and six blood serum measurements at that visit.',
      owner: 'clinical-analytics',
      entity: 'patient',
      inputs: [
        'patient_measurements:age',
        'patient_measurements:sex',
        'patient_measurements:bmi',
        'patient_measurements:bp',
        'patient_measurements:s1',
        'patient_measurements:s2',
        'patient_measurements:s3',
        'patient_measurements:s4',
        'patient_measurements:s5',
        'patient_measurements:s6',
      ],
      // Each label names the patient and the visit it is the outcome of (data/labels.csv).
      labels: { from: 'label-events' },
      task: { type: 'regression' },
      training: {
        // The window is counted back from the run's time; the visits are in 2025 (a fixed data set),
        // so it is the longest allowed (until 2035). `rheo train --from/--to` narrows it.
        lookbackDays: 3650,
        // 442 patients: the default 500 would refuse the whole data set. 300 leaves a margin for a
        // narrower --from/--to window and still 45+ test rows.
        minRows: 300,
        // By visit time: 309 rows train, 66 validate (early stopping, model choice), 67 test (the gate).
        split: { train: 0.7, validation: 0.15 },
        // Small data: small batches and many epochs (early stopping ends a trial long before 300).
        // A linear model is known to do about as well as anything on this data (RMSE ≈ 54, R² ≈ 0.5),
        // so the defaults (trial 0) are one; the search also tries small MLPs. `logistic_regression` is
        // the trainer's one-dense-layer network: with a regression task its output is linear.
        defaults: {
          algorithm: 'logistic_regression',
          hidden: [],
          activation: 'relu',
          learningRate: 0.01,
          batchSize: 32,
          l2: 1e-4,
          maxEpochs: 300,
          patience: 20,
          minDelta: 1e-4,
        },
        search: {
          algorithms: ['logistic_regression', 'mlp'],
          hidden: [[8], [16], [16, 8]],
          activations: ['relu', 'tanh'],
          learningRate: [1e-3, 3e-2],
          batchSizes: [16, 32, 64],
          l2: [1e-5, 1e-2],
        },
        trials: 8,
      },
      // The target's standard deviation is ≈ 77 (what predicting the mean scores); a version must be
      // clearly better than that: RMSE at most 65 on the test split (for a lower-is-better metric the
      // gate's `minimum` is a ceiling), and no more than 2 worse than production on the same rows.
      gate: { action: 'canary', firstVersion: 'promote', metric: 'rmse', minimum: 65, maxRegression: 2 },
      drift: {
        bins: 10,
        // A clinic scores a few patients a day, not thousands an hour: daily windows, a week's cooldown.
        window: { sizeMs: DAY, slideMs: DAY, latenessMs: HOUR },
        thresholds: { warn: 0.1, alert: 0.25 },
        minSamples: 30,
        cooldownMs: 7 * DAY,
      },
      rollout: {
        canary: { percent: 10, steps: [25, 50, 100] },
        // Outcomes arrive a year after the prediction: promotion waits for enough of them.
        promote: { metric: 'rmse', maxRegression: 2, minLabels: 50 },
        rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
        requireApproval: false,
      },
      intendedUse:
        'Teaching and testing Rheo with real tabular data: a regression model trained point-in-time from feature events and label events. Not for clinical use.',
      limitations:
        'Trained on 442 patients of one study (Efron et al. 2004), with no information on how they were selected; the sex coding (1/2) is undocumented and the serum measurements have no stated units. Visit times are made up (spread over the first half of 2025) so the point-in-time join has something to join on; they carry no information. A test split of 67 patients gives a noisy RMSE.',
    },
  ],
});
