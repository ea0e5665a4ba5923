import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { MONITORING_RESPONSE_OBJECTS, type MonitoringStore, monitoringRoutes } from '../../../gateway/monitoring.ts';
import { columnOf } from '../../../tables/catalogue.ts';
import { jsonTypeOf, type ResponseObject } from '../../../tables/json-schema.ts';

type Schema = { type?: unknown; properties?: Record<string, Schema>; items?: Schema };

const emptyStore: MonitoringStore = { drift: async () => [], retrainRequests: async () => [], quality: async () => [] };

/** The 200 response schemas of the monitoring routes, as Fastify registered them. */
async function registeredResponses(): Promise<Map<string, Schema>> {
  const responses = new Map<string, Schema>();
  const app = Fastify();
  app.addHook('onRoute', (route: RouteOptions) => {
    const response = (route.schema?.response as Record<string, Schema> | undefined)?.[200];
    if (response) responses.set(route.url, response);
  });
  await app.register(monitoringRoutes, { store: emptyStore, knowsModel: () => true });
  await app.ready();
  await app.close();
  return responses;
}

function expectMirrors(properties: Record<string, Schema> | undefined, object: ResponseObject): void {
  expect(properties, object.entry.name).toBeDefined();
  const fields = properties ?? {};
  for (const [field, columnName] of Object.entries(object.mirrors)) {
    const column = columnOf(object.entry, columnName);
    const type = jsonTypeOf(column);
    expect(fields[field], `${field} (${object.entry.name}.${columnName}) is in the response`).toBeDefined();
    expect(fields[field]?.type, `${field} mirrors ${object.entry.name}.${columnName}`).toEqual(
      column.nullable ? [type, 'null'] : type,
    );
  }
  // Every response field is either a mirrored column or declared as computed: nothing typed by hand unseen.
  expect(Object.keys(fields).sort()).toEqual([...Object.keys(object.mirrors), ...object.computed].sort());
}

describe('monitoring response schemas', () => {
  it('type every field that mirrors a catalogue column as the column is, and list every such column', async () => {
    const responses = await registeredResponses();
    const drift = responses.get('/v1/models/:name/drift')?.properties;
    const quality = responses.get('/v1/models/:name/quality')?.properties;
    expectMirrors(drift?.windows?.items?.properties, MONITORING_RESPONSE_OBJECTS.driftWindow);
    expectMirrors(drift?.retrain_requests?.items?.properties, MONITORING_RESPONSE_OBJECTS.retrainRequest);
    expectMirrors(quality?.windows?.items?.properties, MONITORING_RESPONSE_OBJECTS.qualityWindow);
    expectMirrors(quality?.overall?.items?.properties, MONITORING_RESPONSE_OBJECTS.qualityWindow);
  });

  it('serves numbers as JSON numbers and integers as integers', () => {
    expect(MONITORING_RESPONSE_OBJECTS.driftWindow.properties.psi).toEqual({ type: ['number', 'null'] });
    expect(MONITORING_RESPONSE_OBJECTS.driftWindow.properties.count).toEqual({ type: 'integer' });
    expect(MONITORING_RESPONSE_OBJECTS.retrainRequest.properties.base_version).toEqual({ type: ['string', 'null'] });
    expect(MONITORING_RESPONSE_OBJECTS.qualityWindow.properties.task).toEqual({ type: 'string' });
  });
});
