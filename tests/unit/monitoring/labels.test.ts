import { describe, expect, it } from 'vitest';
import {
  feedbackKey,
  LABEL_ID_NAMESPACE,
  type LabelDefaults,
  type LabelResult,
  labelEventId,
  parseLabelRow,
  parseLabelTime,
  uuidV5,
} from '../../../monitoring/labels.ts';
import { fixtures as feedbackFixtures } from '../../../schemas/contracts/feedback.fixture.ts';
import { CONTRACTS, type Feedback } from '../../../schemas/index.ts';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const defaults: LabelDefaults = { now: NOW };

function ok(result: LabelResult): Feedback {
  if ('problems' in result) throw new Error(`expected a Feedback event, got problems: ${result.problems.join('; ')}`);
  return result.feedback;
}

function problems(result: LabelResult): string[] {
  if ('feedback' in result) throw new Error(`expected problems, got ${JSON.stringify(result.feedback)}`);
  return result.problems;
}

describe('uuidV5', () => {
  it('matches the RFC 4122 name-based (SHA-1) algorithm', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'www.example.com')
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    // Python: uuid.uuid5(uuid.UUID(LABEL_ID_NAMESPACE), '["p-1",null,null,1,null]')
    expect(uuidV5('["p-1",null,null,1,null]', LABEL_ID_NAMESPACE)).toBe('ceaac080-003e-5502-b9e3-a3f48d55bd1d');
  });

  it('sets version 5 and the RFC variant, and refuses a namespace that is not a UUID', () => {
    const id = uuidV5('anything', LABEL_ID_NAMESPACE);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/not a UUID/);
  });
});

describe('parseLabelRow', () => {
  it('makes a Feedback event from a label by prediction id, with the defaults filled in', () => {
    const feedback = ok(parseLabelRow({ prediction_id: 'p-1', label: 1 }, defaults));
    expect(feedback).toEqual({
      event_id: labelEventId({ prediction_id: 'p-1', entity_id: null, reference_time: null, label: 1, model_name: null }),
      event_time: NOW,
      prediction_id: 'p-1',
      entity_id: null,
      reference_time: null,
      model_name: null,
      label: 1,
      observed_time: NOW,
      label_source: null,
    });
    expect(feedback.event_id).toBe('ceaac080-003e-5502-b9e3-a3f48d55bd1d');
    expect(CONTRACTS.Feedback.type.isValid(feedback, { noUndeclaredFields: true })).toBe(true);
    expect(feedbackKey(feedback)).toBe('p-1');
  });

  it('makes an entity label with its reference time, keyed by entity id', () => {
    const feedback = ok(
      parseLabelRow(
        {
          entity_id: 'card-7',
          reference_time: '2026-01-02T10:00:00Z',
          label: 0,
          observed_time: 1_767_400_000_000,
          model_name: 'fraud_detector',
          label_source: 'analyst_review',
        },
        defaults,
      ),
    );
    expect(feedback).toMatchObject({
      prediction_id: null,
      entity_id: 'card-7',
      reference_time: Date.UTC(2026, 0, 2, 10),
      label: 0,
      observed_time: 1_767_400_000_000,
      model_name: 'fraud_detector',
      label_source: 'analyst_review',
      event_time: NOW,
    });
    expect(feedbackKey(feedback)).toBe('card-7');
  });

  it('keys by prediction id when both ids are given, and keeps both', () => {
    const feedback = ok(parseLabelRow({ prediction_id: 'p-2', entity_id: 'card-2', label: 1 }, defaults));
    expect(feedback).toMatchObject({ prediction_id: 'p-2', entity_id: 'card-2', reference_time: null });
    expect(feedbackKey(feedback)).toBe('p-2');
  });

  it('refuses a row naming neither a prediction nor an entity', () => {
    expect(problems(parseLabelRow({ label: 1 }, defaults))).toEqual(['prediction_id or entity_id is required (at least one)']);
    expect(problems(parseLabelRow({ prediction_id: '', entity_id: '  ', label: '1' }, defaults, { text: true }))).toEqual([
      'prediction_id or entity_id is required (at least one)',
    ]);
    expect(problems(parseLabelRow({ prediction_id: null, entity_id: null, label: 1 }, defaults))).toContain(
      'prediction_id or entity_id is required (at least one)',
    );
  });

  it('requires reference_time when labelling by entity only', () => {
    expect(problems(parseLabelRow({ entity_id: 'card-1', label: 1 }, defaults))).toEqual([
      'reference_time is required when labelling by entity_id (no prediction_id)',
    ]);
    expect(problems(parseLabelRow({ entity_id: 'card-1', reference_time: '', label: '1' }, defaults, { text: true }))).toEqual([
      'reference_time is required when labelling by entity_id (no prediction_id)',
    ]);
  });

  it('refuses bad times, saying which column and why', () => {
    const base = { entity_id: 'card-1', label: 1 };
    expect(problems(parseLabelRow({ ...base, reference_time: 'yesterday' }, defaults))[0]).toMatch(
      /^reference_time must be epoch milliseconds or an ISO-8601 time .*, got "yesterday"$/,
    );
    expect(problems(parseLabelRow({ ...base, reference_time: '2026-02-30T10:00:00Z' }, defaults))[0]).toMatch(
      /^reference_time is not a real date and time/,
    );
    expect(problems(parseLabelRow({ ...base, reference_time: '2026-01-02T10:00:00' }, defaults))[0]).toMatch(
      /^reference_time needs a time zone/,
    );
    expect(problems(parseLabelRow({ ...base, reference_time: 1_767_398_400 }, defaults))[0]).toMatch(
      /^reference_time looks like epoch seconds/,
    );
    expect(problems(parseLabelRow({ ...base, reference_time: -5 }, defaults))[0]).toMatch(/^reference_time must be epoch/);
    expect(problems(parseLabelRow({ ...base, reference_time: 1.5e12 + 0.5 }, defaults))[0]).toMatch(/whole number/);
    expect(problems(parseLabelRow({ ...base, reference_time: true }, defaults))[0]).toMatch(/^reference_time must be/);
    expect(problems(parseLabelRow({ prediction_id: 'p', label: 1, observed_time: 'soon' }, defaults))[0]).toMatch(
      /^observed_time must be epoch milliseconds/,
    );
  });

  it('reads epoch ms (number or digits) and ISO-8601 with a zone, offsets, fractions and bare dates', () => {
    expect(parseLabelTime(1_767_398_400_000)).toBe(1_767_398_400_000);
    expect(parseLabelTime(' 1767398400000 ')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2026-01-03T00:00:00Z')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2026-01-03T00:00:00.123456Z')).toBe(1_767_398_400_123);
    expect(parseLabelTime('2026-01-03T01:00:00+01:00')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2026-01-02T19:00-0500')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2026-01-03 00:00:00z')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2026-01-03')).toBe(1_767_398_400_000);
    expect(parseLabelTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(() => parseLabelTime('2025-02-29')).toThrow(/not a real date/);
    expect(() => parseLabelTime('2026-01-03T24:00:00Z')).toThrow(/not a real date/);
    expect(() => parseLabelTime('2026-01-03T00:00:00+25:00')).toThrow(/time zone offset/);
  });

  it('refuses a label that is missing or not a finite number', () => {
    expect(problems(parseLabelRow({ prediction_id: 'p' }, defaults))).toEqual(['label is missing']);
    expect(problems(parseLabelRow({ prediction_id: 'p', label: '' }, defaults, { text: true }))).toEqual(['label is missing']);
    for (const label of ['fraud', '1x', '0x10', 'Infinity', 'NaN'])
      expect(problems(parseLabelRow({ prediction_id: 'p', label }, defaults, { text: true }))).toEqual([
        `label must be a finite number (or true/false), got ${JSON.stringify(label)}`,
      ]);
    expect(problems(parseLabelRow({ prediction_id: 'p', label: Number.NaN }, defaults))[0]).toMatch(
      /^label must be a finite number/,
    );
    expect(problems(parseLabelRow({ prediction_id: 'p', label: Number.POSITIVE_INFINITY }, defaults))[0]).toMatch(
      /^label must be/,
    );
    // JSON values keep their type: a quoted number is text, not a number.
    expect(problems(parseLabelRow({ prediction_id: 'p', label: '1' }, defaults))[0]).toMatch(/^label must be a finite number/);
    expect(problems(parseLabelRow({ prediction_id: 'p', label: [1] }, defaults))[0]).toMatch(/^label must be a finite number/);
  });

  it('accepts true/false as 1/0, and numbers in CSV text', () => {
    const label = (value: unknown, text = false) =>
      ok(parseLabelRow({ prediction_id: 'p', label: value }, defaults, { text })).label;
    expect(label(true)).toBe(1);
    expect(label(false)).toBe(0);
    expect(label('TRUE', true)).toBe(1);
    expect(label(' false ', true)).toBe(0);
    expect(label('0.25', true)).toBe(0.25);
    expect(label('-3e2', true)).toBe(-300);
    expect(label('.5', true)).toBe(0.5);
    expect(label(42.5)).toBe(42.5);
  });

  it('names every unknown column', () => {
    const found = problems(parseLabelRow({ prediction_id: 'p', label: 1, lable: 1, score: 0.3 }, defaults));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^unknown column "lable" \(the columns are prediction_id, entity_id, reference_time, label/);
    expect(found[1]).toMatch(/^unknown column "score"/);
  });

  it('refuses ids and names that are not strings in JSON', () => {
    expect(problems(parseLabelRow({ entity_id: 42, reference_time: NOW, label: 1 }, defaults))).toEqual([
      'entity_id must be a string, got 42',
    ]);
    expect(problems(parseLabelRow({ prediction_id: 'p', label: 1, model_name: 7 }, defaults))).toEqual([
      'model_name must be a string, got 7',
    ]);
  });

  it('takes model_name and label_source from the flags when the row gives none, the row winning otherwise', () => {
    const withFlags: LabelDefaults = { now: NOW, model: 'fraud_detector', source: 'chargeback' };
    expect(ok(parseLabelRow({ prediction_id: 'p', label: 1 }, withFlags))).toMatchObject({
      model_name: 'fraud_detector',
      label_source: 'chargeback',
    });
    expect(
      ok(parseLabelRow({ prediction_id: 'p', label: '1', model_name: '', label_source: '' }, withFlags, { text: true })),
    ).toMatchObject({ model_name: 'fraud_detector', label_source: 'chargeback' });
    expect(
      ok(parseLabelRow({ prediction_id: 'p', label: 1, model_name: 'other', label_source: 'analyst' }, withFlags)),
    ).toMatchObject({
      model_name: 'other',
      label_source: 'analyst',
    });
    expect(ok(parseLabelRow({ prediction_id: 'p', label: 1 }, { now: NOW, model: '', source: '' }))).toMatchObject({
      model_name: null,
      label_source: null,
    });
  });

  it('derives a stable event id from the content, different for different labels', () => {
    const row = { entity_id: 'card-1', reference_time: '1767398400000', label: '1', model_name: 'm' };
    const first = ok(parseLabelRow(row, defaults, { text: true }));
    // Another run (later now, other observed time and source) of the same row: the same id.
    const again = ok(
      parseLabelRow(
        { ...row, observed_time: '2026-01-04T00:00:00Z', label_source: 'x' },
        { now: NOW + 86_400_000 },
        { text: true },
      ),
    );
    expect(again.event_id).toBe(first.event_id);
    expect(again.event_time).not.toBe(first.event_time);
    // The same content written differently is the same label.
    expect(
      ok(parseLabelRow({ ...row, reference_time: '2026-01-03T00:00:00Z', label: 'true' }, defaults, { text: true })).event_id,
    ).toBe(first.event_id);
    expect(
      ok(parseLabelRow({ entity_id: 'card-1', reference_time: 1_767_398_400_000, label: 1, model_name: 'm' }, defaults)).event_id,
    ).toBe(first.event_id);
    const variants = [
      { ...row, entity_id: 'card-2' },
      { ...row, reference_time: '1767398400001' },
      { ...row, label: '0' },
      { ...row, model_name: 'n' },
      { ...row, model_name: '' },
      { ...row, prediction_id: 'p-1' },
    ];
    const ids = new Set([first.event_id, ...variants.map((v) => ok(parseLabelRow(v, defaults, { text: true })).event_id)]);
    expect(ids.size).toBe(variants.length + 1);
    // The --model default is part of the content.
    expect(ok(parseLabelRow({ ...row, model_name: '' }, { now: NOW, model: 'm' }, { text: true })).event_id).toBe(first.event_id);
  });

  it('keeps a given event_id (lower-cased) and refuses one that is not a UUID', () => {
    const id = '7E0A3B6C-4D9F-4AB5-82E8-F3B4A5C6D7E8';
    expect(ok(parseLabelRow({ prediction_id: 'p', label: 1, event_id: id }, defaults)).event_id).toBe(id.toLowerCase());
    expect(problems(parseLabelRow({ prediction_id: 'p', label: 1, event_id: 'abc' }, defaults))).toEqual([
      'event_id must be a UUID, got "abc"',
    ]);
  });

  it('lists every problem of a row at once', () => {
    const found = problems(
      parseLabelRow({ entity_id: 'e', label: 'x', observed_time: 'later', extra: '1' }, defaults, { text: true }),
    );
    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/unknown column "extra"/);
    expect(found.join('\n')).toMatch(/reference_time is required/);
    expect(found.join('\n')).toMatch(/label must be a finite number/);
    expect(found.join('\n')).toMatch(/observed_time must be epoch/);
  });

  it('produces what the fixtures of the contract hold, from their columns', () => {
    for (const fixture of feedbackFixtures) {
      const { event_time: now, ...row } = fixture;
      expect(ok(parseLabelRow(row, { now }))).toEqual(fixture);
    }
  });
});
