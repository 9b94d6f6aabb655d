/**
 * The per-page budget of context messages (docs/decisions.md, "Visitor
 * context"): the first 20 in any 10 s, a sliding window, each page its own.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_EVENT_RATE } from '../protocol/index.js';
import { PageEventLimiter } from './limits.js';

describe('PageEventLimiter', () => {
  it('takes 20 messages of a page in any 10 s, and slides', () => {
    let now = 1_000_000;
    const limiter = new PageEventLimiter(PAGE_EVENT_RATE, () => now);
    // 10 at t=0, 10 at t=5 s: full.
    for (let i = 0; i < 10; i++) expect(limiter.take('p')).toBe(true);
    now += 5_000;
    for (let i = 0; i < 10; i++) expect(limiter.take('p')).toBe(true);
    expect(limiter.take('p')).toBe(false);
    // Another page has its own budget.
    expect(limiter.take('q')).toBe(true);
    // Just before the first ten leave the window: still full (a refusal spends nothing).
    now += 4_999;
    expect(limiter.take('p')).toBe(false);
    // 10 s after the first ten: ten places again, not twenty.
    now += 1;
    for (let i = 0; i < 10; i++) expect(limiter.take('p')).toBe(true);
    expect(limiter.take('p')).toBe(false);
    // Quiet for a whole window: the full budget.
    now += 10_000;
    for (let i = 0; i < 20; i++) expect(limiter.take('p')).toBe(true);
    expect(limiter.take('p')).toBe(false);
  });

  it('gives a place back for a message that was not stored', () => {
    const limiter = new PageEventLimiter({ max: 2, windowMs: 1000 }, () => 0);
    expect(limiter.take('p')).toBe(true);
    expect(limiter.take('p')).toBe(true);
    limiter.giveBack('p');
    expect(limiter.take('p')).toBe(true);
    expect(limiter.take('p')).toBe(false);
    limiter.giveBack('never-seen');
  });

  it('keeps counting past 10,000 pages, and a page quiet for a whole window starts afresh', () => {
    let now = 0;
    const limiter = new PageEventLimiter({ max: 1, windowMs: 1000 }, () => now);
    for (let i = 0; i < 10_000; i++) limiter.take(`old-${i}`);
    now += 1000;
    // The 10,001st page sweeps the quiet ones; a page seen again gets a fresh budget either way.
    expect(limiter.take('new')).toBe(true);
    expect(limiter.take('old-1')).toBe(true);
    expect(limiter.take('old-1')).toBe(false);
  });

  it('with every page busy, keeps them all and sweeps again only a window later', () => {
    let now = 0;
    const limiter = new PageEventLimiter({ max: 1, windowMs: 1000 }, () => now);
    for (let i = 0; i < 10_000; i++) limiter.take(`busy-${i}`);
    // The sweep finds nobody quiet: every busy page keeps its spent budget.
    expect(limiter.take('new-1')).toBe(true);
    expect(limiter.take('busy-0')).toBe(false);
    now += 999;
    expect(limiter.take('new-2')).toBe(true);
    expect(limiter.take('busy-1')).toBe(false);
    now += 1;
    // A window later, the pages quiet since are forgotten and start afresh.
    expect(limiter.take('new-3')).toBe(true);
    expect(limiter.take('busy-2')).toBe(true);
  });
});
