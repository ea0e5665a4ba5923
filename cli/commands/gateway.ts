/** `rheo gateway`: runs the HTTP gateway until SIGTERM/SIGINT (then drains and flushes the prediction log). */
import { runGateway } from '../../gateway/main.ts';
import { defineArgs } from '../../kernel/args.ts';
import { defineCommand } from '../command.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';

const GATEWAY_ARGS = defineArgs({
  program: 'rheo gateway',
  flags: {
    port: {
      type: 'number',
      integer: true,
      min: 0,
      max: 65_535,
      description: 'port to listen on (default RHEO_GATEWAY_PORT, 8080)',
    },
    host: { type: 'string', value: 'H', description: 'address to listen on (default RHEO_GATEWAY_HOST, 127.0.0.1)' },
    project: PROJECT_FLAG,
  },
});

export const gatewayCommand = defineCommand({
  name: 'gateway',
  summary: 'run the prediction and model-management gateway (Fastify) until SIGTERM',
  args: GATEWAY_ARGS,
  async run({ flags }, io) {
    await openCliProject(flags.project); // a missing or invalid project is refused with what to do
    await runGateway({
      ...(flags.project ? { project: flags.project } : {}),
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.host ? { host: flags.host } : {}),
      onListening: (url) => io.err(`rheo gateway listening on ${url} (ready at ${url}/readyz; stop with Ctrl-C)`),
    });
    return 0;
  },
});
