import { runDemo } from '../../demo/loop.ts';
import type { CliCommand } from '../command.ts';
import { stackCommand } from './stack.ts';

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'bring the local stack up and run the end-to-end demo loop',
  usage: 'rheo demo [--transactions N]',
  async run(argv, io) {
    const index = argv.indexOf('--transactions');
    const transactions = index >= 0 ? Number(argv[index + 1]) : undefined;
    io.out('[0] Local stack');
    const up = await stackCommand.run(['up'], io);
    if (up !== 0) return up;
    await runDemo(io, transactions ? { transactions } : {});
    return 0;
  },
};
