/**
 * The rows of a JSONL or CSV file, as the commands that load files (`rheo produce`, `rheo label`)
 * read them: a JSON object per line, or a CSV record per row by header name (text cells, `text:
 * true`), each with its line number, or the reasons the line is not a row. Blank JSONL lines are
 * skipped; a CSV header naming a column twice makes every row a problem. What a row means is the
 * caller's parser's business.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { csvRecords } from '../features/input.ts';
import { errorMessage } from '../kernel/errors.ts';

export type FileRow = { line: number; row: Record<string, unknown>; text: boolean } | { line: number; problems: string[] };

export async function* readFileRows(path: string, format: 'jsonl' | 'csv'): AsyncIterable<FileRow> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        yield { line, problems: [`not JSON: ${errorMessage(error)}`] };
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, problems: ['not a JSON object'] };
      else yield { line, row: value as Record<string, unknown>, text: false };
    }
    return;
  }
  let header: string[] | undefined;
  let twice: string[] = [];
  for await (const record of csvRecords(lines)) {
    if (!header) {
      const names = record.fields.map((h) => h.trim().replace(/^\uFEFF/, ''));
      header = names;
      twice = names.filter((name, i) => names.indexOf(name) !== i);
      continue;
    }
    if (twice.length > 0)
      yield { line: record.line, problems: [`the header names ${twice.map((n) => `"${n}"`).join(', ')} twice`] };
    else if (record.fields.length !== header.length)
      yield { line: record.line, problems: [`${record.fields.length} fields, the header has ${header.length}`] };
    else
      yield {
        line: record.line,
        row: Object.fromEntries(header.map((name, i) => [name, record.fields[i] as string])),
        text: true,
      };
  }
}
