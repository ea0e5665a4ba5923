/** The feature store's online reader as scoring's `FeatureLookup` (one store round trip per request or micro-batch): gateway and streaming scorer. */
import { getOnlineFeatures } from '../features/online/read.ts';
import type { OnlineStore } from '../features/online/store.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import type { FeatureLookup } from './scoring.ts';

export function onlineFeatureLookup(online: OnlineStore, registry: FeatureRegistry): FeatureLookup {
  return {
    async get(entities, features) {
      const vectors = await getOnlineFeatures(online, registry, entities, features);
      return vectors.map((v) => v.values);
    },
  };
}
