/**
 * The kafkajs log bridge: transient broker answers kafkajs retries itself are warnings, the rest stay
 * errors. The compression codecs the module registers in kafkajs: every one round-trips.
 */
import kafkajs, { type CompressionTypes as Compression, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransientBrokerError, KAFKA_CODECS, kafkaClientConfig } from '../../../kernel/kafka.ts';
import type { Logger } from '../../../kernel/log.ts';

describe('kafkajs logs', () => {
  it('tells transient broker answers from real errors', () => {
    expect(isTransientBrokerError("The coordinator is loading and hence can't process requests for this group")).toBe(true);
    expect(isTransientBrokerError('The group coordinator is not available')).toBe(true);
    expect(isTransientBrokerError('The group is rebalancing, so a rejoin is needed')).toBe(true);
    expect(isTransientBrokerError('Connection error: connect ECONNREFUSED 127.0.0.1:19092')).toBe(false);
    expect(isTransientBrokerError(undefined)).toBe(false);
  });

  it('logs a transient answer as a warning and anything else at ERROR as an error', () => {
    const lines: Array<[string, string]> = [];
    const logger = {
      error: (_: unknown, msg: string) => lines.push(['error', msg]),
      warn: (_: unknown, msg: string) => lines.push(['warn', msg]),
      debug: (_: unknown, msg: string) => lines.push(['debug', msg]),
    } as unknown as Logger;
    const config = kafkaClientConfig(
      { brokers: ['127.0.0.1:1'], clientId: 'test', connectionTimeoutMs: 1000, requestTimeoutMs: 1000 } as never,
      logger,
    );
    const log = (config.logCreator as NonNullable<typeof config.logCreator>)(logLevel.WARN);
    const entry = (level: logLevel, error: string) =>
      ({
        namespace: 'Connection',
        level,
        label: 'ERROR',
        log: { timestamp: '', message: `Response (${error})`, error },
      }) as never;
    log(entry(logLevel.ERROR, 'The group coordinator is not available'));
    log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    log({
      namespace: 'Producer',
      level: logLevel.WARN,
      label: 'WARN',
      log: { timestamp: '', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' },
    } as never);
    expect(lines.map(([level]) => level)).toEqual(['warn', 'error', 'debug']);
  });
});

const { CompressionCodecs, CompressionTypes } = kafkajs;

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
const codecOf = (type: Exclude<Compression, Compression.None>): Codec => (CompressionCodecs[type] as () => Codec)();

describe('compression codecs', () => {
  const records = Buffer.from(
    Array.from({ length: 2_000 }, (_, i) => `card-${i % 50}\u0000${(i * 1.25).toFixed(2)}\u0000merchant-${i % 7}`).join(''),
  );

  it.each([
    ['lz4', CompressionTypes.LZ4],
    ['snappy', CompressionTypes.Snappy],
    ['zstd', CompressionTypes.ZSTD],
    ['gzip', CompressionTypes.GZIP],
  ] as const)('%s: registered in kafkajs, compresses and decompresses a batch', async (name, type) => {
    expect(KAFKA_CODECS).toContain(name);
    const codec = codecOf(type);
    const compressed = await codec.compress({ buffer: records });
    expect(compressed.length).toBeLessThan(records.length / 2);
    expect(Buffer.compare(await codec.decompress(compressed), records)).toBe(0);
  });

  it('snappy reads the xerial framing Java producers write as well as raw blocks', async () => {
    const codec = codecOf(CompressionTypes.Snappy);
    const half = records.length >> 1;
    const blocks = [
      await codec.compress({ buffer: records.subarray(0, half) }),
      await codec.compress({ buffer: records.subarray(half) }),
    ];
    // xerial: magic, version 1, compatible version 1, then length-prefixed raw snappy blocks.
    const header = Buffer.from([130, 83, 78, 65, 80, 80, 89, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const framed = Buffer.concat([
      header,
      ...blocks.flatMap((b) => {
        const size = Buffer.alloc(4);
        size.writeUInt32BE(b.length);
        return [size, b];
      }),
    ]);
    expect(Buffer.compare(await codec.decompress(framed), records)).toBe(0);
  });
});
