/**
 * GWE's `_gt` commands (docs/gwe-migration.md) as the widget reads them:
 * every form a GWE page uses maps onto the page API, and anything else is
 * named as unsupported, never thrown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gtAction } from './gt-queue.js';

describe('the _gt commands', () => {
  it('map GWE 8.5 business events, with and without data', () => {
    expect(gtAction(['event', 'AddToCart'])).toEqual({ kind: 'track', name: 'AddToCart', data: {} });
    expect(gtAction(['event', 'AddToCart', { data: { productName: 'Sony', productPrice: '1000' } }])).toEqual({
      kind: 'track',
      name: 'AddToCart',
      data: { productName: 'Sony', productPrice: '1000' },
    });
  });

  it('map the GWE 8.1 form, whose fields beside eventName are the data', () => {
    expect(gtAction(['event', { eventName: 'AddToCart', productName: 'Sony', productPrice: '1000$' }])).toEqual({
      kind: 'track',
      name: 'AddToCart',
      data: { productName: 'Sony', productPrice: '1000$' },
    });
    expect(gtAction(['event', { eventName: 'Search', data: { query: 'lamp' } }])).toEqual({
      kind: 'track',
      name: 'Search',
      data: { query: 'lamp' },
    });
    expect(gtAction(['event', { productName: 'Sony' }])).toMatchObject({
      kind: 'unsupported',
      why: 'needs an event name',
    });
  });

  it('map the identity events and commands, with the userId spelt any GWE way and the token taken out', () => {
    expect(gtAction(['event', 'SignIn', { data: { userId: 'u-1', tier: 'gold', token: 'ab12' } }])).toEqual({
      kind: 'signIn',
      userId: 'u-1',
      traits: { tier: 'gold' },
      token: 'ab12',
    });
    expect(gtAction(['sendSignIn', { userID: 'u-2', email: 'a@b.example' }])).toEqual({
      kind: 'signIn',
      userId: 'u-2',
      traits: { email: 'a@b.example' },
    });
    expect(gtAction(['event', { eventName: 'SignIn', userid: 'u-3' }])).toEqual({
      kind: 'signIn',
      userId: 'u-3',
      traits: {},
    });
    expect(gtAction(['sendSignIn', { email: 'a@b.example' }])).toMatchObject({
      kind: 'unsupported',
      why: 'needs a userId',
    });
    expect(gtAction(['event', 'SignOut'])).toEqual({ kind: 'signOut' });
    expect(gtAction(['sendSignOut', {}])).toEqual({ kind: 'signOut' });
    expect(gtAction(['event', 'UserInfo', { data: { firstName: 'Ada', tier: 'gold' } }])).toEqual({
      kind: 'userInfo',
      traits: { firstName: 'Ada', tier: 'gold' },
    });
    expect(gtAction(['sendUserInfo', { firstName: 'Ada' }])).toEqual({
      kind: 'userInfo',
      traits: { firstName: 'Ada' },
    });
  });

  it('map getIDs with its callback only', () => {
    const callback = () => {};
    expect(gtAction(['getIDs', callback])).toEqual({ kind: 'getIDs', callback });
    expect(gtAction(['getIDs'])).toMatchObject({ kind: 'unsupported', why: 'needs a callback' });
  });

  it('name every other command as unsupported', () => {
    expect(gtAction(['config', { dslResource: 'x' }])).toEqual({
      kind: 'unsupported',
      command: 'config',
      why: 'is not supported by Beckon',
    });
    expect(gtAction('event')).toMatchObject({ kind: 'unsupported', why: 'is not a command' });
    expect(gtAction([])).toMatchObject({ kind: 'unsupported' });
    expect(gtAction(null)).toMatchObject({ kind: 'unsupported' });
  });

  it('never throw, whatever a page pushes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ withNullPrototype: true }),
          fc.tuple(
            fc.constantFrom('event', 'sendSignIn', 'sendUserInfo', 'sendSignOut', 'getIDs'),
            fc.anything(),
            fc.anything(),
          ),
        ),
        (command) => {
          expect(() => gtAction(command)).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
