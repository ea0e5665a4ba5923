/**
 * Patient measurements: the ten baseline variables of the diabetes data set (Efron et al. 2004), one
 * event per patient at the baseline visit. Values are the raw, unscaled ones of the source
 * (`diabetes_data_raw.csv.gz` in scikit-learn); the source names the serum measurements but gives no
 * units, so the descriptions say what each is and leave the units out where the source does.
 */
import { defineFeatureGroup } from '../../../features/declaration.ts';

/** Ten years (the longest TTL a group may have): see the TTL note below. */
const TEN_YEARS_S = 10 * 365 * 24 * 3600;

export const patientMeasurements = defineFeatureGroup({
  name: 'patient_measurements',
  entity: 'patient',
  description:
    'Baseline visit of a diabetes patient: age, sex, body mass index, average blood pressure and six blood serum measurements.',
  owner: 'clinical-analytics',
  version: 1,
  // The data set is a fixed historical snapshot (its visits are placed in the first half of 2025,
  // data/measurements.csv), served as it is: the online store drops an entry at event time + TTL, so
  // a TTL of about a year (what a live clinic would pick: a baseline older than that says little
  // about next year) would already have expired every patient and `/v1/predict` would answer
  // FEATURES_MISSING. Ten years keeps the example servable until 2035.
  ttlSeconds: TEN_YEARS_S,
  features: [
    { name: 'age', type: 'long', description: 'Age at the baseline visit, in years.' },
    {
      name: 'sex',
      type: 'long',
      description: 'Sex as the source codes it, 1 or 2 (the source does not say which is which).',
    },
    { name: 'bmi', type: 'double', description: 'Body mass index, kg/m².' },
    { name: 'bp', type: 'double', description: 'Average blood pressure (BP).' },
    { name: 's1', type: 'double', description: 'S1, tc: total serum cholesterol.' },
    { name: 's2', type: 'double', description: 'S2, ldl: low-density lipoproteins.' },
    { name: 's3', type: 'double', description: 'S3, hdl: high-density lipoproteins.' },
    { name: 's4', type: 'double', description: 'S4, tch: total cholesterol / HDL.' },
    { name: 's5', type: 'double', description: 'S5, ltg: (possibly) the log of the serum triglycerides level.' },
    { name: 's6', type: 'double', description: 'S6, glu: blood sugar level.' },
  ],
} as const);
