/**
 * `npm run demo`: brings the local stack up and runs the end-to-end demo loop. The demo is a client of
 * Rheo's commands and services; nothing in the CLI or the services imports it.
 */
import { processIO } from '../cli/command.ts';
import { stackCommand } from '../cli/commands/stack.ts';
import { defineArgs, explainArgumentFailure, parseArgs } from '../kernel/args.ts';
import { runDemo } from './loop.ts';

const DEMO_ARGS = defineArgs({
  program: 'npm run demo --',
  flags: {
    transactions: { type: 'number', integer: true, min: 1, description: 'card transactions to generate and score' },
  },
});

async function main(argv: string[]): Promise<number> {
  let transactions: number | undefined;
  try {
    ({ transactions } = parseArgs(DEMO_ARGS, argv).flags);
  } catch (error) {
    const refused = explainArgumentFailure(error, 'demo', processIO);
    if (refused === undefined) throw error;
    return refused;
  }
  processIO.out('[0] Local stack');
  const up = await stackCommand.run(['up'], processIO);
  if (up !== 0) return up;
  await runDemo(processIO, transactions ? { transactions } : {});
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
