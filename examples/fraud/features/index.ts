/** The fraud project's feature groups and request-time inputs (one file each), declared in `../rheo.project.ts`. */
export { cardActivity } from './card-activity.ts';
export { merchantRisk } from './merchant-risk.ts';
export { transactionRequest } from './request-inputs.ts';
