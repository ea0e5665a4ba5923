/**
 * Apicurio Registry 3 from Maven Central's `apicurio-registry-app-<v>-all.tar.gz` (a Quarkus fast-jar),
 * serving the Confluent-compatible API at /apis/ccompat/v7. Storage is SQL on an H2 database file under
 * the stack directory: it persists across restarts on its own, starts without waiting for Kafka, and is
 * independent of the broker mode (KafkaSQL would replay a journal topic into memory at each start and
 * tie the schemas to whichever Kafka cluster is up).
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localPortsFrom } from '../../kernel/config.ts';
import { download, httpGet, MAVEN_CENTRAL, mavenSha1, run } from './fetch.ts';
import type { StackLayout } from './layout.ts';
import type { LocalService, ServiceContext } from './service.ts';

/** 3.3.x is the newest 3.x served; it needs Java 21 (java.ts provides one when the system has 17). */
export const APICURIO_VERSION = '3.3.3';
export const REGISTRY_HEAP = '384m';

export function registryUrl(): string {
  return `http://127.0.0.1:${localPortsFrom().registry}/apis/ccompat/v7`;
}

export function apicurioArtifactUrl(version: string): string {
  return `${MAVEN_CENTRAL}/io/apicurio/apicurio-registry-app/${version}/apicurio-registry-app-${version}-all.tar.gz`;
}

/** Quarkus and Apicurio settings, passed as system properties (they override the app's application.properties). */
export function registryProperties(dataDir: string): Record<string, string> {
  return {
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': String(localPortsFrom().registry),
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': String(localPortsFrom().registryManagement),
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.url': `jdbc:h2:file:${join(dataDir, 'registry')}`,
    'apicurio.datasource.jdbc.initial-size': '2',
    'apicurio.datasource.jdbc.min-size': '2',
    'apicurio.datasource.jdbc.max-size': '20',
    // A development stack: tests and tools may delete subjects through ccompat.
    'apicurio.rest.deletion.group.enabled': 'true',
    'apicurio.rest.deletion.artifact.enabled': 'true',
    'apicurio.rest.deletion.artifact-version.enabled': 'true',
    'quarkus.log.category."io.quarkus.http.access-log".level': 'WARN',
    'quarkus.otel.sdk.disabled': 'true',
  };
}

async function ensureApicurio(layout: StackLayout, version: string, progress: (line: string) => void): Promise<string> {
  const home = join(layout.cache, `apicurio-registry-${version}`);
  if (existsSync(join(home, 'quarkus-run.jar'))) return home;
  const url = apicurioArtifactUrl(version);
  const archive = join(layout.cache, 'downloads', `apicurio-registry-app-${version}-all.tar.gz`);
  if (!existsSync(archive)) {
    progress(`downloading Apicurio Registry ${version} from Maven Central into .cache/ (once, ~160 MB)`);
    await download(url, archive, await mavenSha1(url));
  }
  const tmp = `${home}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await run('tar', ['-xzf', archive, '-C', tmp]);
  if (!existsSync(join(tmp, 'quarkus-run.jar'))) throw new Error(`${archive}: no quarkus-run.jar inside`);
  await rm(home, { recursive: true, force: true });
  await rename(tmp, home);
  await rm(archive, { force: true }); // unpacked; a later version bump downloads its own
  return home;
}

export function registryService(ctx: ServiceContext): LocalService {
  const { layout } = ctx;
  const dataDir = join(layout.stack, 'registry');
  const marker = join(dataDir, 'registry.marker');
  let java = 'java';
  let home = join(layout.cache, `apicurio-registry-${APICURIO_VERSION}`);
  return {
    name: 'registry',
    ports: [
      { port: localPortsFrom().registry, role: 'http' },
      { port: localPortsFrom().registryManagement, role: 'management' },
    ],
    memory: `heap ${REGISTRY_HEAP}`,
    logFile: join(layout.logs, 'registry.log'),
    startTimeoutMs: 180_000,
    stopGraceMs: 20_000,
    async prepare() {
      [java, home] = await Promise.all([
        ctx.java.ensure(21, ctx.progress),
        ensureApicurio(layout, APICURIO_VERSION, ctx.progress),
      ]);
      await mkdir(dataDir, { recursive: true });
      await writeFile(marker, 'the registry process carries this path on its command line\n');
    },
    launchSpec() {
      const props = Object.entries(registryProperties(dataDir)).map(([k, v]) => `-D${k}=${v}`);
      return {
        command: java,
        args: [
          `-Xms64m`,
          `-Xmx${REGISTRY_HEAP}`,
          '-XX:MaxMetaspaceSize=256m',
          `-Drheo.stack.marker=${marker}`,
          ...props,
          '-jar',
          join(home, 'quarkus-run.jar'),
        ],
        cwd: dataDir,
        logFile: join(layout.logs, 'registry.log'),
        marker,
      };
    },
    async health() {
      const [subjects, ready] = await Promise.all([
        httpGet(`${registryUrl()}/subjects`),
        httpGet(`http://127.0.0.1:${localPortsFrom().registryManagement}/health/ready`),
      ]);
      if (subjects.status !== 200 || ready.status !== 200) return undefined;
      const status = ((await ready.json()) as { status?: string }).status;
      if (status !== 'UP') return undefined;
      const info = await httpGet(`http://127.0.0.1:${localPortsFrom().registry}/apis/registry/v3/system/info`);
      const version = info.ok ? ((await info.json()) as { version?: string }).version : undefined;
      return { version: version ?? APICURIO_VERSION };
    },
  };
}
