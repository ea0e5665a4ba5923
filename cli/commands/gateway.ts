/** `rheo gateway`: runs the HTTP gateway until SIGTERM/SIGINT (then drains and flushes the prediction log). */
import { parseArgs } from 'node:util';
import { runGateway } from '../../gateway/main.ts';
import { type CliCommand, CliError } from '../command.ts';

export const gatewayCommand: CliCommand = {
  name: 'gateway',
  summary: 'run the prediction and model-management gateway (Fastify) until SIGTERM',
  usage: 'rheo gateway [--port N] [--host H]   (defaults: RHEO_GATEWAY_PORT=8080, RHEO_GATEWAY_HOST=127.0.0.1)',
  async run(argv, io) {
    let values: { port?: string; host?: string };
    try {
      ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' } }, strict: true }));
    } catch (error) {
      throw new CliError(`${error instanceof Error ? error.message : String(error)}\nusage: ${this.usage}`, 2);
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536))
      throw new CliError(`--port ${values.port}: not a port`, 2);
    await runGateway({
      ...(port !== undefined ? { port } : {}),
      ...(values.host ? { host: values.host } : {}),
      onListening: (url) => io.err(`rheo gateway listening on ${url} (ready at ${url}/readyz; stop with Ctrl-C)`),
    });
    return 0;
  },
};
