/** The one source of truth for Beckon's wire formats. Imports neither DOM nor Node APIs. */
export * from './names.js';
export * from './faults.js';
export * from './gateway.js';
export * from './engagement.js';
export * from './socket.js';
export * from './page-api.js';
export * from './events.js';
export * from './reports.js';
export * from './channels.js';
export * from './visitor.js';
export * from './visit-context.js';
