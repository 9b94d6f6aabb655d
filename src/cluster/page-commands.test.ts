/**
 * Page commands addressed to the node holding the page, on a real
 * redis-server: the Redis store says who holds a page, and each node's
 * fan-out connection hears its own channel. What each node emits is recorded
 * where it would reach sockets (here, or through the adapter to every node).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../test/redis-server.js';
import type { PageCommand } from '../core/lifecycle.js';
import type { NodeRef } from '../core/store.js';
import { createFanoutClient } from '../store/redis/connection.js';
import { openRedisStore, type RedisStore } from '../store/redis/store.js';
import { openFanout, type Fanout } from './fanout.js';
import { AddressedPageCommands } from './page-commands.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const pageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };
const A: NodeRef = { nodeId: 'node-a', bootId: 'boot-1' };
const B: NodeRef = { nodeId: 'node-b', bootId: 'boot-1' };
const offer = {
  interactionId: 'ix-1',
  channels: ['chat'],
  invitation: { title: 'Hello', text: 'Can we help?' },
  timeoutSeconds: 30,
  remainingMs: 30_000,
  userData: {},
};

/** A node as the router sees it: its fan-out connection and what it emitted here and everywhere. */
interface TestNode {
  commands: AddressedPageCommands;
  fanout: Fanout;
  here: PageCommand[];
  everywhere: PageCommand[];
  errors: unknown[];
}

async function withNodes(
  body: (nodes: { a: TestNode; b: TestNode; backend: TestNode }, store: RedisStore, prefix: string) => Promise<void>,
): Promise<void> {
  const prefix = `t${randomBytes(6).toString('hex')}:`;
  const store = await openRedisStore({ url: server.url, prefix });
  const opened: Fanout[] = [];
  const node = async (self: string | null): Promise<TestNode> => {
    const fanout = await openFanout(server.url, prefix, { onError: () => {} });
    opened.push(fanout);
    const here: PageCommand[] = [];
    const everywhere: PageCommand[] = [];
    const errors: unknown[] = [];
    const commands = new AddressedPageCommands({
      store,
      fanout,
      self,
      delivery: { here: (c) => here.push(c), everywhere: (c) => everywhere.push(c) },
      onError: (error) => errors.push(error),
    });
    await commands.listen();
    return { commands, fanout, here, everywhere, errors };
  };
  try {
    const nodes = { a: await node('node-a'), b: await node('node-b'), backend: await node(null) };
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    await body(nodes, store, prefix);
  } finally {
    for (const fanout of opened) await fanout.close();
    await store.close();
  }
}

/** Waits until `check` holds (a message on a channel arrives asynchronously), for at most 2 s. */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 2000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets every message in flight arrive, so that a test can say nothing else did. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('page commands addressed to the node holding the page', () => {
  it('a start from the backend reaches only the node holding the page, never the adapter', async () => {
    await withNodes(async ({ a, b, backend }, store) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: B }, T0);
      const start: PageCommand = { kind: 'start', pageId: 'p', offer };
      backend.commands.send(start);
      await until(() => b.here.length === 1);
      await settle();
      expect(b.here).toEqual([start]);
      for (const node of [a, b, backend]) expect(node.everywhere).toEqual([]);
      expect([a.here, backend.here]).toEqual([[], []]);
      expect([a.errors, b.errors, backend.errors]).toEqual([[], [], []]);
    });
  });

  it('a command for a page this node holds is emitted here, with nothing published', async () => {
    await withNodes(async ({ a, b }, store, prefix) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: A }, T0);
      const admin = createFanoutClient(server.url);
      await admin.connect();
      try {
        await admin.configResetStat();
        const withdraw: PageCommand = { kind: 'withdraw', pageId: 'p', interactionId: 'ix-1', state: 'pending' };
        a.commands.send(withdraw);
        await until(() => a.here.length === 1);
        await settle();
        expect(a.here).toEqual([withdraw]);
        expect([a.everywhere, b.here, b.everywhere]).toEqual([[], [], []]);
        const stats = await admin.info('commandstats');
        expect(stats).not.toMatch(/^cmdstat_publish:/m);
        expect(stats).not.toMatch(/^cmdstat_xadd:/m);
        expect(await admin.pubSubNumSub(`${prefix}node:node-a`)).toEqual({ [`${prefix}node:node-a`]: 1 });
      } finally {
        admin.destroy();
      }
    });
  });

  it("a settle reaches each node holding one of the visit's open pages once, and no node holding only closed ones", async () => {
    await withNodes(async ({ a, b, backend }, store) => {
      await store.openPage({ pageId: 'p1', visitId: 'v', info: pageInfo, node: A }, T0);
      await store.openPage({ pageId: 'p2', visitId: 'v', info: pageInfo, node: A }, T0);
      await store.openPage({ pageId: 'q', visitId: 'v', info: pageInfo, node: B }, T0);
      const settled: PageCommand = { kind: 'settled', visitId: 'v', interactionId: 'ix-1', state: 'declined' };
      backend.commands.send(settled);
      await until(() => a.here.length === 1 && b.here.length === 1);
      await store.closePage('q', T0 + 1, B);
      backend.commands.send({ ...settled, interactionId: 'ix-2' });
      await until(() => a.here.length === 2);
      await settle();
      expect(a.here).toEqual([settled, { ...settled, interactionId: 'ix-2' }]);
      expect(b.here).toEqual([settled]);
      for (const node of [a, b, backend]) expect(node.everywhere).toEqual([]);
    });
  });

  it("one node's commands reach the holder in the order they were sent, though a settle's look-up takes longer than a start's", async () => {
    await withNodes(async ({ a, backend }, store) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: A }, T0);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'q', visitId: 'w', info: pageInfo, node: A }, T0);
      const sent: PageCommand[] = [];
      for (let round = 0; round < 20; round++) {
        const settled: PageCommand = { kind: 'settled', visitId: 'v', interactionId: `ix-${round}`, state: 'declined' };
        const start: PageCommand = {
          kind: 'start',
          pageId: 'q',
          offer: { ...offer, interactionId: `next-${round}` },
        };
        backend.commands.send(settled);
        backend.commands.send(start);
        sent.push(settled, start);
      }
      await until(() => a.here.length === sent.length);
      expect(a.here).toEqual(sent);
    });
  });

  it('a holder nobody hears on its channel gets the command through the adapter; a page nobody holds gets nothing', async () => {
    await withNodes(async ({ a, b, backend }, store) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: { nodeId: 'gone', bootId: 'x' } }, T0);
      const start: PageCommand = { kind: 'start', pageId: 'p', offer };
      backend.commands.send(start);
      await until(() => backend.everywhere.length === 1);
      backend.commands.send({ kind: 'start', pageId: 'never-opened', offer });
      await settle();
      expect(backend.everywhere).toEqual([start]);
      expect([a.here, b.here, a.everywhere, b.everywhere]).toEqual([[], [], [], []]);
      expect(backend.errors).toEqual([]);
    });
  });

  it('when the store cannot say who holds the page, the command goes through the adapter and the failure is told', async () => {
    await withNodes(async ({ backend }, store) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: A }, T0);
      const failing = new AddressedPageCommands({
        store: { pageHolders: () => Promise.reject(new Error('Redis is away')) },
        fanout: backend.fanout,
        self: null,
        delivery: { here: (c) => backend.here.push(c), everywhere: (c) => backend.everywhere.push(c) },
        onError: (error) => backend.errors.push(error),
      });
      const start: PageCommand = { kind: 'start', pageId: 'p', offer };
      failing.send(start);
      await until(() => backend.everywhere.length === 1);
      expect(backend.everywhere).toEqual([start]);
      expect(backend.errors).toEqual([new Error('Redis is away')]);
    });
  });

  it('what is not a page command on a node’s channel is told and dropped; the node goes on hearing commands', async () => {
    await withNodes(async ({ a, backend }, store) => {
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo, node: A }, T0);
      for (const junk of [
        'not json',
        'null',
        JSON.stringify({ kind: 'start', pageId: 'p' }),
        JSON.stringify({ kind: 'withdraw', pageId: 'p', interactionId: 'ix', state: 'lost' }),
        JSON.stringify({ kind: 'settled', visitId: 'v', interactionId: 'ix', state: 'declined', extra: 1 }),
        JSON.stringify({ kind: 'evict', pageId: 'p' }),
        JSON.stringify({ kind: 'start', pageId: 'x'.repeat(200), offer }),
      ]) {
        expect(await backend.fanout.sendToNode('node-a', junk)).toBe(1);
      }
      await until(() => a.errors.length === 7);
      expect(a.here).toEqual([]);
      const start: PageCommand = { kind: 'start', pageId: 'p', offer };
      backend.commands.send(start);
      await until(() => a.here.length === 1);
      expect(a.here).toEqual([start]);
    });
  });
});
