import { MemoryOfflineStore } from '../../../features/offline/memory.ts';
import { MemoryOnlineStore } from '../../../features/online/memory.ts';
import { offlineStoreConformance } from '../../support/offline-conformance.ts';
import { onlineStoreConformance } from '../../support/online-conformance.ts';

// The in-memory stores are the reference semantics: they pass the same suites as Redis and ClickHouse.
onlineStoreConformance('memory', () => new MemoryOnlineStore());
offlineStoreConformance('memory', () => new MemoryOfflineStore());
