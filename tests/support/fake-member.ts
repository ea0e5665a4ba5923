/**
 * A stand-in for a Rheo service under the supervisor's unit test: serves `/readyz` (200) on
 * `RHEO_OPS_PORT`; with the argument `crash` it never gets ready and exits with status 3 after 100 ms.
 */
import { createServer } from 'node:http';

const mode = process.argv[2];
if (mode === 'crash') {
  process.stdout.write('fake member about to crash\n');
  setTimeout(() => process.exit(3), 100);
}
const server = createServer((request, response) => {
  response.writeHead(request.url === '/readyz' ? 200 : 404, { 'content-type': 'application/json' });
  response.end('{}');
});
if (mode !== 'crash')
  server.listen(Number(process.env.RHEO_OPS_PORT), '127.0.0.1', () => process.stdout.write(`fake member ${mode} listening\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
