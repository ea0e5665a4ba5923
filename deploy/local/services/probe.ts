/** What `rheo ps`, `rheo up` and the supervisor ask a member over HTTP: `/readyz`, and the lag on `/metrics`. */

export type Health = 'ready' | 'not ready' | 'unreachable';

/** `GET /readyz`: 200 → ready, another status → not ready, no answer → unreachable. */
export async function health(port: number, timeoutMs = 2_000): Promise<Health> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200 ? 'ready' : 'not ready';
  } catch {
    return 'unreachable';
  }
}

/** The sum of `rheo_processor_consumer_lag` on a member's `/metrics`; undefined when it has none or does not answer. */
export async function scrapeLag(port: number, timeoutMs = 2_000): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    return sumMetric(await response.text(), 'rheo_processor_consumer_lag');
  } catch {
    return undefined;
  }
}

/** Sums every sample of `name` in Prometheus text; undefined when the metric is not declared. */
export function sumMetric(text: string, name: string): number | undefined {
  let declared = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`# TYPE ${name} `)) declared = true;
    if (line.startsWith('#') || !(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    declared = true;
    const rest = line.startsWith(`${name}{`) ? line.slice(line.lastIndexOf('}') + 1) : line.slice(name.length);
    const value = Number(rest.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) sum += value;
  }
  return declared ? sum : undefined;
}
