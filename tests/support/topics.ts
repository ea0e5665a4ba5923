import { randomUUID } from 'node:crypto';
import type { TopicEntry } from '../../topics/catalogue.ts';

/** A throwaway topic for one test, shaped like a catalogue entry (with its dead-letter topic). */
export function testTopic(name: string, partitions = 6): TopicEntry {
  return {
    name,
    description: 'test',
    key: 'test key',
    valueSchema: null,
    partitions,
    retentionMs: 86_400_000,
    cleanup: 'delete',
    dlq: `${name}.dlq`,
  };
}

export function uniqueName(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`;
}
