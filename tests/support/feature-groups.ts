import { randomUUID } from 'node:crypto';
import type { FeatureGroupDecl, FeatureRow, FeatureValue } from '../../features/declaration.ts';

/** A unique snake_case name, so tests on the shared stack never meet each other's keys, tables or topics. */
export function uniqueGroupName(prefix: string): string {
  return `t_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

/** A test group with one feature of every type (nullable double, long with default, string, boolean). */
export function testGroup(prefix: string, overrides: Partial<FeatureGroupDecl> = {}): FeatureGroupDecl {
  return {
    name: uniqueGroupName(prefix),
    entity: 'card',
    description: 'A feature group made by a test.',
    version: 1,
    ttlSeconds: 3600,
    features: [
      { name: 'amount', type: 'double', nullable: true, description: 'An amount.' },
      { name: 'count', type: 'long', default: 0, description: 'A count.' },
      { name: 'label', type: 'string', description: 'A label.' },
      { name: 'flag', type: 'boolean', description: 'A flag.' },
    ],
    ...overrides,
  };
}

let sequence = 0;

/** A row of `testGroup`; values default from the times so each version is recognisable. */
export function row(
  entityId: string,
  eventTime: number,
  options: { createdTime?: number; eventId?: string; values?: Record<string, FeatureValue> } = {},
): FeatureRow {
  return {
    entityId,
    eventTime,
    createdTime: options.createdTime ?? eventTime,
    eventId: options.eventId ?? `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
    values: options.values ?? { amount: eventTime / 1000, count: eventTime, label: `v${eventTime}`, flag: eventTime % 2 === 0 },
  };
}
