/**
 * The whole suite, as `npm test` and CI run it: lint and format check, type check, then unit and
 * integration tests on the real local stack (started here when it is not up, and stopped again after).
 * The last line is `tests: N passed, M failed, K skipped`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../deploy/local/layout.ts';
import { stackDown, stackStatus } from '../../deploy/local/stack.ts';
import { defineArgs } from '../../kernel/args.ts';
import { type CliIO, defineCommand } from '../command.ts';
import { downCommand } from './services.ts';
import { stackCommand } from './stack.ts';

const bin = (name: string) => join(PROJECT_ROOT, 'node_modules', '.bin', name);

function run(command: string, args: string[], io: CliIO): Promise<number> {
  io.err(`$ ${[command.replace(`${PROJECT_ROOT}/`, ''), ...args].join(' ')}`);
  return new Promise((resolve) => {
    // kafkajs 2.2.4 schedules a negative timeout (treated as 1 ms); Node 24 warns in every test worker otherwise.
    const env = {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --disable-warning=TimeoutNegativeWarning`.trim(),
    };
    const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', (error) => {
      io.err(`cannot run ${command}: ${error.message}`);
      resolve(1);
    });
  });
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const TEST_ARGS = defineArgs({
  program: 'rheo test',
  positionals: [{ name: 'filters', description: 'vitest filters (test file paths or parts of them)', rest: true }],
  flags: {
    unit: { type: 'boolean', description: 'unit tests only (no stack needed)' },
    'no-lint': { type: 'boolean', description: 'skip the lint, format and type checks' },
  },
  notes: ['Arguments after -- go to vitest as they are (e.g. rheo test --unit -- -t "drift").'],
});

export const testCommand = defineCommand({
  name: 'test',
  summary: 'run lint, type check, unit and integration tests (starts the local stack when it is not up)',
  args: TEST_ARGS,
  async run({ flags, positionals }, io) {
    const unitOnly = flags.unit;
    const lint = !flags['no-lint'];
    const { filters } = positionals;
    const started = Date.now();
    if (lint) {
      if ((await run(bin('biome'), ['ci', '--reporter=summary', '.'], io)) !== 0)
        return fail(io, 'lint or format check failed (npm run format fixes formatting)');
      if ((await run(bin('tsc'), ['--noEmit', '-p', '.'], io)) !== 0) return fail(io, 'type check failed');
    }
    let startedStack = false;
    if (!unitOnly) {
      const status = await stackStatus();
      if (!status.services.every((s) => s.state === 'up')) {
        const code = await stackCommand.run(['up'], io);
        if (code !== 0) return fail(io, 'the local stack did not come up');
        startedStack = true;
      } else {
        // A platform left running (`npm run demo` leaves one) holds the services' ports and groups the
        // suites start themselves: stop its services, keep the stack.
        const down = await downCommand.run(['--keep-stack'], { out: () => undefined, err: (line) => io.err(line) });
        if (down !== 0) return fail(io, 'the Rheo services left running could not be stopped (`npx rheo down --keep-stack`)');
      }
    }
    const results = join(PROJECT_ROOT, '.stack', 'test-results.json');
    mkdirSync(join(PROJECT_ROOT, '.stack'), { recursive: true });
    let code: number;
    try {
      const projects = unitOnly ? ['--project', 'unit'] : [];
      code = await run(
        process.execPath,
        [
          join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
          'run',
          ...projects,
          '--reporter=default',
          '--reporter=json',
          `--outputFile.json=${results}`,
          ...filters,
        ],
        io,
      );
    } finally {
      if (startedStack) {
        io.err('stopping the local stack this run started');
        await stackDown({ progress: (line) => io.err(line) });
      }
    }
    let summary: VitestJson | undefined;
    try {
      summary = JSON.parse(readFileSync(results, 'utf8')) as VitestJson;
    } catch {
      summary = undefined;
    }
    io.out(`suite took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (summary)
      io.out(
        `tests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${summary.numPendingTests + summary.numTodoTests} skipped`,
      );
    else io.out('tests: 0 passed, 1 failed');
    return code;
  },
});

function fail(io: CliIO, reason: string): number {
  io.err(`rheo test: ${reason}`);
  io.out('tests: 0 passed, 1 failed');
  return 1;
}
