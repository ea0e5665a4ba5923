/**
 * The streaming scorer's two stages.
 *
 * `scoreRequests` (enrich, async: model inference): a chunk of PredictionRequests is scored through
 * the same scoring path as the gateway, one call per (model, pinned version), each becoming
 * micro-batches inside the host; shadow versions are awaited. Ids come from the request's event id
 * and `event_time` from the request record's Kafka timestamp, so a redelivered request produces
 * identical events (downstream sinks deduplicate on them).
 *
 * `scorerTransform` (pure): each scored request becomes its Prediction events — the routed (or
 * pinned) version's, then one per shadow — in input order; a request that could not be scored
 * (unknown model, missing inputs) is refused with its code and goes to the dead-letter topic.
 */
import { type ErrorCode, RheoError } from '../../kernel/errors.ts';
import type { EnrichResult, SourceRecord, TransformResult } from '../../runtime/types.ts';
import type { PredictionInput, PredictionRequest } from '../../schemas/index.ts';
import { deterministicIds, type Instance, type ScoringSources, scoreMany } from '../../serving/scoring.ts';

/** A request's scoring outcome: its predictions (served first, then shadows), or why it failed. */
export type ScoredRequest = { ok: true; predictions: PredictionInput[] } | { ok: false; code: ErrorCode; reason: string };

/**
 * How a model's requests name the ids of other entities: the model's own entity, and for each other
 * entity the request input holding its id (the project's `entityKeys`, e.g. merchant ← `merchant_id`).
 */
export type RequestEntities = ReadonlyMap<string, { entity: string; keys: Readonly<Record<string, string>> }>;

/** The entity ids of one request: its own entity's, and each other entity's from its input (when it is a string). */
export function requestEntities(
  request: Pick<PredictionRequest, 'model_name' | 'entity_id' | 'inputs'>,
  entities: RequestEntities | undefined,
): Record<string, string> | undefined {
  const declared = entities?.get(request.model_name);
  if (!declared) return undefined;
  const out: Record<string, string> = { [declared.entity]: request.entity_id };
  for (const [entity, input] of Object.entries(declared.keys)) {
    const id = request.inputs[input];
    if (typeof id === 'string' && id.length > 0) out[entity] = id;
  }
  return out;
}

export function scoreRequests(
  scoring: ScoringSources,
  now: () => number = performance.now.bind(performance),
  entities?: RequestEntities,
) {
  return async (records: ReadonlyArray<SourceRecord<PredictionRequest>>): Promise<EnrichResult<ScoredRequest>> => {
    const receivedAt = now();
    const groups = new Map<string, Array<SourceRecord<PredictionRequest>>>();
    for (const record of records) {
      const key = `${record.value.model_name}\u0000${record.value.model_version ?? ''}`;
      const group = groups.get(key);
      if (group) group.push(record);
      else groups.set(key, [record]);
    }
    const scored = new Map<SourceRecord<PredictionRequest>, ScoredRequest>();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = (group[0] as SourceRecord<PredictionRequest>).value;
        const instances: Instance[] = group.map((r) => ({
          entityId: r.value.entity_id,
          ...optionalEntities(requestEntities(r.value, entities)),
          inputs: r.value.inputs,
          requestTime: r.value.event_time,
          eventTime: r.timestamp,
          requestId: r.value.event_id,
          ids: requestIds(r.value.event_id),
        }));
        try {
          const result = await scoreMany(scoring, instances, {
            model: first.model_name,
            source: 'STREAMING',
            receivedAt,
            shadows: 'await',
            ...(first.model_version ? { version: first.model_version } : {}),
          });
          const shadows = new Map<string, PredictionInput[]>();
          for (const s of await result.shadows)
            shadows.set(s.request_id as string, [...(shadows.get(s.request_id as string) ?? []), s]);
          result.outcomes.forEach((outcome, i) => {
            const record = group[i] as SourceRecord<PredictionRequest>;
            scored.set(
              record,
              outcome.ok
                ? { ok: true, predictions: [outcome.prediction, ...(shadows.get(record.value.event_id) ?? [])] }
                : { ok: false, code: outcome.error.code, reason: outcome.error.message },
            );
          });
        } catch (error) {
          const e = error instanceof RheoError ? error : new RheoError('PROCESSING_FAILED', String(error));
          for (const record of group) scored.set(record, { ok: false, code: e.code, reason: e.message });
        }
      }),
    );
    return {
      records: records.map((record) => ({ ...record, value: scored.get(record) as ScoredRequest })),
      rejected: [],
    };
  };
}

/**
 * A streamed request's prediction id is the request's own id: the producer knows it, so its labels can
 * name the prediction (Feedback.prediction_id) without reading the predictions back. Event ids stay
 * derived per variant and version, so a redelivered request yields the same events.
 */
function requestIds(requestId: string) {
  const derived = deterministicIds(requestId);
  return (variant: Parameters<typeof derived>[0], version: string) => ({ ...derived(variant, version), predictionId: requestId });
}

function optionalEntities(entities: Record<string, string> | undefined): { entities?: Record<string, string> } {
  return entities ? { entities } : {};
}

export function scorerTransform(records: ReadonlyArray<SourceRecord<ScoredRequest>>): TransformResult<PredictionInput> {
  const result: TransformResult<PredictionInput> = { writes: [], rejected: [] };
  // Writes follow input order, so per-key order holds on the way out.
  for (const record of records) {
    if (record.value.ok) result.writes.push(...record.value.predictions);
    else result.rejected.push({ record, code: record.value.code, reason: record.value.reason });
  }
  return result;
}
