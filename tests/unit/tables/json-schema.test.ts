import { describe, expect, it } from 'vitest';
import { column, nullable, TABLES } from '../../../tables/catalogue.ts';
import { columnSchema, jsonTypeOf, responseObject } from '../../../tables/json-schema.ts';

describe('JSON schemas from the tables catalogue', () => {
  it('maps each ClickHouse type to the JSON type it is served as', () => {
    expect(jsonTypeOf(column('a', 'String'))).toBe('string');
    expect(jsonTypeOf(column('a', "DateTime('UTC')"))).toBe('string');
    expect(jsonTypeOf(column('a', 'Float64'))).toBe('number');
    for (const type of ['Int64', 'UInt64', 'UInt32', 'UInt8'] as const) expect(jsonTypeOf(column('a', type))).toBe('integer');
    expect(columnSchema(nullable('a', 'Float64'))).toEqual({ type: ['number', 'null'] });
  });

  it('declares a response object field by field, in order, mirrored or computed', () => {
    const object = responseObject(TABLES.retrain_requests, {
      id: 'event_id',
      at: { computed: { type: 'integer' } },
      base: 'base_version',
    });
    expect(Object.keys(object.properties)).toEqual(['id', 'at', 'base']);
    expect(object.mirrors).toEqual({ id: 'event_id', base: 'base_version' });
    expect(object.computed).toEqual(['at']);
    expect(object.properties.base).toEqual({ type: ['string', 'null'] });
  });
});
