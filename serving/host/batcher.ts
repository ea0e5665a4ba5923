/**
 * Micro-batching: requests that arrive close together share one ONNX Runtime call. onnxruntime-node
 * runs a session synchronously on the event loop (inside a setImmediate), with a fixed cost per call
 * (~20 µs here) and a tiny cost per row, so coalescing is what makes high request rates possible.
 *
 * A batch is flushed when it holds `maxRows` rows, or `lingerMs` after its first row (0 = at the
 * next turn of the event loop, so concurrent requests of the same tick share a call at no added wait).
 */

export interface BatchResult {
  /** One array per model output, `rows × width` values for this submitter only (views, not copies). */
  outputs: Float32Array[];
  /** Milliseconds the batch spent in the runtime, divided by its row count. */
  inferenceMsPerRow: number;
  batchRows: number;
}

export type BatchRunner = (input: Float32Array, rows: number) => Promise<{ outputs: Float32Array[]; widths: number[] }>;

interface Pending {
  input: Float32Array;
  rows: number;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

export interface BatcherOptions {
  maxRows: number;
  lingerMs: number;
  onBatch?: (rows: number, seconds: number) => void;
}

export class MicroBatcher {
  readonly width: number;
  readonly #run: BatchRunner;
  readonly #options: BatcherOptions;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #scheduled = false;

  constructor(width: number, run: BatchRunner, options: BatcherOptions) {
    this.width = width;
    this.#run = run;
    this.#options = options;
  }

  /** Scores `rows` feature vectors laid out row-major in `input` (rows × width). */
  submit(input: Float32Array, rows: number): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, rows, resolve, reject });
      this.#queuedRows += rows;
      if (this.#queuedRows >= this.#options.maxRows) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.#options.lingerMs <= 0) setImmediate(() => this.#flush());
        else setTimeout(() => this.#flush(), this.#options.lingerMs);
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    const rows = this.#queuedRows;
    this.#queue = [];
    this.#queuedRows = 0;
    void this.#execute(batch, rows);
  }

  async #execute(batch: Pending[], rows: number): Promise<void> {
    let input: Float32Array;
    if (batch.length === 1) input = (batch[0] as Pending).input.subarray(0, rows * this.width);
    else {
      input = new Float32Array(rows * this.width);
      let offset = 0;
      for (const p of batch) {
        input.set(p.input.subarray(0, p.rows * this.width), offset);
        offset += p.rows * this.width;
      }
    }
    const started = performance.now();
    let result: Awaited<ReturnType<BatchRunner>>;
    try {
      result = await this.#run(input, rows);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const ms = performance.now() - started;
    this.#options.onBatch?.(rows, ms / 1000);
    const perRow = ms / rows;
    let row = 0;
    for (const p of batch) {
      const outputs = result.outputs.map((data, i) => {
        const w = result.widths[i] as number;
        return data.subarray(row * w, (row + p.rows) * w);
      });
      row += p.rows;
      p.resolve({ outputs, inferenceMsPerRow: perRow, batchRows: rows });
    }
  }
}
