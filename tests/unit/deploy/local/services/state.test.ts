import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stackLayout } from '../../../../../deploy/local/layout.ts';
import {
  memberAlive,
  readServicesState,
  type ServicesState,
  servicesLayout,
  supervisorAlive,
  writeServicesState,
} from '../../../../../deploy/local/services/state.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function sample(): ServicesState {
  return {
    version: 1,
    updated_at: '2026-01-01T00:00:00.000Z',
    supervisor: {
      pid: process.pid,
      marker: process.argv[1] ?? 'node',
      control_port: 40_000,
      started_at: '2026-01-01T00:00:00.000Z',
      project: '/p',
      stopping: false,
    },
    members: [
      {
        name: 'materializer-1',
        service: 'materializer',
        pid: 123,
        marker: 'cli/main.ts run materializer --from earliest --project /p',
        port: 19400,
        state: 'backoff',
        started_at: '2026-01-01T00:00:01.000Z',
        restarts: 2,
        crashlooping: false,
        last_exit: { code: null, signal: 'SIGKILL', at: '2026-01-01T00:00:02.000Z' },
        next_start_at: '2026-01-01T00:00:04.000Z',
        log: '/x/materializer-1.log',
      },
    ],
  };
}

describe('the services state file', () => {
  it('lives under the stack directory, its logs under the stack logs', () => {
    const layout = servicesLayout(stackLayout('/s'));
    expect(layout).toEqual({
      dir: '/s/services',
      state: '/s/services/state.json',
      plan: '/s/services/plan.json',
      logs: '/s/logs/services',
      supervisorLog: '/s/logs/services/supervisor.log',
    });
  });

  it('round-trips, written atomically (no temporary file left)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rheo-state-'));
    dirs.push(dir);
    const path = join(dir, 'services', 'state.json');
    await writeServicesState(path, sample());
    expect(await readServicesState(path)).toEqual(sample());
    const next = { ...sample(), members: [{ ...sample().members[0]!, restarts: 3 }] };
    await writeServicesState(path, next);
    expect((await readServicesState(path))?.members[0]?.restarts).toBe(3);
    expect(await readdir(join(dir, 'services'))).toEqual(['state.json']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(next);
  });

  it('reads a missing, garbled or foreign file as no state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rheo-state-'));
    dirs.push(dir);
    const path = join(dir, 'state.json');
    expect(await readServicesState(path)).toBeUndefined();
    await writeFile(path, '{"version": 1, "supervis');
    expect(await readServicesState(path)).toBeUndefined();
    await writeFile(path, JSON.stringify({ ...sample(), version: 2 }));
    expect(await readServicesState(path)).toBeUndefined();
    await writeFile(path, JSON.stringify({ ...sample(), members: [{ ...sample().members[0], state: 'sleeping' }] }));
    expect(await readServicesState(path)).toBeUndefined();
  });

  it('trusts a pid only while its command line carries the marker (a stale state is recognised)', () => {
    const state = sample();
    expect(supervisorAlive(state)).toBe(true); // this process, whose command line has its own script
    expect(supervisorAlive({ ...state, supervisor: { ...state.supervisor, marker: '/no/such/plan.json' } })).toBe(false);
    expect(supervisorAlive({ ...state, supervisor: { ...state.supervisor, pid: 2 ** 22 + 1 } })).toBe(false);
    expect(memberAlive({ ...state.members[0]!, pid: null })).toBe(false);
    expect(memberAlive({ ...state.members[0]!, pid: process.pid })).toBe(false);
  });
});
