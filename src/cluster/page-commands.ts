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

  /**
   * Where the last command sent is in its delivery: each command is handed on only after the one sent
   * before it, so that one node's commands reach a page in the order it sent them (docs/protocol.md,
   * "Ordering and delivery"), although a settle's look-up takes two reads and a start's one.
   */
  #previous: Promise<void> = Promise.resolve();

  /** Sends a command to the node(s) holding its page(s). Never throws: a failure is reported, and the adapter carries it. */
  send(command: PageCommand): void {
    // The look-ups of several commands run at once; only handing them on waits its turn.
    const holders = this.options.store.pageHolders(
      command.kind === 'settled' ? { visitId: command.visitId } : { pageId: command.pageId },
    );
    // Its failure is handled in turn below; until then it must not count as unhandled (a crash in Node).
    holders.catch(() => {});
    // The chain never rejects: a command that fails is reported, and the next one still goes.
    this.#previous = this.#previous
      .then(() => holders)
      .then(
        (nodeIds) => this.handOn(command, nodeIds),
        (error: unknown) => this.throughAdapter(command, error),
      )
      .catch(this.options.onError);
  }

  /**
   * Emits the command here and publishes it to the other holders, at once and in the order sent.
   * Whether each was heard is known later, and a holder nobody heard gets the command through the
   * adapter then: a start has one holder, and a settle or withdraw that reaches a page twice changes
   * nothing the second time.
   */
  private handOn(command: PageCommand, holders: string[]): void {
    const { fanout, self, delivery } = this.options;
    // No holder: the page is gone, or the visit has no open page; nobody is there to tell.
    if (holders.length === 0) return;
    const others = holders.filter((nodeId) => nodeId !== self);
    const message = JSON.stringify(command);
    const heard = others.map((nodeId) => fanout.sendToNode(nodeId, message));
    if (others.length < holders.length) delivery.here(command);
    if (heard.length === 0) return;
    Promise.all(heard).then(
      (counts) => {
        if (counts.some((count) => count === 0)) this.throughAdapter(command, null);
      },
      (error: unknown) => this.throughAdapter(command, error),
    );
  }

  /** The adapter carries what could not be addressed; `error` says why (none: nobody heard its holder). */
  private throughAdapter(command: PageCommand, error: unknown): void {
    if (error !== null) this.options.onError(error);
    try {
      this.options.delivery.everywhere(command);
    } catch (failure) {
      this.options.onError(failure);
    }
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
