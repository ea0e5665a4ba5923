/**
 * The Avro contracts: one `.avsc` file per event under `schemas/contracts/`, each next to its
 * fixtures, bound here to the TypeScript types generated from it (`types.generated.ts`, checked
 * fresh by a unit test). The names are the ones the topic catalogue's `valueSchema` uses.
 *
 * A contract's `history` has one line per version saying why that version exists; add a line when
 * changing a `.avsc` file (and keep the change BACKWARD compatible: new fields need defaults).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AvroRecordSchema, type AvroType, avroType, schemaText } from './avro.ts';
import type { SchemaContract } from './codec.ts';
import { SchemaInvalidError } from './errors.ts';
import type * as G from './types.generated.ts';

export interface Contract<T = unknown, TIn = T> extends SchemaContract<T, TIn> {
  /** Short record name, e.g. `Prediction`. */
  readonly name: string;
  /** Full Avro name, e.g. `io.rheo.Prediction`. */
  readonly fullName: string;
  /** File name under `schemas/contracts/`, or undefined for a derived schema (feature groups). */
  readonly file: string | undefined;
  readonly schema: AvroRecordSchema;
  /** The compact JSON registered with the registry. */
  readonly text: string;
  readonly type: AvroType;
  /** Version of the contract in this repository (not the registry's version number). */
  readonly version: number;
  /** Why each version exists, oldest first; `version` is its length. */
  readonly history: readonly string[];
}

export const CONTRACTS_DIR = fileURLToPath(new URL('./contracts/', import.meta.url));

/** A contract from a schema object (used for derived schemas such as feature groups, and by `load`). */
export function defineContract<T = unknown, TIn = T>(
  schema: AvroRecordSchema,
  options: { file?: string; history?: readonly string[]; version?: number } = {},
): Contract<T, TIn> {
  if (schema.type !== 'record' || typeof schema.name !== 'string') {
    throw new SchemaInvalidError(`a contract must be an Avro record schema${options.file ? ` (${options.file})` : ''}`);
  }
  const history = options.history ?? ['1: first version'];
  const dot = schema.name.lastIndexOf('.');
  const name = dot >= 0 ? schema.name.slice(dot + 1) : schema.name;
  const namespace = dot >= 0 ? schema.name.slice(0, dot) : schema.namespace;
  return Object.freeze({
    name,
    fullName: namespace ? `${namespace}.${name}` : name,
    file: options.file,
    schema,
    text: schemaText(schema),
    type: avroType(schema, options.file ?? `schema ${schema.name}`),
    version: options.version ?? history.length,
    history,
  });
}

function load<T, TIn>(file: string, history: readonly string[]): Contract<T, TIn> {
  let schema: AvroRecordSchema;
  try {
    schema = JSON.parse(readFileSync(`${CONTRACTS_DIR}${file}`, 'utf8')) as AvroRecordSchema;
  } catch (error) {
    throw new SchemaInvalidError(`cannot read contract ${file}: ${(error as Error).message}`, { cause: error });
  }
  return defineContract<T, TIn>(schema, { file, history });
}

export const CONTRACTS = {
  PredictionRequest: load<G.PredictionRequest, G.PredictionRequestInput>('prediction-request.avsc', [
    '1: first version: entity, model (optionally pinned), request-time inputs (DESIGN §1, §2)',
  ]),
  Prediction: load<G.Prediction, G.PredictionInput>('prediction.avsc', [
    '1: first version: model, version, variant, source, inputs, outputs, score, latency, request time (DESIGN §2, §8)',
  ]),
  Feedback: load<G.Feedback, G.FeedbackInput>('feedback.avsc', [
    '1: first version: label by prediction id or entity id and time, observed time (DESIGN §2)',
  ]),
  ModelLifecycleEvent: load<G.ModelLifecycleEvent, G.ModelLifecycleEventInput>('model-lifecycle-event.avsc', [
    '1: first version: the registry event log, one optional section per event type (DESIGN §5)',
  ]),
  RetrainRequest: load<G.RetrainRequest, G.RetrainRequestInput>('retrain-request.avsc', [
    '1: first version: reason, evidence (drift reports, live metrics), training window, overrides (DESIGN §6, §7)',
  ]),
  TrainingRunEvent: load<G.TrainingRunEvent, G.TrainingRunEventInput>('training-run-event.avsc', [
    '1: first version: started, per-epoch progress, completed with gate verdict, failed (DESIGN §7)',
  ]),
  DriftReport: load<G.DriftReport, G.DriftReportInput>('drift-report.avsc', [
    '1: first version: PSI, KL, bins and counts, data quality, status per feature per window (DESIGN §6)',
    '2: late_count (records too late for their window are counted, never silently dropped); defaulted, so BACKWARD compatible',
  ]),
} as const;

export type ContractName = keyof typeof CONTRACTS;

/** Decoded value type of a contract. */
export type ValueOf<C> = C extends SchemaContract<infer T, unknown> ? T : never;
/** Type of the values a producer may encode with a contract (defaulted fields optional). */
export type InputOf<C> = C extends SchemaContract<unknown, infer TIn> ? TIn : never;

export function isContractName(name: string): name is ContractName {
  return Object.hasOwn(CONTRACTS, name);
}

/** The contract the topic catalogue names (`valueSchema`), or undefined. */
export function contractNamed(name: string): Contract | undefined {
  return isContractName(name) ? (CONTRACTS[name] as Contract) : undefined;
}

export function allContracts(): Contract[] {
  return Object.values(CONTRACTS) as Contract[];
}
