/**
 * Page commands addressed to the node that holds the page (docs/architecture.md,
 * "Page commands between nodes"). Through the adapter, every start, withdraw
 * and settle went into one Redis stream that every node read, so each node
 * paid for every other node's pages. Here the node that made the change asks
 * the store which node holds the page (or a visit's open pages: a settle
 * reaches all of them), and sends the command on that node's own channel;
 * only that node reads it and emits it to its own room. A command for a page
 * this node holds never leaves the process.
 *
 * Delivery stays at most once, as through the adapter. A holder nobody hears
 * on its channel (it died, its subscription is reconnecting, or it runs a
 * version that reads only the adapter) gets the command through the adapter
 * instead, which every node still reads; a command lost with Redis is sent
 * again by the resync (frontend/resync.ts), as before.
 */
import { z } from 'zod';
import { engagementStateSchema } from '../protocol/index.js';
import type { PageCommand } from '../core/lifecycle.js';
import type { PresenceStore } from '../core/store.js';
import type { Fanout } from './fanout.js';

export interface PageCommandDelivery {
  /** Emits the command to the sockets of this node only. */
  here(command: PageCommand): void;
  /** Emits it through the adapter, which every node reads. */
  everywhere(command: PageCommand): void;
}

export interface AddressedPageCommandsOptions {
  store: Pick<PresenceStore, 'pageHolders'>;
  fanout: Pick<Fanout, 'listenAsNode' | 'sendToNode'>;
  /** This node's id when it holds pages (a frontend); null for a backend, which holds none. */
  self: string | null;
  delivery: PageCommandDelivery;
  /** A command that could not be addressed (it went through the adapter), or one heard that is not a command. */
  onError: (error: unknown) => void;
}

/** Ids as the store makes and accepts them; anything longer is not a command of ours. */
const id = z.string().min(1).max(128);
const state = engagementStateSchema;
/** What a node accepts from its channel: only the shapes the lifecycle publishes. */
const pageCommandSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('start'),
    pageId: id,
    offer: z.looseObject({ interactionId: id }),
  }),
  z.strictObject({ kind: z.literal('withdraw'), pageId: id, interactionId: id, state }),
  z.strictObject({ kind: z.literal('settled'), visitId: id, interactionId: id, state }),
]);

export class AddressedPageCommands {
  constructor(private readonly options: AddressedPageCommandsOptions) {}

  /** Starts hearing the commands addressed to this node (a frontend; a backend holds no page). */
  async listen(): Promise<void> {
    const { self, fanout } = this.options;
    if (self !== null) await fanout.listenAsNode(self, (message) => this.receive(message));
  }

  /** Sends a command to the node(s) holding its page(s). Never throws: a failure is reported, and the adapter carries it. */
  send(command: PageCommand): void {
    this.route(command).catch((error: unknown) => {
      this.options.onError(error);
      this.options.delivery.everywhere(command);
    });
  }

  private async route(command: PageCommand): Promise<void> {
    const { store, fanout, self, delivery } = this.options;
    const holders = await store.pageHolders(
      command.kind === 'settled' ? { visitId: command.visitId } : { pageId: command.pageId },
    );
    // No holder: the page is gone, or the visit has no open page; nobody is there to tell.
    if (holders.length === 0) return;
    const others = holders.filter((nodeId) => nodeId !== self);
    const message = JSON.stringify(command);
    const heard = await Promise.all(others.map((nodeId) => fanout.sendToNode(nodeId, message)));
    // The adapter reaches this node's sockets too: then nothing more is emitted here.
    if (heard.some((count) => count === 0)) delivery.everywhere(command);
    else if (others.length < holders.length) delivery.here(command);
  }

  /** A message on this node's channel: a command for pages this node holds, emitted to its own rooms. */
  private receive(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = undefined;
    }
    const command = pageCommandSchema.safeParse(parsed);
    if (!command.success) {
      this.options.onError(new Error('a message on this node’s channel is not a page command; it was ignored'));
      return;
    }
    this.options.delivery.here(command.data as PageCommand);
  }
}
