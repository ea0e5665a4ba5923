/**
 * Which TensorFlow.js backend trains: the native TensorFlow binding (`@tensorflow/tfjs-node-gpu`,
 * then `@tensorflow/tfjs-node`) when one is installed, else the WebAssembly backend (its `.wasm`
 * ships inside the npm package), else the plain JavaScript CPU backend. The backend is process-wide
 * in TensorFlow.js; every run selects the one it is configured for and records what ran
 * (`BackendInfo.name`).
 *
 * `RHEO_TRAINER_BACKEND=auto|tensorflow|wasm|cpu` forces one (the benchmark uses it per child process).
 */
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** What ran: `tfjs-node-gpu`, `tfjs-node`, `wasm` or `cpu`. */
  name: 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
  /** TensorFlow.js's own backend name (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  tfjsVersion: string;
  /** WASM only: whether the SIMD and threaded builds are in use. */
  simd?: boolean;
  threads?: boolean;
  /** Why a preferred backend was not used (e.g. `tfjs-node not installed`). */
  skipped: string[];
}

/**
 * Selects and initialises the backend `preference` asks for, every call: TensorFlow.js itself keeps
 * the active backend (and reuses an initialised one), so no choice is remembered here and a caller
 * asking for another backend gets it rather than the first caller's.
 */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const skipped: string[] = [];
  const version = tf.version_core;
  if (preference === 'auto' || preference === 'tensorflow') {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
      const why = await tryNative(pkg);
      if (why === null) {
        return {
          name: pkg === '@tensorflow/tfjs-node-gpu' ? 'tfjs-node-gpu' : 'tfjs-node',
          tfBackend: 'tensorflow',
          tfjsVersion: version,
          skipped,
        };
      }
      skipped.push(`${pkg}: ${why}`);
    }
    if (preference === 'tensorflow') throw new Error(`no native TensorFlow backend: ${skipped.join('; ')}`);
  }
  if (preference === 'auto' || preference === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return {
          name: 'wasm',
          tfBackend: 'wasm',
          tfjsVersion: version,
          simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
          threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
          skipped,
        };
      }
      skipped.push('wasm: the backend did not initialise');
    } catch (error) {
      skipped.push(`wasm: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (preference === 'wasm') throw new Error(`the WASM backend is unavailable: ${skipped.join('; ')}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', tfBackend: 'cpu', tfjsVersion: version, skipped };
}

/** Loads a native binding; null when it registered the `tensorflow` backend on our TensorFlow.js, else why not. */
async function tryNative(pkg: string): Promise<string | null> {
  try {
    // A variable specifier: the package is optional, so neither TypeScript nor the loader may require it.
    const specifier = pkg;
    await import(specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : `failed to load (${(error as Error).message})`;
  }
  // The binding registers on the TensorFlow.js copy it depends on; it must be ours (same version, deduplicated).
  if (!tf.findBackendFactory('tensorflow')) return 'installed, but registered on another copy of @tensorflow/tfjs';
  try {
    if (!(await tf.setBackend('tensorflow'))) return 'did not initialise';
    await tf.ready();
    return null;
  } catch (error) {
    return `did not initialise (${(error as Error).message})`;
  }
}
