/**
 * Export to ONNX through the project's builder (`serving/onnx/builder.ts`): one float32 input
 * `features` [batch, F] of raw values; Sub/Div normalisation with the training split's statistics;
 * one Gemm per dense layer with its activation (Relu, Tanh); Sigmoid for a classifier's
 * `probability`, or Mul/Add mapping a regressor's scaled output back to target units.
 */
import { tabularModel } from '../../serving/onnx/builder.ts';
import type { TabularNet } from '../models/network.ts';

export const INPUT_NAME = 'features';

export interface ExportMeta {
  model: string;
  version: string;
  features: readonly string[];
  outputName: string;
  /** Extra `metadata_props` (run id, dataset hash…). */
  metadata?: Record<string, string>;
}

export function exportOnnx(net: TabularNet, meta: ExportMeta): Uint8Array {
  if (meta.features.length !== net.width)
    throw new Error(`export of ${meta.model}: ${meta.features.length} feature names for ${net.width} inputs`);
  return tabularModel({
    name: meta.model,
    features: net.width,
    inputName: INPUT_NAME,
    normalisation: { mean: net.normalization.mean, scale: net.normalization.scale },
    layers: net.layers(),
    ...(net.target ? { outputScaling: { scale: [net.target.scale], offset: [net.target.mean] } } : {}),
    outputName: meta.outputName,
    metadata: {
      rheo_model: meta.model,
      rheo_version: meta.version,
      rheo_features: meta.features.join(','),
      rheo_algorithm: net.params.algorithm,
      ...meta.metadata,
    },
  });
}
