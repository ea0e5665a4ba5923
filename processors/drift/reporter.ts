/**
 * Turns closed windows into reports. A window can be reported once every partition of the input has
 * closed it — each partition's event time is past its end plus the allowed lateness — because only
 * then are all its fragments in the store. Windows are taken in end order, a model's versions of one
 * window together, so the cool-down sees them in event-time order whatever instance reports them and
 * whenever. Reports and requests are published first and removed from the store after: a crash in
 * between publishes them again with the same ids (effectively once downstream), never loses them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../kernel/log.ts';
import type { DriftReportInput, RetrainRequestInput } from '../../schemas/index.ts';
import { retrainDecision } from './alerts.ts';
import type { BaselineSource } from './baselines.ts';
import type { DriftMetrics } from './metrics.ts';
import { buildReports, mergeFragments } from './report.ts';
import { type DriftSettings, policyFor } from './settings.ts';
import type { DriftStore, DueWindow } from './store.ts';

/** Where reports and requests go (Kafka in production, memory in tests). Resolves once durable. */
export interface DriftOutput {
  publish(reports: readonly DriftReportInput[], requests: readonly RetrainRequestInput[]): Promise<void>;
}

export interface ReportPass {
  windows: number;
  reports: number;
  requests: number;
  /** Why nothing was reported, when so. */
  idle?: 'locked' | 'partitions-behind' | 'nothing-due';
}

export interface ReporterOptions {
  store: DriftStore;
  baselines: BaselineSource;
  settings: DriftSettings;
  /** Where reports go unless a pass is given its own (the processor passes its context's `forward`). */
  output?: DriftOutput;
  /** Every partition of the input topic: a window is complete once all of them closed it. */
  partitions: readonly number[];
  logger: Logger;
  metrics?: DriftMetrics;
  /** Windows per pass at most (bounded memory); default 200. */
  batchWindows?: number;
  /**
   * How long the reporting lock lives; default 15 s. A pass takes well under a second; if one outlives
   * its lock another instance may report the same windows — same ids, so harmless — while a crashed
   * holder delays reporting by at most this long.
   */
  lockTtlMs?: number;
}

export class DriftReporter {
  readonly #o: ReporterOptions;
  #running: Promise<ReportPass> | undefined;

  constructor(options: ReporterOptions) {
    this.#o = options;
  }

  /** Reports every window that is complete; concurrent calls share one pass. */
  run(output?: DriftOutput): Promise<ReportPass> {
    const target = output ?? this.#o.output;
    if (!target) return Promise.reject(new Error('drift reporter has no output to publish to'));
    this.#running ??= this.#pass(target).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Event time up to which every partition has closed its windows; null while some partition has seen nothing. */
  async threshold(): Promise<number | null> {
    const marks = await this.#o.store.watermarks();
    let min = Number.POSITIVE_INFINITY;
    for (const p of this.#o.partitions) {
      const t = marks.get(p);
      if (t === undefined) return null;
      min = Math.min(min, t);
    }
    return min - this.#o.settings.window.latenessMs;
  }

  async #pass(output: DriftOutput): Promise<ReportPass> {
    const { store } = this.#o;
    const token = randomUUID();
    const total: ReportPass = { windows: 0, reports: 0, requests: 0 };
    if (!(await store.lock(token, this.#o.lockTtlMs ?? 15_000))) return { ...total, idle: 'locked' };
    try {
      const threshold = await this.threshold();
      if (threshold === null) return { ...total, idle: 'partitions-behind' };
      const limit = this.#o.batchWindows ?? 200;
      for (;;) {
        let due = await store.due(threshold, limit);
        const full = due.length >= limit;
        // Never split the windows sharing an end between passes: a model's versions are decided together.
        if (full) due = await store.due((due[due.length - 1] as DueWindow).end, Number.POSITIVE_INFINITY);
        if (due.length > 0) {
          const done = await this.#report(due, output);
          total.windows += due.length;
          total.reports += done.reports;
          total.requests += done.requests;
        }
        if (!full) {
          // Every window ending by the threshold is reported: slots only those windows needed can go.
          const { sizeMs } = this.#o.settings.window;
          const slots = [...(await store.dlqSlots()).keys()].filter((slot) => slot + sizeMs <= threshold);
          if (slots.length > 0) await store.finish([], new Map(), slots);
          break;
        }
      }
      this.#o.metrics?.pendingWindows.set(await store.pendingCount());
      return total.windows === 0 ? { ...total, idle: 'nothing-due' } : total;
    } finally {
      await store.unlock(token).catch(() => undefined);
    }
  }

  async #report(due: readonly DueWindow[], output: DriftOutput): Promise<{ reports: number; requests: number }> {
    const { store, baselines, settings, logger, metrics } = this.#o;
    const { latenessMs, slideMs, sizeMs } = settings.window;
    const slots = await store.dlqSlots();
    const dlqIn = (start: number) => {
      let n = 0;
      for (let slot = start; slot < start + sizeMs; slot += slideMs) n += slots.get(slot) ?? 0;
      return n;
    };
    // By model, then by window (end, start), versions together; `due` is already in end order.
    const byModel = new Map<string, Map<string, DueWindow[]>>();
    for (const w of due) {
      const windows = byModel.get(w.model) ?? new Map<string, DueWindow[]>();
      byModel.set(w.model, windows);
      const key = `${w.end}|${w.start}`;
      windows.set(key, [...(windows.get(key) ?? []), w]);
    }
    const reports: DriftReportInput[] = [];
    const requests: RetrainRequestInput[] = [];
    const requested = new Map<string, number>();
    const suppressed: string[] = [];
    for (const [model, windows] of [...byModel].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const policy = policyFor(settings, model);
      let last = await store.lastRequest(model);
      for (const versions of windows.values()) {
        const windowReports: DriftReportInput[] = [];
        for (const w of versions.sort((a, b) => (a.version < b.version ? -1 : 1))) {
          const baseline = baselines.baseline(w.model, w.version);
          const fragments = await store.fragments(w.member);
          if (!baseline || fragments.length === 0) {
            logger.warn(
              { model: w.model, version: w.version, window: w.start },
              'closed window without baseline or counts; dropped',
            );
            continue;
          }
          windowReports.push(
            ...buildReports(mergeFragments(fragments), baseline, dlqIn(w.start), {
              epsilon: settings.epsilon,
              minSamples: policy.minSamples,
              thresholds: policy.thresholds,
              latenessMs,
            }),
          );
        }
        const first = versions[0] as DueWindow;
        const decision = retrainDecision({
          model,
          windowStart: first.start,
          windowEnd: first.end,
          reports: windowReports,
          lastRequestWindowEnd: last,
          cooldownMs: policy.cooldownMs,
          at: first.end + latenessMs,
        });
        if (decision.kind === 'request') {
          requests.push(decision.request);
          last = first.end;
          requested.set(model, first.end);
        } else if (decision.kind === 'cooling-down') suppressed.push(model);
        reports.push(...windowReports);
      }
    }
    await output.publish(reports, requests);
    await store.finish(
      due.map((w) => w.member),
      requested,
      [],
    );
    for (const r of reports) metrics?.observe(r);
    for (const r of requests) {
      metrics?.retrainRequests.inc({ model: r.model_name });
      logger.warn({ model: r.model_name, summary: r.evidence.summary }, 'drift over the alert band: retraining requested');
    }
    for (const model of suppressed) metrics?.suppressed.inc({ model });
    for (const w of due) metrics?.lastClosedWindowEnd.set({ model: w.model }, w.end / 1000);
    return { reports: reports.length, requests: requests.length };
  }
}
