/**
 * The demo domain's declared feature groups: the one list `rheo features apply`, the materializer,
 * the gateway's reads, producers and trainers import. Add a group here (one file per group).
 */
import type { FeatureGroupDecl } from '../declaration.ts';
import { cardActivity } from './card-activity.ts';
import { merchantRisk } from './merchant-risk.ts';

export { cardActivity } from './card-activity.ts';
export { merchantRisk } from './merchant-risk.ts';
export { type RequestSourceDecl, transactionRequest } from './request-inputs.ts';

export const FEATURE_GROUPS: readonly FeatureGroupDecl[] = Object.freeze([cardActivity, merchantRisk]);
