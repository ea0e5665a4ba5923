import { describe, expect, expectTypeOf, it } from 'vitest';
import { avroType } from '../../../schemas/avro.ts';
import { encodeFramed, resolutionProblems } from '../../../schemas/codec.ts';
import { SchemaInvalidError } from '../../../schemas/errors.ts';
import {
  declarationProblems,
  type FeatureEvent,
  type FeatureEventInput,
  type FeatureGroupDecl,
  featureGroupContract,
  featureGroupSchema,
  featureRecordName,
} from '../../../schemas/feature-group.ts';
import { unframe } from '../../../schemas/framing.ts';

const cardActivity = {
  name: 'card_activity',
  entity: 'card',
  description: 'Recent spending of a card.',
  version: 2,
  owner: 'fraud-team',
  ttlSeconds: 86_400,
  features: [
    { name: 'txn_count_1h', type: 'long', description: 'Transactions in the last hour.' },
    { name: 'txn_count_24h', type: 'long', description: 'Transactions in the last 24 hours.', default: 0 },
    {
      name: 'amount_avg_7d',
      type: 'double',
      nullable: true,
      description: 'Mean amount over 7 days, in EUR; null without history.',
    },
    { name: 'home_country', type: 'string', nullable: true, description: 'ISO country of the billing address.' },
    { name: 'is_premium', type: 'boolean', description: 'Whether the card is a premium product.' },
  ],
} as const satisfies FeatureGroupDecl;

describe('featureGroupSchema', () => {
  it('derives a documented record: entity id, typed features in order, event_time, created_time, event_id', () => {
    const schema = featureGroupSchema(cardActivity);
    expect(schema.name).toBe('CardActivity');
    expect(schema.namespace).toBe('io.rheo.features');
    expect(schema.doc).toContain('card_activity');
    expect(schema.doc).toContain('fraud-team');
    expect(schema.fields.map((f) => f.name)).toEqual([
      'entity_id',
      'txn_count_1h',
      'txn_count_24h',
      'amount_avg_7d',
      'home_country',
      'is_premium',
      'event_time',
      'created_time',
      'event_id',
    ]);
    const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
    expect(byName.txn_count_1h).toEqual({ name: 'txn_count_1h', type: 'long', doc: 'Transactions in the last hour.' });
    expect(byName.txn_count_24h?.default).toBe(0);
    expect(byName.amount_avg_7d).toMatchObject({ type: ['null', 'double'], default: null });
    expect(byName.event_time?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
    expect(byName.event_id?.type).toEqual({ type: 'string', logicalType: 'uuid' });
    for (const field of schema.fields) expect(field.doc?.length).toBeGreaterThan(3);
  });

  it('is pure: the same declaration gives the same schema', () => {
    expect(JSON.stringify(featureGroupSchema(cardActivity))).toBe(JSON.stringify(featureGroupSchema(cardActivity)));
  });

  it('gives a contract whose events round-trip and whose types follow the declaration', () => {
    const contract = featureGroupContract(cardActivity);
    expect(contract.fullName).toBe('io.rheo.features.CardActivity');
    expect(contract.version).toBe(2);
    const event: FeatureEvent<typeof cardActivity> = {
      entity_id: 'card-000042',
      txn_count_1h: 3,
      txn_count_24h: 11,
      amount_avg_7d: null,
      home_country: 'DE',
      is_premium: false,
      event_time: 1_767_225_600_000,
      created_time: 1_767_225_600_250,
      event_id: '0b6f3c2e-8f1a-4d7e-9a51-2c4d6e8f0a13',
    };
    expect({ ...contract.type.fromBuffer(unframe(encodeFramed(contract.type, 1, event)).body) }).toEqual(event);
    const input: FeatureEventInput<typeof cardActivity> = {
      entity_id: 'card-1',
      txn_count_1h: 1,
      is_premium: true,
      event_time: 1,
      created_time: 2,
      event_id: '0b6f3c2e-8f1a-4d7e-9a51-2c4d6e8f0a13',
    };
    expect(contract.type.fromBuffer(unframe(encodeFramed(contract.type, 1, input)).body)).toMatchObject({
      txn_count_24h: 0,
      amount_avg_7d: null,
    });
    expectTypeOf<FeatureEvent<typeof cardActivity>['txn_count_1h']>().toEqualTypeOf<number>();
    expectTypeOf<FeatureEvent<typeof cardActivity>['home_country']>().toEqualTypeOf<string | null>();
    expectTypeOf<FeatureEventInput<typeof cardActivity>>().toHaveProperty('is_premium').toEqualTypeOf<boolean>();
  });

  it('keeps BACKWARD compatibility when a nullable or defaulted feature is added, and breaks it on a type change', () => {
    const v1 = avroType(featureGroupSchema(cardActivity));
    const added = avroType(
      featureGroupSchema({
        ...cardActivity,
        version: 3,
        features: [
          ...cardActivity.features,
          { name: 'merchant_count_7d', type: 'long', default: 0, description: 'Distinct merchants.' },
        ],
      }),
    );
    expect(resolutionProblems(added, v1, 'BACKWARD')).toEqual([]);
    const retyped = avroType(
      featureGroupSchema({
        ...cardActivity,
        features: cardActivity.features.map((f) => (f.name === 'is_premium' ? { ...f, type: 'string' as const } : f)),
      }),
    );
    expect(resolutionProblems(retyped, v1, 'BACKWARD')).toHaveLength(1);
  });

  it('names every problem of a bad declaration at once', () => {
    const bad: FeatureGroupDecl = {
      name: 'Card Activity',
      entity: 'card',
      description: '',
      version: 0,
      features: [
        { name: 'event_time', type: 'long', description: 'clash' },
        { name: 'x', type: 'double', description: 'one' },
        { name: 'x', type: 'double', description: 'twice' },
        { name: 'y', type: 'long', default: 1.5, description: 'bad default' },
        { name: 'z', type: 'string', nullable: true, default: 'a', description: 'nullable with default' },
        { name: 'w', type: 'int' as never, description: 'unknown type' },
      ],
    };
    const problems = declarationProblems(bad);
    expect(problems.join('\n')).toMatch(
      /snake_case[\s\S]*description[\s\S]*version[\s\S]*collides[\s\S]*twice[\s\S]*not a long[\s\S]*nullable[\s\S]*unknown type/,
    );
    expect(() => featureGroupSchema(bad)).toThrow(SchemaInvalidError);
    expect(featureRecordName('merchant_risk_v2')).toBe('MerchantRiskV2');
  });
});
