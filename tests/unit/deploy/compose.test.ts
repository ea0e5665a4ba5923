/**
 * deploy/compose/compose.yaml against the Compose specification's JSON schema (the copy the npm package
 * `dclint` ships, `schemas/compose.schema.json`, downloaded by it from the compose-spec project), with
 * ajv; plus what the schema cannot say: every Rheo service runs the one image with only declared RHEO_*
 * settings and a health check, every `depends_on` condition can be met, Kafka has three KRaft brokers,
 * and the files it mounts exist. Docker itself does not run here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICES } from '../../../cli/commands/run.ts';
import { REPO_ROOT } from '../../support/metrics.ts';
import { undeclared } from '../../support/settings.ts';

const COMPOSE_DIR = join(REPO_ROOT, 'deploy', 'compose');
const FILE = join(COMPOSE_DIR, 'compose.yaml');
const SCHEMA = join(dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'schemas', 'compose.schema.json');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
}

// `merge: true`: the file shares settings between services with YAML merge keys (`<<: *rheo`), as Compose does.
const compose = parse(readFileSync(FILE, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const RHEO = ['rheo-apply', 'gateway', ...Object.keys(SERVICES)];

describe('deploy/compose/compose.yaml', () => {
  it('is valid against the Compose specification schema', () => {
    const { $schema, ...schema } = JSON.parse(readFileSync(SCHEMA, 'utf8')) as { $schema: string; title: string };
    expect(schema.title).toBe('Compose Specification');
    // Draft-07, which is ajv's own default: its meta-schema is registered under http://…/schema#, not this spelling.
    expect($schema).toMatch(/draft-07/);
    const ajv = new Ajv({ allErrors: true, strict: false });
    const valid = ajv.validate(schema, compose);
    expect(ajv.errorsText(ajv.errors, { separator: '\n' })).toBe('No errors');
    expect(valid).toBe(true);
  });

  it('runs every Rheo service from the one image built from deploy/image, with only declared RHEO_* settings', () => {
    for (const name of RHEO) {
      const service = services[name] as ComposeService;
      expect(service, name).toBeDefined();
      expect(service.image, name).toBe('rheo:local');
      expect(service.build, name).toEqual({ context: '../..', dockerfile: 'deploy/image/Dockerfile' });
      expect(existsSync(resolve(COMPOSE_DIR, service.build?.context ?? '', service.build?.dockerfile ?? ''))).toBe(true);
      const env = Object.keys(service.environment ?? {});
      expect(
        env.filter((k) => !k.startsWith('RHEO_')),
        name,
      ).toEqual([]);
      expect(undeclared(env), name).toEqual([]);
    }
    for (const name of Object.keys(SERVICES)) expect(services[name]?.command, name).toEqual(['run', name, '--from', 'earliest']);
    expect(services.gateway?.command).toEqual(['gateway']);
  });

  it('gives every long-running service a health check, and every depends_on a condition its target can meet', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'rheo-apply') expect(service.healthcheck?.disable).toBe(true);
      else expect(service.healthcheck?.test?.length, `${name} has a health check`).toBeGreaterThan(0);
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[target], `${name} depends on ${target}`).toBeDefined();
        if (condition === 'service_healthy')
          expect(services[target]?.healthcheck?.test, `${target} has a health check`).toBeDefined();
        else expect(condition, `${name} → ${target}`).toBe('service_completed_successfully');
      }
    }
    for (const name of RHEO.filter((n) => n !== 'rheo-apply'))
      expect(services[name]?.depends_on).toEqual({ 'rheo-apply': { condition: 'service_completed_successfully' } });
  });

  it('runs a 3-broker KRaft Kafka, the registry, Redis, ClickHouse, Prometheus and Grafana from official images', () => {
    const images = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.image]));
    for (const broker of ['kafka-1', 'kafka-2', 'kafka-3']) expect(images[broker]).toMatch(/^apache\/kafka:\d/);
    const voters = services['kafka-1']?.environment?.KAFKA_CONTROLLER_QUORUM_VOTERS;
    expect(voters?.split(',')).toHaveLength(3);
    expect(images.registry).toMatch(/^apicurio\/apicurio-registry:3\./);
    expect(images.redis).toMatch(/^redis:7/);
    expect(images.clickhouse).toMatch(/^clickhouse\/clickhouse-server:\d+\.(3|8)$/); // an LTS: x.3 or x.8
    expect(images.prometheus).toMatch(/^prom\/prometheus:v3\./);
    expect(images.grafana).toMatch(/^grafana\/grafana:\d/);
  });

  it('mounts Prometheus config, rules and Grafana provisioning that exist', () => {
    for (const name of ['prometheus', 'grafana'])
      for (const volume of services[name]?.volumes ?? []) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.')) expect(existsSync(resolve(COMPOSE_DIR, source)), `${name}: ${source}`).toBe(true);
      }
  });
});
