/**
 * The redis store's visitor context (docs/visitor-context.md): business
 * events, identity, history and erasure.
 */
import type { VisitorStore } from '../../core/store.js';
import type { StoreContext } from './context.js';

const missing = (): never => {
  throw new Error('UNBUILT: visitor context on the redis store');
};

export function visitorStore(_context: StoreContext): VisitorStore {
  return {
    recordBusinessEvent: missing,
    changeIdentity: missing,
    visitContexts: missing,
    visitHistory: missing,
    visitorVisits: missing,
    eraseVisitor: missing,
    erasedAt: missing,
  };
}
