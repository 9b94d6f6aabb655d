/**
 * Beckon's strategy console (docs/console.md): watch live visits, start and
 * cancel invitations, follow each attempt to its outcome, and read the
 * insights of a time range. Served by the backend at /console.
 *
 * Two views, chosen by the address's #fragment so a reload keeps it: Live
 * (visits and invitations) and Insights.
 */
import { ConsoleApi } from './api.js';
import { AttemptsPanel } from './attempts-view.js';
import { ConnectionLine } from './connection.js';
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

function showView({ focus = false } = {}): void {
  const onInsights = location.hash === '#insights';
  byId('live', HTMLElement).hidden = onInsights;
  byId('insights', HTMLElement).hidden = !onInsights;
  for (const [link, current] of [
    [byId('nav-live', HTMLAnchorElement), !onInsights],
    [byId('nav-insights', HTMLAnchorElement), onInsights],
  ] as const) {
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  insights.setVisible(onInsights);
  if (focus) byId(onInsights ? 'insights-title' : 'visits-title', HTMLHeadingElement).focus();
}
window.addEventListener('hashchange', () => showView({ focus: true }));

showView();
attempts.render();
void followEvents(api, {
  opened() {
    connection.online();
    insights.streamOpened();
    // Events from now on arrive on the stream, so this load cannot miss any change.
    const loads = [visits.refresh(), ...attempts.unsettled().map((a) => attempts.refresh(a.interactionId))];
    void Promise.allSettled(loads).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) connection.offline(failed.reason);
    });
  },
  event(event) {
    insights.eventArrived(event);
    attempts.applyEvent(event);
    // Visits and pages changed, or which attempt a visit has in progress and where it shows.
    visits.refresh().catch(() => {});
  },
  lost(fault) {
    connection.offline(fault);
  },
});
