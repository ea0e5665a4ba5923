/**
 * Demo step: the model registry and the gateway on the running stack.
 *
 * Two fraud models are trained in plain TypeScript on the generator's transactions (logistic
 * regressions, exported with the project's ONNX builder), registered with their artifacts, and the
 * first is promoted through a request and someone else's approval. A gateway starts in-process and
 * scores a few payments; then the second version is canaried, promoted, and rolled back — and each
 * change shows up in the answers within moments.
 */
import type { CliIO } from '../../cli/command.ts';
import { table } from '../../cli/format.ts';
import { trainFraudModel } from '../../examples/fraud/fraud-model.ts';
import { take, transactions } from '../../examples/fraud/generator.ts';
import { fraud } from '../../examples/fraud/index.ts';
import { startGateway } from '../../gateway/main.ts';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { RheoError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import { RegistryClient } from '../../registry/client.ts';
import { sortedVersions } from '../../registry/queries.ts';

export const SERVING_DEMO_MODEL = 'fraud_serving_demo';
const PREDICT_KEY = 'rheo-local-predict-key';
const ADMIN_KEY = 'rheo-local-admin-key';

interface Answer {
  predictions: Array<{ entity_id: string; version: string; variant: string; score: number; label: string | null }>;
}

export async function servingStep(io: CliIO, ctx: { config: RheoConfig; logger: Logger }): Promise<void> {
  const say = (text: string) => io.out(`    ${text.split('\n').join('\n    ')}`);
  const model = SERVING_DEMO_MODEL;
  const settings = loadServingSettings(ctx.config);
  const store = openArtifactStore(settings);

  const weak = trainFraudModel({ variant: 'raw', rows: 8_000, seed: 21 });
  const strong = trainFraudModel({ variant: 'engineered', rows: 20_000, seed: 22 });
  say(
    `trained two logistic regressions in TypeScript on generated payments → ONNX (${weak.bytes.length} and ${strong.bytes.length} bytes)`,
  );
  say(`held-out AUC: raw features ${weak.auc.toFixed(3)}, log-amount + night flag ${strong.auc.toFixed(3)}`);

  const client = await RegistryClient.connect(ctx.config, ctx.logger);
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    // Fresh version numbers on every run: the registry log is kept forever.
    const existing = client.state.models.get(model);
    const latest = existing ? sortedVersions(existing).at(-1)?.version : undefined;
    const major = latest ? Number(latest.split('.')[0]) + 1 : 1;
    const [v1, v2] = [`${major}.0.0`, `${major}.1.0`];
    await client.register(store, weak.bytes, { ...weak.registration, model, version: v1, actor: 'service:trainer' });
    const registered = await client.register(store, strong.bytes, {
      ...strong.registration,
      model,
      version: v2,
      actor: 'service:trainer',
    });
    const spec = registered.state.models.get(model)?.versions.get(v2)?.spec;
    say(
      `registered ${model} ${v1} and ${v2} (artifacts content-addressed: sha256 ${spec?.sha256.slice(0, 12)}… → ${spec?.artifact_uri})`,
    );

    await client.execute({
      kind: 'request',
      model,
      version: v1,
      to: 'PRODUCTION',
      actor: 'user:alice',
      checklist: ['held-out AUC reviewed'],
    });
    try {
      await client.execute({ kind: 'approve', model, version: v1, actor: 'user:alice', confirm: true });
    } catch (error) {
      if (!(error instanceof RheoError)) throw error;
      say(`alice approving her own request is refused: ${error.code} (${error.message.split(':')[0]})`);
    }
    await client.execute({ kind: 'approve', model, version: v1, actor: 'user:bob', confirm: true, reason: 'AUC ok' });
    say(`bob approved → ${v1} is in production (one STAGE_CHANGED event on models.lifecycle)`);

    gateway = await startGateway(ctx.config, { ...settings, host: { ...settings.host, models: [model] } }, ctx.logger, {
      port: 0,
      features: fraud.features,
    });
    await gateway.started;
    for (let i = 0; i < 300 && !gateway.services.readiness().ready; i++) await new Promise((r) => setTimeout(r, 100));
    const url = gateway.url;
    say(`gateway listening on ${url} (ready: ${gateway.services.readiness().ready})`);

    const payments = take(transactions({ seed: 99, startTime: Date.now() - 400 * 300_000, meanGapMs: 300_000 }), 400);
    const predict = async (list: typeof payments): Promise<Answer> => {
      const response = await fetch(`${url}/v1/predict/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': PREDICT_KEY },
        body: JSON.stringify({
          model,
          instances: list.map((t) => ({
            entity_id: t.cardId,
            inputs: {
              amount: t.amount,
              hour_of_day: t.hourOfDay,
              distance_from_home_km: t.distanceFromHomeKm,
              merchant_risk: t.merchantRisk,
            },
          })),
        }),
      });
      if (!response.ok) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as Answer;
    };
    const admin = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    };
    const split = (answer: Answer) => {
      const counts = new Map<string, number>();
      for (const p of answer.predictions)
        counts.set(`${p.version} ${p.variant.toLowerCase()}`, (counts.get(`${p.version} ${p.variant.toLowerCase()}`) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ');
    };
    /** Polls until every answer comes from the expected versions; returns how long the change took to show. */
    const settle = async (started: number, ok: (a: Answer) => boolean): Promise<{ ms: number; answer: Answer }> => {
      for (;;) {
        const answer = await predict(payments);
        if (ok(answer)) return { ms: Math.round(performance.now() - started), answer };
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const first = await predict(payments.slice(0, 5));
    io.out(
      table(
        first.predictions.map((p, i) => ({
          card: p.entity_id,
          amount: payments[i]?.amount,
          hour: payments[i]?.hourOfDay,
          km_from_home: payments[i]?.distanceFromHomeKm,
          fraud_probability: p.score,
          label: p.label,
          version: p.version,
          variant: p.variant,
        })),
      )
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n'),
    );

    let started = performance.now();
    await admin('PUT', `/v1/models/${model}/traffic`, {
      canary: { version: v2, percent: 25 },
      reason: 'try the engineered features',
    });
    let settled = await settle(started, (a) => a.predictions.some((p) => p.version === v2));
    say(
      `canary ${v2} at 25% (by a stable hash of the card id) → in force after ${settled.ms} ms; 400 payments: ${split(settled.answer)}`,
    );

    started = performance.now();
    await client.execute({ kind: 'request', model, version: v2, to: 'PRODUCTION', actor: 'user:alice' });
    await client.execute({ kind: 'approve', model, version: v2, actor: 'user:bob' });
    settled = await settle(started, (a) => a.predictions.every((p) => p.version === v2));
    say(`${v2} promoted (request + approval) → ${split(settled.answer)} after ${settled.ms} ms`);

    started = performance.now();
    await admin('POST', `/v1/models/${model}/rollback`, { reason: 'demo: pretend the live fraud rate looks wrong' });
    settled = await settle(started, (a) => a.predictions.every((p) => p.version === v1));
    say(
      `rollback (one ROLLED_BACK event) → ${split(settled.answer)}, ${settled.ms} ms from the HTTP call to every answer on ${v1}`,
    );

    const history = client.state.models.get(model)?.productionHistory ?? [];
    await new Promise((r) => setTimeout(r, 200));
    const stats = gateway.services.readiness().checks.prediction_log?.detail as { logged: number; lost: number } | undefined;
    say(
      `production history: ${history.map((p) => `${p.version} (${p.via}${p.approvedBy ? `, approved by ${p.approvedBy.replace('user:', '')}` : ''})`).join(' → ')}`,
    );
    say(
      `every answer was also produced to Kafka \`predictions\` without making the reply wait (${stats?.logged ?? 0} logged, ${stats?.lost ?? 0} lost)`,
    );
    say(
      [
        'where to look:',
        `  npx rheo models describe ${model}          (versions, requests, approvals, traffic)`,
        `  npx rheo models history ${model} --at <time>  (who was in production then, and who approved it)`,
        `  npx rheo gateway   then   curl -s localhost:8080/v1/predict -H 'x-api-key: ${PREDICT_KEY}' -H 'content-type: application/json' \\`,
        `    -d '{"model":"${model}","entity_id":"card-1","inputs":{"amount":420,"hour_of_day":3,"distance_from_home_km":80,"merchant_risk":0.6}}'`,
        `  Open Inference Protocol v2: POST /v2/models/${model}/infer;  OpenAPI: GET /openapi.json;  metrics: GET /metrics`,
        `  ClickHouse (with the archiver running): SELECT model_version, variant, count() FROM rheo.predictions FINAL WHERE model_name = '${model}' GROUP BY model_version, variant`,
      ].join('\n'),
    );
  } finally {
    await gateway?.close();
    await client.close();
  }
}
