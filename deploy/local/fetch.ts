/**
 * Getting artifacts into .cache/: HTTP downloads verified by checksum, written to a temporary name and
 * renamed when complete, so an interrupted download is never mistaken for a finished one. Also the small
 * helpers for running a tool (mvn, tar, unzip) and for HTTP probes with a timeout.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { retry } from '../../kernel/retry.ts';

export const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

export interface Checksum {
  algorithm: 'sha1' | 'sha256';
  hex: string;
}

/** Downloads `url` to `dest` unless it is already there; verifies the checksum when one is given. */
export async function download(url: string, dest: string, checksum?: Checksum): Promise<void> {
  if (existsSync(dest)) return;
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.${process.pid}.part`;
  try {
    const response = await fetchWithRetry(url, 3);
    if (!response.body) throw new Error(`GET ${url}: empty body`);
    const hash = checksum ? createHash(checksum.algorithm) : undefined;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    if (hash) body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(body, createWriteStream(part));
    if (checksum && hash) {
      const actual = hash.digest('hex');
      if (actual !== checksum.hex.toLowerCase())
        throw new Error(`GET ${url}: ${checksum.algorithm} mismatch (got ${actual}, want ${checksum.hex})`);
    }
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}

/** The `.sha1` Maven Central publishes next to every artifact. */
export async function mavenSha1(url: string): Promise<Checksum> {
  const text = await (await fetchWithRetry(`${url}.sha1`, 3)).text();
  const hex = text.trim().split(/\s+/)[0] ?? '';
  if (!/^[0-9a-f]{40}$/i.test(hex)) throw new Error(`GET ${url}.sha1: not a sha1 (${text.slice(0, 60)})`);
  return { algorithm: 'sha1', hex };
}

/** GET with backoff on network errors and HTTP errors; a 404 is final at once (the artifact is not there). */
function fetchWithRetry(url: string, attempts: number): Promise<Response> {
  return retry(
    async ({ bail }) => {
      const response = await fetch(url, { signal: AbortSignal.timeout(20 * 60_000) });
      if (response.ok) return response;
      const error = new Error(`GET ${url}: HTTP ${response.status}`);
      if (response.status === 404) bail(error);
      throw error;
    },
    { attempts, initialDelayMs: 1_000, maxDelayMs: 4_000, shouldRetry: () => true },
  );
}

/** Runs a tool to completion; rejects with its exit status and the tail of its output. */
export function run(command: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => reject(new Error(`${command}: ${error.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(output);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code ?? signal}:\n${output.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
    });
  });
}

/** GET with a timeout; resolves the response (any status) or rejects on a network error. */
export function httpGet(url: string, timeoutMs = 3000): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
}
