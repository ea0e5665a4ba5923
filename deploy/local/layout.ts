/**
 * Where the local stack keeps things: downloads in `.cache/` (survives `down --purge`), runtime data,
 * configs, logs and pid files in the stack directory (`RHEO_STACK_DIR`, default `.stack/`).
 */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackDirFrom } from '../../kernel/config.ts';

export interface StackLayout {
  root: string;
  cache: string;
  stack: string;
  logs: string;
  pids: string;
  state: string;
  lock: string;
}

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function stackLayout(stackDir = stackDirFrom(), root = PROJECT_ROOT): StackLayout {
  const stack = isAbsolute(stackDir) ? stackDir : join(root, stackDir);
  return {
    root,
    cache: join(root, '.cache'),
    stack,
    logs: join(stack, 'logs'),
    pids: join(stack, 'pids'),
    state: join(stack, 'state.json'),
    lock: join(stack, 'up.lock'),
  };
}

export function pidFile(layout: StackLayout, service: string): string {
  return join(layout.pids, `${service}.json`);
}
