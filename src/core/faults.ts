/**
 * BeckonFault: what routes and the lifecycle throw. The one error handler in
 * http.ts turns it into the FAULT body of the protocol's table.
 */
import { FAULTS, type FaultBody, type FaultCode, type FaultDetail } from '../protocol/index.js';
import { NotReplicatedError, StoreUnavailableError } from './store.js';

export class BeckonFault extends Error {
  readonly code: FaultCode;
  readonly status: number;
  readonly details: FaultDetail[] | undefined;
  /** Extra top-level fields of the body (e.g. `state` on ALREADY_SETTLED). */
  readonly extra: Partial<FaultBody>;

  constructor(
    code: FaultCode,
    options: {
      message?: string;
      details?: FaultDetail[];
      extra?: Partial<FaultBody>;
      /**
       * Only where a route's contract gives a code another status than the
       * table's: a read of one visit's history answers 404 UNKNOWN_VISIT, as
       * any read of a missing resource, while engage keeps its 400
       * (docs/decisions.md).
       */
      status?: 404;
    } = {},
  ) {
    super(options.message ?? FAULTS[code].message);
    this.name = 'BeckonFault';
    this.code = code;
    this.status = options.status ?? FAULTS[code].status;
    this.details = options.details;
    this.extra = options.extra ?? {};
  }

  /** The JSON body a caller receives. */
  toBody(): FaultBody {
    return {
      status: 'FAULT',
      code: this.code,
      message: this.message,
      ...(this.details?.length ? { details: this.details } : {}),
      ...this.extra,
    };
  }
}

/** Shorthand for a fault about one field. */
export function invalidParameter(path: string, message: string): BeckonFault {
  return new BeckonFault('INVALID_PARAMETER', {
    message: `${path} ${message}.`.replace(/\.\.$/, '.'),
    details: [{ path, message }],
  });
}

/**
 * The fault a caller or a page is told for an error thrown by the core:
 * Beckon's own faults as they are, the store being unreachable as
 * STORE_UNAVAILABLE (nothing was changed), a write its replicas did not
 * confirm as NOT_REPLICATED (it stands on the primary), anything else as INTERNAL_ERROR
 * (a bug: never its text).
 */
export function domainFault(error: unknown): BeckonFault {
  if (error instanceof BeckonFault) return error;
  if (error instanceof StoreUnavailableError) return new BeckonFault('STORE_UNAVAILABLE');
  if (error instanceof NotReplicatedError) return new BeckonFault('NOT_REPLICATED');
  return new BeckonFault('INTERNAL_ERROR');
}
