import { describe, expect, it } from 'vitest';
import { csvRecords, parseFeatureInput, splitCsv } from '../../../features/input.ts';
import { testGroup } from '../../support/feature-groups.ts';

const group = testGroup('input');
const options = { now: 5_000, newId: () => 'fixed-id' };

async function* lines(text: string) {
  for (const line of text.split('\n')) yield line;
}

describe('feature input checked against the declaration', () => {
  it('accepts a JSON event, filling event_id, created_time and defaults', () => {
    expect(
      parseFeatureInput(
        group,
        { entity_id: 'c1', amount: 1.5, label: 'x', flag: false, event_time: '2026-01-01T00:00:00Z' },
        options,
      ),
    ).toEqual({
      event: {
        entity_id: 'c1',
        amount: 1.5,
        count: 0,
        label: 'x',
        flag: false,
        event_time: Date.UTC(2026, 0, 1),
        created_time: 5_000,
        event_id: 'fixed-id',
      },
    });
  });

  it('names every problem: unknown fields, missing values, wrong JSON types, bad times', () => {
    const result = parseFeatureInput(
      group,
      { entity_id: '', labl: 'typo', count: '3', flag: 1, event_time: 'yesterday' },
      options,
    );
    expect('problems' in result && result.problems).toEqual([
      `"labl" is not a feature of ${group.name}`,
      'entity_id is missing',
      'event_time must be epoch milliseconds or an ISO-8601 time, got "yesterday"',
      'feature "count" must be an integer (long), got "3"',
      'feature "label" is missing (it is not nullable and has no default)',
      'feature "flag" must be a boolean, got 1',
    ]);
  });

  it('converts CSV text by declared type; empty cells are null or the default', () => {
    const input = {
      entity_id: 'c1',
      amount: '',
      count: ' 7 ',
      label: 'a,b',
      flag: 'TRUE',
      event_time: '1700000000000',
      created_time: '',
      event_id: '',
    };
    expect(parseFeatureInput(group, input, { ...options, text: true })).toEqual({
      event: {
        entity_id: 'c1',
        amount: null,
        count: 7,
        label: 'a,b',
        flag: true,
        event_time: 1_700_000_000_000,
        created_time: 5_000,
        event_id: 'fixed-id',
      },
    });
    const bad = parseFeatureInput(group, { ...input, count: '7.5', flag: 'maybe', amount: 'abc' }, { ...options, text: true });
    expect('problems' in bad && bad.problems.join('\n')).toMatch(
      /amount.*finite double[\s\S]*count.*integer[\s\S]*flag.*boolean/,
    );
  });

  it('splits CSV records: quotes, doubled quotes, commas and line breaks inside fields', async () => {
    expect(splitCsv('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
    const records = [];
    for await (const r of csvRecords(lines('h1,h2\n"multi\nline",x\r\n\nlast,"y"'))) records.push(r);
    expect(records).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['multi\nline', 'x'] },
      { line: 5, fields: ['last', 'y'] },
    ]);
  });
});
