/**
 * The widget's checker (visitor-rules.ts) and the server's schemas
 * (visitor.ts) must give the same verdict on anything a page can send:
 * otherwise a page would be refused what the server takes, or send what it
 * refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findHostileKey } from './gateway.js';
import { contextDataSchema, eventNameSchema, userIdSchema } from './visitor.js';
import { eventNameProblem, flatDataProblem, userIdProblem } from './visitor-rules.js';

/** What reaches the server: the page's value as JSON. */
const overTheWire = (value: unknown) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown;

const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', '__proto__', 'constructor', 'prototype', 'k'.repeat(128), 'k'.repeat(129)),
);
const flatValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom(null, [], {}, 'é'.repeat(700)),
);

describe('the widget checks what the server checks', () => {
  it('flat data: the same verdict as the schema', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.dictionary(key, flatValue, { maxKeys: 12 }),
          fc
            .integer({ min: 1, max: 400 })
            .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
          fc.anything({ maxDepth: 2 }),
        ),
        (data) => {
          const sent = overTheWire(data);
          // The server refuses prototype keys before any schema sees them.
          const serverTakes = findHostileKey(sent) === null && contextDataSchema.safeParse(sent).success;
          expect(flatDataProblem(sent) === null, JSON.stringify(sent)?.slice(0, 120)).toBe(serverTakes);
        },
      ),
      { numRuns: 3000 },
    );
    expect(flatDataProblem(JSON.parse('{"__proto__":"x"}'))).toMatch(/__proto__/);
    expect(flatDataProblem({ n: Number.NaN })).toMatch(/finite/);
    expect(flatDataProblem({ x: 'x'.repeat(2041) })).toMatch(/2048 bytes/);
  });

  it('event names and userIds: the same verdict as the schemas', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.:-]{0,70}$/), fc.anything()),
        (value) => {
          expect(eventNameProblem(value) === null).toBe(eventNameSchema.safeParse(value).success);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.anything()), (value) => {
        expect(userIdProblem(value) === null).toBe(userIdSchema.safeParse(value).success);
      }),
      { numRuns: 2000 },
    );
  });
});
