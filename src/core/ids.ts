/** Ids the server mints for browsers, visits and pages (docs/protocol.md, "Ids and tokens"). */
import { randomBytes } from 'node:crypto';

/** A new id: 128 random bits, URL-safe (22 characters). */
export function mintId(): string {
  return randomBytes(16).toString('base64url');
}
