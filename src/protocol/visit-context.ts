/**
 * A visit's identity and its business events as callers read them
 * (docs/visitor-context.md). Apart from visitor.ts so that the live visit
 * list (engagement.ts) and a visit's history (visitor.ts) share them without
 * importing each other.
 */
import { z } from 'zod';

export const identitySchema = z.object({
  /** null when only user info was given (the visitor did not sign in). */
  userId: z.string().nullable(),
  /** True only when the sign-in carried a token that verified under BECKON_IDENTITY_SECRET. */
  verified: z.boolean(),
  traits: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  at: z.string(),
});
export type Identity = z.infer<typeof identitySchema>;

export const businessEventSchema = z.object({
  name: z.string(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  at: z.string(),
  pageId: z.string(),
});
export type BusinessEvent = z.infer<typeof businessEventSchema>;
