/**
 * The console's calls against a real Beckon that requires its API token: a
 * 401 asks for the token once, the call is sent again with it as a Bearer
 * header, and any other refusal is read from its FAULT body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../test/support.js';
import { ConsoleApi, Fault, type TokenSource } from './api.js';

const TOKEN = 'console-api-test-token';
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ apiToken: TOKEN });
});
afterAll(() => server.close());

/** Hands out the given tokens in turn, one per 401, and remembers which token each 401 refused. */
function tokens(...given: string[]): TokenSource & { refused: (string | null)[] } {
  let current: string | null = null;
  const refused: (string | null)[] = [];
  return {
    refused,
    current: () => current,
    async replace(token) {
      refused.push(token);
      current = given.shift() ?? null;
    },
  };
}

describe('the console API', () => {
  it('asks for a token on 401 until the server takes one, and sends it as a Bearer header', async () => {
    const source = tokens('wrong', TOKEN);
    const api = new ConsoleApi(source, server.url);
    const body = await api.json('GET', '/visits');
    expect(body).toEqual({ visits: [] });
    expect(source.refused).toEqual([null, 'wrong']);
  });

  it('reads a refusal from its FAULT body', async () => {
    const api = new ConsoleApi(tokens(TOKEN), server.url);
    const error = await api.json('GET', '/gateway/engagements/nobody').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Fault);
    expect(error).toMatchObject({ status: 404, code: 'UNKNOWN_ENGAGEMENT', settledState: null });

    const invalid = await api
      .json('POST', '/gateway/engage', { ixnProfile: { interactionId: 'x' } })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_PARAMETER' });
    expect((invalid as Fault).details).toContainEqual({ path: 'ixnProfile.visitId', message: expect.any(String) });
  });

  it('says so when nothing answers', async () => {
    const api = new ConsoleApi(tokens(), 'http://127.0.0.1:1');
    await expect(api.json('GET', '/visits')).rejects.toMatchObject({
      status: 0,
      code: '',
      message: 'Could not reach the Beckon server.',
    });
  });
});

describe('a fault', () => {
  it('names the HTTP status when the body is not a FAULT', () => {
    const fault = new Fault(502, '<html>Bad gateway</html>', null);
    expect(fault).toMatchObject({ code: 'HTTP_502', message: 'The server answered HTTP 502 without a FAULT body.' });
    expect(fault.details).toEqual([]);
  });

  it('keeps the settled state, the details as text, and Retry-After in seconds', () => {
    const fault = new Fault(
      400,
      {
        status: 'FAULT',
        code: 'ALREADY_SETTLED',
        message: 'settled',
        state: 'accepted',
        details: [{ path: 'a' }, 'b'],
      },
      '7',
    );
    expect(fault).toMatchObject({ code: 'ALREADY_SETTLED', settledState: 'accepted', retryAfter: 7 });
    expect(fault.details).toEqual([
      { path: 'a', message: '' },
      { path: '', message: '' },
    ]);
  });
});
