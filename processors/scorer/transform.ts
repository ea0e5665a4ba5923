/**
 * The streaming scorer's transform: a chunk of PredictionRequests becomes Prediction events — the
 * routed (or pinned) version's, plus one per shadow version — through the same scoring path as the
 * gateway. Ids come from the request's event id and `event_time` from the request record's Kafka
 * timestamp, so a redelivered request produces identical events (downstream sinks deduplicate on them). A request that cannot be scored (unknown model,
 * missing inputs) is refused with its code and goes to the dead-letter topic.
 */
import { RheoError } from '../../kernel/errors.ts';
import type { SourceRecord, TransformResult } from '../../runtime/types.ts';
import type { PredictionInput, PredictionRequest } from '../../schemas/index.ts';
import { deterministicUuid } from '../../serving/scoring.ts';
import { deterministicIds, type Instance, type ScoringService } from '../../serving/serve.ts';

export function scorerTransform(scoring: ScoringService, now: () => number = performance.now.bind(performance)) {
  return async (records: ReadonlyArray<SourceRecord<PredictionRequest>>): Promise<TransformResult<PredictionInput>> => {
    const receivedAt = now();
    const result: TransformResult<PredictionInput> = { writes: [], rejected: [] };
    // One scoring call per (model, pinned version): each becomes micro-batches inside the host.
    const groups = new Map<string, Array<SourceRecord<PredictionRequest>>>();
    for (const record of records) {
      const key = `${record.value.model_name}\u0000${record.value.model_version ?? ''}`;
      const group = groups.get(key);
      if (group) group.push(record);
      else groups.set(key, [record]);
    }
    const outputs = new Map<SourceRecord<PredictionRequest>, PredictionInput[]>();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = (group[0] as SourceRecord<PredictionRequest>).value;
        const instances: Instance[] = group.map((r) => ({
          entityId: r.value.entity_id,
          inputs: r.value.inputs,
          requestTime: r.value.event_time,
          // The request record's Kafka timestamp, so a redelivered request yields identical events.
          eventTime: r.timestamp,
          requestId: r.value.event_id,
          ids: deterministicIds(r.value.event_id, deterministicUuid),
        }));
        try {
          const scored = await scoring.score(instances, {
            model: first.model_name,
            source: 'STREAMING',
            receivedAt,
            shadows: 'await',
            ...(first.model_version ? { version: first.model_version } : {}),
          });
          const shadows = await scored.shadows;
          const byRequest = new Map<string, PredictionInput[]>();
          for (const s of shadows) byRequest.set(s.request_id as string, [...(byRequest.get(s.request_id as string) ?? []), s]);
          scored.outcomes.forEach((outcome, i) => {
            const record = group[i] as SourceRecord<PredictionRequest>;
            if (!outcome.ok) {
              result.rejected.push({ record, code: outcome.error.code, reason: outcome.error.message });
              return;
            }
            outputs.set(record, [outcome.prediction, ...(byRequest.get(record.value.event_id) ?? [])]);
          });
        } catch (error) {
          const e = error instanceof RheoError ? error : new RheoError('PROCESSING_FAILED', String(error));
          for (const record of group) result.rejected.push({ record, code: e.code, reason: e.message });
        }
      }),
    );
    // Writes follow input order, so per-key order holds on the way out.
    for (const record of records) result.writes.push(...(outputs.get(record) ?? []));
    return result;
  };
}
