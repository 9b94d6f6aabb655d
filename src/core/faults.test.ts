/** The faults the core raises, as a caller reads them: code, status, sentence, details and extra fields. */
import { describe, expect, it } from 'vitest';
import { FAULTS } from '../protocol/index.js';
import { StoreUnavailableError } from './store.js';
import { BeckonFault, domainFault, invalidParameter } from './faults.js';

describe('BeckonFault', () => {
  it("answers the table's status and sentence unless told otherwise", () => {
    const fault = new BeckonFault('UNKNOWN_ENGAGEMENT');
    expect(fault).toBeInstanceOf(Error);
    expect(fault.name).toBe('BeckonFault');
    expect(fault.status).toBe(404);
    expect(fault.toBody()).toEqual({
      status: 'FAULT',
      code: 'UNKNOWN_ENGAGEMENT',
      message: FAULTS.UNKNOWN_ENGAGEMENT.message,
    });
    expect(new BeckonFault('ENGAGEMENT_IN_PROGRESS', { message: 'Attempt "a" is in progress.' }).message).toBe(
      'Attempt "a" is in progress.',
    );
  });

  it('lists details only when there are some, and adds the extra fields at the top of the body', () => {
    expect(new BeckonFault('INVALID_PARAMETER', { details: [] }).toBody()).not.toHaveProperty('details');
    const settled = new BeckonFault('ALREADY_SETTLED', {
      details: [{ path: 'interactionId', message: 'has settled' }],
      extra: { state: 'declined' },
    });
    expect(settled.toBody()).toEqual({
      status: 'FAULT',
      code: 'ALREADY_SETTLED',
      message: FAULTS.ALREADY_SETTLED.message,
      details: [{ path: 'interactionId', message: 'has settled' }],
      state: 'declined',
    });
  });
});

describe('invalidParameter', () => {
  it('names the field in one sentence, ending in a single full stop', () => {
    const fault = invalidParameter('ixnProfile.channels', 'must name at least one channel');
    expect(fault.code).toBe('INVALID_PARAMETER');
    expect(fault.status).toBe(400);
    expect(fault.message).toBe('ixnProfile.channels must name at least one channel.');
    expect(fault.details).toEqual([{ path: 'ixnProfile.channels', message: 'must name at least one channel' }]);
    expect(invalidParameter('timeoutSeconds', 'must be a whole number, e.g. 30.').message).toBe(
      'timeoutSeconds must be a whole number, e.g. 30.',
    );
    // Only a doubled stop at the very end is folded; one inside the sentence stays.
    expect(invalidParameter('url', 'must not hold ".." segments').message).toBe('url must not hold ".." segments.');
  });
});

describe('domainFault', () => {
  it("passes Beckon's own faults through, and names an unreachable store without its text", () => {
    const own = new BeckonFault('VISITOR_OPTED_OUT');
    expect(domainFault(own)).toBe(own);
    const away = domainFault(new StoreUnavailableError('ECONNREFUSED 127.0.0.1:6379'));
    expect(away).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, message: FAULTS.STORE_UNAVAILABLE.message });
  });

  it('turns anything else into INTERNAL_ERROR, never leaking its message', () => {
    const bug = domainFault(new TypeError("Cannot read properties of undefined (reading 'visitId')"));
    expect(bug).toMatchObject({ code: 'INTERNAL_ERROR', status: 500, message: FAULTS.INTERNAL_ERROR.message });
    expect(domainFault('a thrown string').code).toBe('INTERNAL_ERROR');
  });
});
