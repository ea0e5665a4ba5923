/** The public entry (rheo.ts): the package version, the declaration helpers it re-exports working as themselves, and the TensorFlow.js export. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACTS, defineFeatureGroup, featureGroupSchema, layersModelToOnnx, SchemaInvalidError, VERSION } from '../../rheo.ts';
import { layersModelToOnnx as fromModule } from '../../trainers/export/layers-model.ts';

describe('rheo (public entry)', () => {
  it('VERSION is the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
  it('declares a feature group, derives its schema, and refuses an invalid one', () => {
    const group = defineFeatureGroup({
      name: 'user_activity',
      entity: 'user',
      description: 'clicks',
      version: 1,
      features: [{ name: 'clicks_1h', type: 'long', description: 'clicks in the last hour' }],
    } as const);
    expect(featureGroupSchema(group).fields.map((f) => f.name)).toEqual([
      'entity_id',
      'clicks_1h',
      'event_time',
      'created_time',
      'event_id',
    ]);
    expect(() => defineFeatureGroup({ name: 'Bad', entity: 'user', description: 'x', version: 1, features: [] })).toThrow(
      SchemaInvalidError,
    );
    expect(CONTRACTS.Prediction.name).toBe('Prediction');
  });
  it("exports layersModelToOnnx, the export of a TensorFlow.js model of the user's own (tests/unit/trainers/export)", () => {
    expect(layersModelToOnnx).toBe(fromModule);
  });
});
