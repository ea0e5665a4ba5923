import { describe, expect, it } from 'vitest';
import { describeServingSettings, loadServingSettings, parseApiKeys, servesFilter } from '../../../gateway/settings.ts';
import { loadConfig } from '../../../kernel/config.ts';

const config = loadConfig({});

describe('serving settings', () => {
  it('defaults to the local stack: file artifacts under the stack dir, local keys on loopback', () => {
    const s = loadServingSettings(config, {});
    expect(s.artifacts).toEqual({ kind: 'file', root: expect.stringMatching(/\.stack\/artifacts$/) });
    expect(s.gateway).toMatchObject({ host: '127.0.0.1', port: 8080, defaultKeys: true, requestTimeoutMs: 2000 });
    expect(s.host.models).toBeUndefined();
    expect(servesFilter(s)).toBeUndefined();
  });

  it('parses API keys with scopes (admin implies predict) and refuses weak or malformed ones', () => {
    expect(parseApiKeys('alice:0123456789abcdef:admin, ci:fedcba9876543210')).toEqual([
      { principal: 'alice', key: '0123456789abcdef', scopes: ['admin', 'predict'] },
      { principal: 'ci', key: 'fedcba9876543210', scopes: ['predict'] },
    ]);
    expect(() => parseApiKeys('alice:short')).toThrow(/shorter than 16/);
    expect(() => parseApiKeys('alice:0123456789abcdef:root')).toThrow(/unknown scope/);
    expect(() => parseApiKeys('no-key-here')).toThrow(/principal:key/);
  });

  it('refuses the built-in keys off loopback, and S3 without credentials', () => {
    expect(() => loadServingSettings(config, { RHEO_GATEWAY_HOST: '0.0.0.0' })).toThrow(/RHEO_GATEWAY_API_KEYS/);
    expect(
      loadServingSettings(config, { RHEO_GATEWAY_HOST: '0.0.0.0', RHEO_GATEWAY_API_KEYS: 'a:0123456789abcdef' }).gateway
        .defaultKeys,
    ).toBe(false);
    expect(() => loadServingSettings(config, { RHEO_ARTIFACT_STORE: 's3://models/rheo' })).toThrow(/RHEO_S3_ACCESS_KEY_ID/);
    const s3 = loadServingSettings(config, {
      RHEO_ARTIFACT_STORE: 's3://models/rheo',
      RHEO_S3_ACCESS_KEY_ID: 'id',
      RHEO_S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(s3.artifacts).toMatchObject({ kind: 's3', bucket: 'models', prefix: 'rheo' });
    expect(JSON.stringify(describeServingSettings(s3))).not.toMatch(/secret|rheo-local/);
  });

  it('scopes an instance to a serving pool', () => {
    const s = loadServingSettings(config, { RHEO_SERVE_MODELS: 'a, b' });
    expect(s.host.models).toEqual(['a', 'b']);
    const serves = servesFilter(s);
    expect([serves?.('a'), serves?.('c')]).toEqual([true, false]);
    expect(() => loadServingSettings(config, { RHEO_GATEWAY_PORT: 'x' })).toThrow(/RHEO_GATEWAY_PORT/);
  });
});
