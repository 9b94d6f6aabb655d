/**
 * Every FAULT Beckon can answer, in one table: a stable code, its HTTP status
 * and the sentence a caller reads. Routes raise codes; one error handler turns
 * them into bodies. Nobody writes a FAULT body by hand.
 */
import { z } from 'zod';
import { CLOSED_REASONS } from './channels.js';

export const FAULTS = {
  INVALID_PARAMETER: { status: 400, message: 'The request has a missing or invalid parameter.' },
  UNKNOWN_VISIT: { status: 400, message: 'No live visit has this visitId; it never existed or has ended.' },
  VISITOR_OPTED_OUT: { status: 400, message: 'This visitor asked not to be shown invitations.' },
  VISITOR_CAPPED: {
    status: 400,
    message: 'A frequency cap refuses another invitation for this visitor now; retry after the time in retryAfter.',
  },
  NO_CAPACITY: {
    status: 400,
    message: 'No channel asked for can be offered now (business hours, capacity or pacing); details name each.',
  },
  ENGAGEMENT_IN_PROGRESS: {
    status: 400,
    message: 'The visit already has an engagement attempt in progress (strict mode).',
  },
  INTERACTION_CONFLICT: { status: 400, message: 'This interactionId belongs to an attempt for another visit.' },
  ENGAGEMENT_CANCELLED: { status: 400, message: 'This interactionId was cancelled and cannot be engaged.' },
  ALREADY_SETTLED: { status: 400, message: 'The engagement attempt has already settled.' },
  UNKNOWN_ENGAGEMENT: { status: 404, message: 'No engagement attempt has this interactionId.' },
  NOT_FOUND: { status: 404, message: 'There is nothing at this path.' },
  UNAUTHORIZED: { status: 401, message: 'Credentials are missing or wrong.' },
  CROSS_SITE_REQUEST: {
    status: 403,
    message: "A browser sent this request for another site; only Beckon's own pages may call its API from a browser.",
  },
  HOST_NOT_ALLOWED: {
    status: 421,
    message: 'This server does not answer to the host name in the request (see BECKON_ALLOWED_HOSTS).',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than 64 KB.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send application/json or application/x-www-form-urlencoded.',
  },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the time in Retry-After.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; retry shortly.' },
  STORE_UNAVAILABLE: { status: 503, message: 'The store cannot be reached; nothing was changed. Retry shortly.' },
  NOT_REPLICATED: {
    status: 503,
    message:
      'The change is stored, and may already show, but the replicas asked for did not confirm it in time. Retry with the same interactionId.',
  },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong inside Beckon; nothing was changed.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type FaultCode = keyof typeof FAULTS;
export const FAULT_CODES = Object.keys(FAULTS) as FaultCode[];

/** One problem with one field of the request. */
export const faultDetailSchema = z.object({
  path: z.string(),
  message: z.string(),
  /** On NO_CAPACITY: the channel, and why it cannot be offered now. */
  channel: z.string().optional(),
  reason: z.enum(CLOSED_REASONS).optional(),
});
export type FaultDetail = z.infer<typeof faultDetailSchema>;

/** The body of every non-200 answer. */
export const faultBodySchema = z.object({
  status: z.literal('FAULT'),
  code: z.enum(FAULT_CODES as [FaultCode, ...FaultCode[]]),
  message: z.string(),
  details: z.array(faultDetailSchema).optional(),
  /** On ALREADY_SETTLED: the state the attempt settled in. */
  state: z.string().optional(),
  /** On VISITOR_CAPPED: the cap that refused (`per-day` or `after-decline`) and when it lifts (ISO time). */
  cap: z.enum(['per-day', 'after-decline']).optional(),
  retryAfter: z.string().optional(),
});
export type FaultBody = z.infer<typeof faultBodySchema>;
