/**
 * A probe page in the benchmark's own process: one socket.io-client page
 * whose invitations are timed from the start of the engage call to (a) the
 * `invitation:start` event reaching the page and (b) the server's `delivered`
 * acknowledgement reaching it. It declines each one so the next can follow.
 */
import { io, type Socket } from 'socket.io-client';
import { ENGAGE_PATH, engageBody } from './engage.js';
import { now, summarize, type Summary } from './stats.js';

export interface ProbeResult {
  atPage: Summary;
  delivered: Summary;
  failures: number;
}

export class ProbePage {
  private constructor(
    private readonly socket: Socket,
    readonly visitId: string,
    private readonly apiUrl: string,
  ) {}

  /** A page on `url`; its engage calls go to `apiUrl` (a cluster's backend), or to `url` itself. */
  static open(url: string, apiUrl = url): Promise<ProbePage> {
    const socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { page: { url: 'http://shop.test/probe', title: 'Probe', visible: true, focused: true, locale: 'en' } },
    });
    return new Promise((resolve, reject) => {
      socket.once('session', (session: { visitId: string }) => resolve(new ProbePage(socket, session.visitId, apiUrl)));
      socket.once('connect_error', reject);
    });
  }

  /** Sends `count` engage calls one after the other and times each. */
  async run(count: number, prefix: string): Promise<ProbeResult> {
    const atPage: number[] = [];
    const delivered: number[] = [];
    let failures = 0;
    for (let i = 0; i < count; i++) {
      const interactionId = `${prefix}-${i}`;
      try {
        const t0 = now();
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no invitation within 10 s')), 10_000);
          const onStart = (offer: { interactionId: string }) => {
            if (offer.interactionId !== interactionId) return;
            clearTimeout(timer);
            this.socket.off('invitation:start', onStart);
            resolve(now());
          };
          this.socket.on('invitation:start', onStart);
        });
        const response = await fetch(this.apiUrl + ENGAGE_PATH, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: engageBody(interactionId, this.visitId),
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`engage answered ${response.status}`);
        const t1 = await arrived;
        const ack = await this.socket.timeout(10_000).emitWithAck('invitation:shown', { interactionId });
        const t2 = now();
        if (!ack?.ok || ack.state !== 'delivered') throw new Error(`shown: ${JSON.stringify(ack)}`);
        atPage.push(t1 - t0);
        delivered.push(t2 - t0);
        await this.socket.timeout(10_000).emitWithAck('invitation:answer', { interactionId, outcome: 'declined' });
      } catch {
        failures++;
      }
    }
    return { atPage: summarize(atPage), delivered: summarize(delivered), failures };
  }

  close(): void {
    this.socket.disconnect();
  }
}
