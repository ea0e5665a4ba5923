/**
 * Ground-truth labels from outside (a CSV or JSONL file, `rheo label`) as `Feedback` events for the
 * `feedback` topic: one row becomes one event, or the reasons it cannot. Pure.
 *
 * Columns: `prediction_id` and/or `entity_id` (at least one), `reference_time` (required when there is
 * no `prediction_id`: an entity join needs it), `label` (a finite number, or `true`/`false` for 1/0),
 * `observed_time` (default: now), `model_name` (default: the `model` given, else null), `label_source`
 * (default: the `source` given, else null), `event_id` (a UUID; default: derived from the row, below).
 * Any other column is a problem. A blank value (absent, null, or empty text) is an absent one.
 *
 * JSON values must have their type (ids and names strings, `label` a number or boolean, times epoch
 * milliseconds as numbers or ISO-8601 strings); CSV cells are text and are converted. Times are epoch
 * milliseconds or ISO-8601 with a time zone (`Z` or `±hh:mm`; a date alone is midnight UTC): a local
 * time would land hours off depending on where the file is read, and a number under 10^11 is refused
 * as epoch seconds (it would be a time in 1970–1973).
 *
 * The derived `event_id` is a version-5 (SHA-1, name-based) UUID over a fixed namespace and the row's
 * canonical content (prediction_id, entity_id, reference_time, label, model_name, after defaults), so
 * labelling the same file twice writes the same ids and the sinks, which deduplicate on `event_id`,
 * keep one label each. `observed_time`, `label_source` and `event_time` are not part of it.
 */
import { createHash } from 'node:crypto';
import { CONTRACTS, type Feedback, validationIssues } from '../schemas/index.ts';

export const LABEL_COLUMNS = [
  'prediction_id',
  'entity_id',
  'reference_time',
  'label',
  'observed_time',
  'model_name',
  'label_source',
  'event_id',
] as const;

export type LabelColumn = (typeof LABEL_COLUMNS)[number];

/** Namespace of the derived label event ids (fixed: changing it changes every derived id). */
export const LABEL_ID_NAMESPACE = '2b07f23a-bf34-4388-8dc4-24ebb8b33651';

export interface LabelDefaults {
  /** The `event_time` of every event and the `observed_time` of rows without one (epoch ms). */
  now: number;
  /** `model_name` of rows without one. */
  model?: string | undefined;
  /** `label_source` of rows without one. */
  source?: string | undefined;
}

export type LabelResult = { feedback: Feedback } | { problems: string[] };

const COLUMNS = new Set<string>(LABEL_COLUMNS);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
/** Below this many ms (1973-03-03), a time is almost surely epoch seconds. */
const MIN_EPOCH_MS = 100_000_000_000;

/**
 * One row (a JSON object, or a CSV row by header name with `text`) as a Feedback event, or every
 * reason it is not one.
 */
export function parseLabelRow(
  row: Readonly<Record<string, unknown>>,
  defaults: LabelDefaults,
  options: { text?: boolean } = {},
): LabelResult {
  const problems: string[] = [];
  for (const name of Object.keys(row))
    if (!COLUMNS.has(name)) problems.push(`unknown column "${name}" (the columns are ${LABEL_COLUMNS.join(', ')})`);

  const predictionId = text(row, 'prediction_id', problems);
  const entityId = text(row, 'entity_id', problems);
  if (!isGiven(row.prediction_id) && !isGiven(row.entity_id))
    problems.push('prediction_id or entity_id is required (at least one)');

  const referenceTime = time(row, 'reference_time', problems);
  if (!isGiven(row.prediction_id) && isGiven(row.entity_id) && !isGiven(row.reference_time))
    problems.push('reference_time is required when labelling by entity_id (no prediction_id)');

  const label = labelValue(row.label, options.text === true, problems);
  const observedTime = time(row, 'observed_time', problems) ?? defaults.now;
  const modelName = text(row, 'model_name', problems) ?? blankToNull(defaults.model);
  const labelSource = text(row, 'label_source', problems) ?? blankToNull(defaults.source);

  let eventId = text(row, 'event_id', problems);
  if (eventId !== null && !UUID.test(eventId)) {
    problems.push(`event_id must be a UUID, got ${JSON.stringify(eventId)}`);
    eventId = null;
  }
  if (problems.length > 0 || label === undefined) return { problems };

  const content = {
    prediction_id: predictionId,
    entity_id: entityId,
    reference_time: referenceTime,
    label,
    model_name: modelName,
  };
  const feedback: Feedback = {
    event_id: eventId?.toLowerCase() ?? labelEventId(content),
    event_time: defaults.now,
    ...content,
    observed_time: observedTime,
    label_source: labelSource,
  };
  const issues = validationIssues(CONTRACTS.Feedback.type, feedback, { noUndeclaredFields: true });
  if (issues.length > 0)
    return { problems: issues.map((i) => `${i.path || 'the event'} must be ${i.expected}, got ${i.actual}`) };
  return { feedback };
}

/** The record key on `feedback`: the prediction id, else the entity id (topics/catalogue.ts). */
export function feedbackKey(feedback: Pick<Feedback, 'prediction_id' | 'entity_id'>): string {
  const key = feedback.prediction_id ?? feedback.entity_id;
  if (key === null) throw new Error('a Feedback event names neither a prediction_id nor an entity_id');
  return key;
}

/** The derived event id of a label: a version-5 UUID over LABEL_ID_NAMESPACE and the label's canonical content. */
export function labelEventId(
  content: Pick<Feedback, 'prediction_id' | 'entity_id' | 'reference_time' | 'label' | 'model_name'>,
): string {
  const canonical = JSON.stringify([
    content.prediction_id,
    content.entity_id,
    content.reference_time,
    content.label,
    content.model_name,
  ]);
  return uuidV5(canonical, LABEL_ID_NAMESPACE);
}

/** RFC 4122 §4.3 name-based UUID, version 5: SHA-1 of the namespace's 16 bytes and the name's UTF-8. */
export function uuidV5(name: string, namespace: string): string {
  if (!UUID.test(namespace)) throw new Error(`namespace ${JSON.stringify(namespace)} is not a UUID`);
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A time as epoch ms: a non-negative integer number (or its digits), or ISO-8601 with a zone; a date
 * alone is midnight UTC. Throws an Error saying why not.
 */
export function parseLabelTime(value: unknown): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) ms = Number(value.trim());
  else if (typeof value === 'string') return parseIso(value.trim());
  else throw new Error('must be epoch milliseconds or an ISO-8601 time');
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error('must be epoch milliseconds (a whole number) or an ISO-8601 time');
  if (ms < MIN_EPOCH_MS) throw new Error('looks like epoch seconds; give epoch milliseconds or an ISO-8601 time');
  return ms;
}

function parseIso(text: string): number {
  const m = ISO.exec(text);
  if (!m) throw new Error('must be epoch milliseconds or an ISO-8601 time (e.g. 2026-01-02T10:00:00Z)');
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59)
    throw new Error('is not a real date and time');
  if (h !== undefined && zone === undefined)
    throw new Error('needs a time zone (Z or ±hh:mm): a local time depends on where the file is read');
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || 0);
    if (hours > 23 || minutes > 59) throw new Error('has an impossible time zone offset');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

function isGiven(value: unknown): boolean {
  return !(value === undefined || value === null || (typeof value === 'string' && value.trim() === ''));
}

function blankToNull(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value;
}

/** A string column: null when blank; a non-string JSON value is a problem. */
function text(row: Readonly<Record<string, unknown>>, name: LabelColumn, problems: string[]): string | null {
  const value = row[name];
  if (!isGiven(value)) return null;
  if (typeof value !== 'string') {
    problems.push(`${name} must be a string, got ${JSON.stringify(value)}`);
    return null;
  }
  return value;
}

/** A time column: null when blank. */
function time(row: Readonly<Record<string, unknown>>, name: LabelColumn, problems: string[]): number | null {
  const value = row[name];
  if (!isGiven(value)) return null;
  try {
    return parseLabelTime(value);
  } catch (error) {
    problems.push(`${name} ${(error as Error).message}, got ${JSON.stringify(value)}`);
    return null;
  }
}

/** The label: a finite number, true/false as 1/0; CSV text is converted. Undefined (with a problem) when it is not one. */
function labelValue(value: unknown, fromText: boolean, problems: string[]): number | undefined {
  if (!isGiven(value)) {
    problems.push('label is missing');
    return undefined;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (fromText && typeof value === 'string') {
    const trimmed = value.trim();
    if (/^true$/i.test(trimmed)) return 1;
    if (/^false$/i.test(trimmed)) return 0;
    if (NUMBER.test(trimmed) && Number.isFinite(Number(trimmed))) return Number(trimmed);
  }
  problems.push(`label must be a finite number (or true/false), got ${JSON.stringify(value)}`);
  return undefined;
}
