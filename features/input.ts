/**
 * Feature events from outside (files, HTTP, applications) checked against a group's declaration
 * before anything is produced: unknown fields, missing or mistyped features, bad times. Pure.
 *
 * JSON values must have the declared type (a long is an integer number, a boolean `true`/`false`);
 * CSV cells are text and are converted by the declared type (`''` is null, or the feature's default).
 * Times are epoch milliseconds or ISO-8601 strings. `event_id` (a UUID) and `created_time` (now) are
 * filled in when absent.
 */
import { randomUUID } from 'node:crypto';
import { type FeatureDecl, type FeatureGroupDecl, type FeatureValue, rowFromEvent, valueProblem } from './declaration.ts';

export type FeatureEventRecord = Record<string, FeatureValue> & {
  entity_id: string;
  event_time: number;
  created_time: number;
  event_id: string;
};

export type InputResult = { event: FeatureEventRecord } | { problems: string[] };

const BASE = new Set(['entity_id', 'event_time', 'created_time', 'event_id']);

export function parseFeatureInput(
  group: FeatureGroupDecl,
  input: Readonly<Record<string, unknown>>,
  options: { text?: boolean; now?: number; newId?: () => string } = {},
): InputResult {
  const problems: string[] = [];
  const features = new Map(group.features.map((f) => [f.name, f]));
  for (const name of Object.keys(input))
    if (!BASE.has(name) && !features.has(name)) problems.push(`"${name}" is not a feature of ${group.name}`);
  const blank = (value: unknown) => value === undefined || value === null || (options.text && value === '');

  const entityId = input.entity_id;
  if (typeof entityId !== 'string' || entityId === '') problems.push('entity_id is missing');
  const eventTime = parseTime(input.event_time, 'event_time', problems, true);
  const createdTime = blank(input.created_time)
    ? (options.now ?? Date.now())
    : parseTime(input.created_time, 'created_time', problems, true);
  const eventId = blank(input.event_id) ? (options.newId ?? randomUUID)() : input.event_id;
  if (typeof eventId !== 'string') problems.push('event_id must be a string');

  const event: Record<string, FeatureValue> = {};
  for (const feature of group.features) {
    const raw = input[feature.name];
    let value: unknown;
    if (blank(raw)) value = feature.nullable ? null : feature.default;
    else value = options.text ? fromText(feature, String(raw)) : raw;
    if (value === undefined) {
      problems.push(`feature "${feature.name}" is missing (it is not nullable and has no default)`);
      continue;
    }
    const problem = valueProblem(feature, value);
    if (problem) problems.push(problem);
    else event[feature.name] = value as FeatureValue;
  }
  if (problems.length > 0) return { problems };
  const record = {
    ...event,
    entity_id: entityId,
    event_time: eventTime,
    created_time: createdTime,
    event_id: eventId,
  } as FeatureEventRecord;
  const checked = rowFromEvent(group, record);
  return 'reason' in checked ? { problems: [checked.reason] } : { event: record };
}

function fromText(feature: FeatureDecl, text: string): unknown {
  const trimmed = text.trim();
  switch (feature.type) {
    case 'double':
    case 'long':
      return trimmed === '' || Number.isNaN(Number(trimmed)) ? text : Number(trimmed);
    case 'boolean':
      if (['true', '1', 'yes'].includes(trimmed.toLowerCase())) return true;
      if (['false', '0', 'no'].includes(trimmed.toLowerCase())) return false;
      return text;
    case 'string':
      return text;
  }
}

function parseTime(value: unknown, name: string, problems: string[], required: boolean): number {
  if (value === undefined || value === null || value === '') {
    if (required) problems.push(`${name} is missing`);
    return 0;
  }
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value.trim())
        ? Number(value.trim())
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    problems.push(`${name} must be epoch milliseconds or an ISO-8601 time, got ${JSON.stringify(value)}`);
    return 0;
  }
  return ms;
}

/**
 * Splits CSV text lines into records (RFC 4180: quoted fields may hold commas, doubled quotes and
 * line breaks). Yields the header as the first record.
 */
export async function* csvRecords(lines: AsyncIterable<string>): AsyncIterable<{ line: number; fields: string[] }> {
  let pending = '';
  let startLine = 0;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (pending === '') startLine = lineNo;
    pending = pending === '' ? line : `${pending}\n${line}`;
    if (countQuotes(pending) % 2 === 1) continue; // a quoted field goes on
    if (pending.trim() !== '') yield { line: startLine, fields: splitCsv(pending) };
    pending = '';
  }
  if (pending !== '') yield { line: startLine, fields: splitCsv(pending) };
}

function countQuotes(text: string): number {
  let n = 0;
  for (const ch of text) if (ch === '"') n++;
  return n;
}

export function splitCsv(record: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const ch = record[i] as string;
    if (quoted) {
      if (ch === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  fields.push(field);
  return fields;
}
