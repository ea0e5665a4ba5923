/**
 * `npm run bench -- training [--rows N] [--features F] [--backends wasm,cpu,tensorflow]`: time and
 * peak memory to train (up to 20 epochs, early stopping on validation loss) and export to ONNX, on
 * 100 000 rows × 20 features with a known logistic signal, once per TensorFlow.js backend. Each
 * backend runs in its own process (TensorFlow.js backends are process-wide, and peak RSS must not
 * mix). The training and export code is the trainer's own (`trainers/models`, `trainers/export`).
 *
 * Target (issue 6): under 30 s with the WASM backend.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineArgs, parseArgs, parseOrExplain } from '../kernel/args.ts';
import { auc } from '../kernel/quality.ts';
import { rng } from '../kernel/random.ts';
import { exportOnnx } from '../trainers/export/onnx.ts';
import { compareOutputs, onnxScorer } from '../trainers/export/verify.ts';
import { type BackendPreference, selectBackend } from '../trainers/models/backend.ts';
import { TabularNet, type TrialParams, trainNetwork } from '../trainers/models/network.ts';
import { applyNormalization, fitNormalization } from '../trainers/models/normalization.ts';
import { report, round, rssSampler } from './lib.ts';

const PARAMS: Omit<TrialParams, 'seed'> = {
  algorithm: 'mlp',
  hidden: [32],
  activation: 'relu',
  learningRate: 0.003,
  batchSize: 512,
  l2: 1e-4,
  maxEpochs: 20,
  patience: 3,
  minDelta: 1e-4,
};

interface Figures {
  backend: string;
  available: boolean;
  skipped?: string;
  rows: number;
  features: number;
  epochs_run?: number;
  best_epoch?: number;
  train_s?: number;
  s_per_epoch?: number;
  export_s?: number;
  total_s?: number;
  peak_rss_mib?: number;
  baseline_rss_mib?: number;
  test_auc?: number;
  onnx_max_abs_diff?: number;
  simd?: boolean;
  threads?: boolean;
}

/** Rows with a known signal: 8 informative features (one through a threshold), 12 noise, all on different scales. */
function synthetic(rows: number, width: number, seed: number): { x: Float32Array; y: Float32Array } {
  const random = rng(seed);
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let r = 0; r < rows; r++) {
    let z = -2;
    for (let c = 0; c < width; c++) {
      const v = gauss();
      x[r * width + c] = v * (1 + c * 10) + c;
      if (c < 7) z += (c % 2 === 0 ? 0.6 : -0.4) * v;
      if (c === 7) z += v > 1 ? 1.5 : 0;
    }
    y[r] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

async function measure(backend: BackendPreference, rows: number, width: number): Promise<Figures> {
  const base: Figures = { backend, available: false, rows, features: width };
  let info: Awaited<ReturnType<typeof selectBackend>>;
  try {
    info = await selectBackend(backend);
  } catch (error) {
    return { ...base, skipped: error instanceof Error ? error.message : String(error) };
  }
  const { x, y } = synthetic(rows, width, 42);
  const train = Math.floor(rows * 0.7);
  const val = Math.floor(rows * 0.15);
  const test = rows - train - val;
  const slice = (a: Float32Array, from: number, to: number, w: number) => a.subarray(from * w, to * w);
  const baselineRss = process.memoryUsage.rss();
  const rss = rssSampler(20);
  const started = performance.now();
  // What a run does: normalisation fitted on the training split, then training with early stopping.
  const xTrain = slice(x, 0, train, width);
  const norm = fitNormalization(xTrain, train, width);
  const net = new TabularNet('binary', width, { ...PARAMS, seed: 1 }, norm);
  const fit = await trainNetwork(net, {
    x: applyNormalization(xTrain, width, norm),
    y: y.subarray(0, train),
    rows: train,
    xVal: applyNormalization(slice(x, train, train + val, width), width, norm),
    yVal: y.subarray(train, train + val),
    valRows: val,
  });
  const trained = performance.now();
  // Export: ONNX bytes, loaded in ONNX Runtime, checked against TensorFlow.js on the test split.
  const xTest = slice(x, train + val, rows, width);
  const tfjs = net.predict(xTest, test);
  const bytes = exportOnnx(net, {
    model: 'bench',
    version: '1.0.0',
    features: Array.from({ length: width }, (_, i) => `f${i}`),
    outputName: 'probability',
  });
  const scorer = await onnxScorer(bytes);
  const parity = compareOutputs(tfjs, await scorer.score(xTest, test, width), 1e-5);
  await scorer.close();
  const done = performance.now();
  const peak = rss.stop();
  net.dispose();
  return {
    ...base,
    backend: info.name,
    available: true,
    epochs_run: fit.epochsRun,
    best_epoch: fit.bestEpoch,
    train_s: round((trained - started) / 1000),
    s_per_epoch: round((trained - started) / 1000 / fit.epochsRun),
    export_s: round((done - trained) / 1000),
    total_s: round((done - started) / 1000),
    peak_rss_mib: peak,
    baseline_rss_mib: round(baselineRss / 1024 / 1024),
    test_auc: round(auc(y.subarray(train + val), tfjs) ?? Number.NaN, 4),
    onnx_max_abs_diff: parity.maxAbsDiff,
    ...(info.simd !== undefined ? { simd: info.simd } : {}),
    ...(info.threads !== undefined ? { threads: info.threads } : {}),
  };
}

function child(backend: string, rows: number, width: number): Promise<Figures> {
  const node = process.execPath;
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const proc = spawn(
      node,
      [
        '--disable-warning=TimeoutNegativeWarning',
        script,
        '--backend',
        backend,
        '--rows',
        String(rows),
        '--features',
        String(width),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as Figures);
      } catch {
        reject(new Error(`the ${backend} run exited ${code} without figures: ${out.slice(-500)}`));
      }
    });
  });
}

export const BENCH_ARGS = defineArgs({
  program: 'npm run bench -- training',
  flags: {
    rows: { type: 'number', integer: true, min: 1, default: 100_000, description: 'training rows' },
    features: { type: 'number', integer: true, min: 1, default: 20, description: 'features per row' },
    backends: {
      type: 'string',
      value: 'wasm,cpu,tensorflow',
      default: 'tensorflow,wasm,cpu',
      description: 'TensorFlow.js backends to time, one process each',
    },
  },
});

export async function run(args: string[]): Promise<void> {
  const { rows, features: width, backends: backendList } = parseArgs(BENCH_ARGS, args).flags;
  const backends = backendList.split(',');
  const results: Figures[] = [];
  for (const backend of backends) {
    process.stderr.write(`training ${rows} × ${width} on ${backend}…\n`);
    results.push(await child(backend, rows, width));
  }
  const tableRows: Array<[string, string | number]> = [
    [
      'model',
      `MLP ${width} → ${PARAMS.hidden.join(' → ')} → 1 (${PARAMS.activation}), Adam ${PARAMS.learningRate}, batch ${PARAMS.batchSize}`,
    ],
    ['data', `${rows} rows × ${width} features; split 70/15/15; up to ${PARAMS.maxEpochs} epochs, patience ${PARAMS.patience}`],
  ];
  const figures: Record<string, number | string | boolean> = { rows, features: width, max_epochs: PARAMS.maxEpochs };
  for (const r of results) {
    if (!r.available) {
      tableRows.push([r.backend, `not available (${r.skipped})`]);
      figures[`${key(r.backend)}_available`] = false;
      continue;
    }
    const k = key(r.backend);
    tableRows.push([
      r.backend,
      `train ${r.train_s} s (${r.epochs_run} epochs, best ${r.best_epoch}, ${r.s_per_epoch} s/epoch) + export ${r.export_s} s = ${r.total_s} s; peak RSS ${r.peak_rss_mib} MiB (from ${r.baseline_rss_mib}); test AUC ${r.test_auc}; ONNX vs TF.js ${r.onnx_max_abs_diff?.toExponential(1)}${r.simd !== undefined ? `; simd ${r.simd}, threads ${r.threads}` : ''}`,
    ]);
    Object.assign(figures, {
      [`${k}_available`]: true,
      [`${k}_epochs`]: r.epochs_run as number,
      [`${k}_train_s`]: r.train_s as number,
      [`${k}_s_per_epoch`]: r.s_per_epoch as number,
      [`${k}_export_s`]: r.export_s as number,
      [`${k}_total_s`]: r.total_s as number,
      [`${k}_peak_rss_mib`]: r.peak_rss_mib as number,
      [`${k}_test_auc`]: r.test_auc as number,
    });
  }
  const wasm = results.find((r) => r.backend === 'wasm' && r.available);
  if (wasm) {
    tableRows.push(['target', `WASM under 30 s: ${(wasm.total_s as number) < 30 ? 'met' : 'NOT met'} (${wasm.total_s} s)`]);
    figures.wasm_target_met = (wasm.total_s as number) < 30;
  }
  report('Training: train (early stopping) + ONNX export, per backend', tableRows, figures);
}

const key = (backend: string) => backend.replace(/[^a-z0-9]+/gi, '_');

/** Run as a script, this file is the per-backend child the benchmark spawns (TensorFlow.js backends are process-wide). */
const CHILD_ARGS = defineArgs({
  program: 'node bench/training.ts',
  flags: {
    backend: {
      type: 'enum',
      values: ['auto', 'tensorflow', 'wasm', 'cpu'],
      required: true,
      description: 'the TensorFlow.js backend',
    },
    rows: BENCH_ARGS.flags.rows,
    features: BENCH_ARGS.flags.features,
  },
  notes: ['Prints the figures of one backend as one JSON line; `npm run bench -- training` runs it once per backend.'],
});

const childArgs = import.meta.main ? parseOrExplain(CHILD_ARGS, process.argv.slice(2), 'bench training') : undefined;
if (childArgs) {
  const { backend, rows, features } = childArgs.flags;
  const figures = await measure(backend satisfies BackendPreference, rows, features);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}
