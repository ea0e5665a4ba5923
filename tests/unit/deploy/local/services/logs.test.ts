import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { follow, type LogFile, lastLines, logFiles, logsOf } from '../../../../../deploy/local/services/logs.ts';
import { sumMetric } from '../../../../../deploy/local/services/probe.ts';
import { waitFor } from '../../../../support/wait.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rheo-logs-'));
  for (const name of ['gateway', 'materializer-1', 'materializer-2', 'materializer-extra', 'supervisor'])
    await writeFile(join(dir, `${name}.log`), '');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rheo logs', () => {
  it('finds a member by name, a scaled service by its members, and nothing for an unknown name', () => {
    expect(logFiles(dir).map((f) => f.member)).toEqual([
      'gateway',
      'materializer-1',
      'materializer-2',
      'materializer-extra',
      'supervisor',
    ]);
    expect(logsOf(dir, 'gateway').map((f) => f.member)).toEqual(['gateway']);
    expect(logsOf(dir, 'materializer').map((f) => f.member)).toEqual(['materializer-1', 'materializer-2']);
    expect(logsOf(dir, 'materializer-2').map((f) => f.member)).toEqual(['materializer-2']);
    expect(logsOf(dir, 'scorer')).toEqual([]);
    expect(logsOf(join(dir, 'missing'), 'gateway')).toEqual([]);
  });

  it('prints the last N lines, also of a file bigger than one read', async () => {
    const path = join(dir, 'gateway.log');
    await writeFile(path, `${Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n')}\n`);
    expect(await lastLines(path, 3)).toEqual([
      `line 19997 ${'x'.repeat(20)}`,
      `line 19998 ${'x'.repeat(20)}`,
      `line 19999 ${'x'.repeat(20)}`,
    ]);
    expect(await lastLines(path, 0)).toEqual([]);
    await writeFile(path, 'one\ntwo');
    expect(await lastLines(path, 5)).toEqual(['one', 'two']);
  });

  it('follows complete lines appended after it started, until aborted', async () => {
    const file: LogFile = { member: 'gateway', path: join(dir, 'gateway.log') };
    await writeFile(file.path, 'old\n');
    const seen: string[] = [];
    const stop = new AbortController();
    const following = follow([file], (_, lines) => seen.push(...lines), stop.signal, 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await appendFile(file.path, 'new 1\nnew');
    await waitFor('the first line', () => seen.length === 1, { timeoutMs: 2_000, intervalMs: 20 });
    await appendFile(file.path, ' 2\n');
    await waitFor('the second line', () => seen.length === 2, { timeoutMs: 2_000, intervalMs: 20 });
    stop.abort();
    await following;
    expect(seen).toEqual(['new 1', 'new 2']);
  });
});

describe('lag from /metrics', () => {
  it('sums the consumer lag over partitions, and is undefined without the metric', () => {
    const text = [
      '# HELP rheo_processor_consumer_lag Records behind the high watermark, per partition',
      '# TYPE rheo_processor_consumer_lag gauge',
      'rheo_processor_consumer_lag{topic="a",partition="0"} 5',
      'rheo_processor_consumer_lag{topic="a",partition="1"} 7 1700000000000',
      'rheo_processor_consumer_lag_other 100',
    ].join('\n');
    expect(sumMetric(text, 'rheo_processor_consumer_lag')).toBe(12);
    expect(sumMetric('# TYPE rheo_processor_consumer_lag gauge\n', 'rheo_processor_consumer_lag')).toBe(0);
    expect(sumMetric('rheo_other 1\n', 'rheo_processor_consumer_lag')).toBeUndefined();
  });
});
