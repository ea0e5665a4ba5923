/**
 * `npm run demo`: brings the local stack up, `rheo up` on `examples/fraud/`, and lets the loop close by
 * itself (demo/loop.ts) while a payment system sends traffic. It leaves the platform running. The demo
 * is a client of Rheo's commands and topics; nothing in the CLI or the services imports it.
 */
import { processIO } from '../cli/command.ts';
import { stackCommand } from '../cli/commands/stack.ts';
import { FRAUD_PROJECT_DIR } from '../examples/fraud/index.ts';
import { loadServingSettings } from '../gateway/settings.ts';
import { defineArgs, explainArgumentFailure, parseArgs } from '../kernel/args.ts';
import { loadConfig } from '../kernel/config.ts';
import { createLogger } from '../kernel/log.ts';
import { runLoop } from './loop.ts';

const DEMO_ARGS = defineArgs({
  program: 'npm run demo --',
  flags: {
    rate: { type: 'number', integer: true, min: 1, description: 'live payments per second (default 30)' },
    'no-second-act': { type: 'boolean', description: 'stop once v2 is promoted (skip the worse v3 and its rollback)' },
  },
});

/** The demo's short windows: drift every 20 s of event time, the controller every 2 s. */
export const DEMO_SERVICE_ENV: Record<string, string> = {
  RHEO_DRIFT_WINDOW_MS: '20000',
  RHEO_DRIFT_LATENESS_MS: '2000',
  RHEO_DRIFT_MODELS: JSON.stringify({ fraud_detector: { minSamples: 200, cooldownMs: 1_800_000 } }),
  RHEO_ROLLOUT_INTERVAL_MS: '2000',
  // The gateway and scorer serve the demo's model (a stack used by other work may hold others).
  RHEO_SERVE_MODELS: 'fraud_detector',
};

async function main(argv: string[]): Promise<number> {
  let flags: { rate?: number | undefined; 'no-second-act'?: boolean | undefined };
  try {
    ({ flags } = parseArgs(DEMO_ARGS, argv));
  } catch (error) {
    const refused = explainArgumentFailure(error, 'demo', processIO);
    if (refused === undefined) throw error;
    return refused;
  }
  processIO.out('[0] Local stack');
  const up = await stackCommand.run(['up'], processIO);
  if (up !== 0) return up;
  const config = loadConfig();
  // The story is on stdout; the loop's own clients only log errors unless RHEO_LOG_LEVEL says otherwise.
  const logger = createLogger('demo', { defaultLevel: 'error' });
  const serving = loadServingSettings(config);
  const gatewayUrl = `http://127.0.0.1:${serving.gateway.port}`;
  const result = await runLoop(
    processIO,
    { config, logger },
    {
      project: FRAUD_PROJECT_DIR,
      model: 'fraud_detector',
      historyPayments: 10_000,
      ratePerS: flags.rate ?? 30,
      gatewayShare: 0.1,
      labelDelayMs: 3_000,
      inflation: 3,
      serviceEnv: DEMO_SERVICE_ENV,
      gatewayUrl,
      apiKey: 'rheo-local-predict-key',
      secondAct: !flags['no-second-act'],
      milestoneTimeoutMs: 300_000,
    },
  );
  const m = result.milestones;
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(0)} s`);
  processIO.out('\n[9] The loop closed by itself');
  processIO.out(
    `    services ready ${s(m.services_ready)} · v1 ${result.v1} in production ${s(m.v1_production)} · shift ${s(m.shift)} · drift request ${s(m.drift_request)} · v2 ${result.v2} registered ${s(m.v2_registered)} · promoted ${s(m.v2_production)}${result.v3 ? ` · v3 ${result.v3} rolled back ${s(m.v3_rolled_back)}` : ''}`,
  );
  processIO.out('    The platform keeps running. Look around:');
  processIO.out('      npx rheo ps                                   every service, its health, lag and restarts');
  processIO.out('      npx rheo models history fraud_detector        every lifecycle step with its actor and evidence');
  processIO.out('      npx rheo drift report --model fraud_detector  PSI/KL per feature and window');
  processIO.out(`      curl -s ${gatewayUrl}/v1/models/fraud_detector  the model as the gateway serves it`);
  processIO.out('      npx rheo logs rollout-controller              the controller saying what it waits for');
  processIO.out('      npx rheo down                                 services, then the stack');
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
