/**
 * Beckon's strategy console (docs/console.md): watch live visits, start and
 * cancel invitations, follow each attempt to its outcome, and read the
 * insights of a time range. Served by the backend at /console.
 *
 * Three views, chosen by the address's #fragment so a reload keeps it: Live
 * (visits and invitations), Insights and Channels.
 */
import { ConsoleApi } from './api.js';
import { AttemptsPanel } from './attempts-view.js';
import { ConnectionLine } from './connection.js';
import { ChannelsView } from './channels/view.js';
import { byId } from './dom.js';
import { followEvents } from './event-stream.js';
import { InsightsView } from './insights/view.js';
import { TokenPrompt } from './token.js';
import { VisitsPanel } from './visits-view.js';

const connection = new ConnectionLine(byId('connection', HTMLParagraphElement));
const tokens = new TokenPrompt(
  () => connection.waitingForToken(),
  () => byId('visits-title', HTMLHeadingElement),
);
const api = new ConsoleApi(tokens);
const attempts = new AttemptsPanel(api);
const visits = new VisitsPanel(api, attempts);
const insights = new InsightsView(api);
const channels = new ChannelsView(api);

/** Each view: its <main>, its link in the header, and the heading focus goes to when it is chosen. */
const VIEWS = {
  live: 'visits-title',
  insights: 'insights-title',
  channels: 'channels-title',
} as const;
type View = keyof typeof VIEWS;
const isView = (name: string): name is View => Object.hasOwn(VIEWS, name);

function showView({ focus = false } = {}): void {
  const fragment = location.hash.slice(1);
  const shown: View = isView(fragment) ? fragment : 'live';
  for (const view of Object.keys(VIEWS) as View[]) {
    byId(view, HTMLElement).hidden = view !== shown;
    const link = byId(`nav-${view}`, HTMLAnchorElement);
    if (view === shown) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  insights.setVisible(shown === 'insights');
  channels.setVisible(shown === 'channels');
  if (focus) byId(VIEWS[shown], HTMLHeadingElement).focus();
}
window.addEventListener('hashchange', () => showView({ focus: true }));

showView();
attempts.render();
void followEvents(api, {
  opened() {
    connection.online();
    insights.streamOpened();
    channels.streamOpened();
    // Events from now on arrive on the stream, so this load cannot miss any change.
    const loads = [visits.refresh(), ...attempts.unsettled().map((a) => attempts.refresh(a.interactionId))];
    void Promise.allSettled(loads).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) connection.offline(failed.reason);
    });
  },
  event(event) {
    insights.eventArrived(event);
    channels.eventArrived(event);
    attempts.applyEvent(event);
    // Visits and pages changed, or which attempt a visit has in progress and where it shows.
    visits.refresh().catch(() => {});
  },
  lost(fault) {
    connection.offline(fault);
  },
});
