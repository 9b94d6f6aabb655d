/**
 * The widget for bundlers: `import 'beckon/widget'` registers `<beckon-invite>`;
 * place it with a `server` attribute. Nothing is mounted automatically.
 */
import './beckon-invite/define.js';

export { BeckonInvite, TAG_NAME } from './beckon-invite/beckon-invite.js';
export { ConnectionController, VISIT_TOKEN_KEY } from './connection-controller.js';
export type { ConnectionListener, ConnectionOptions } from './connection-controller.js';
export type { BeckonEventMap, BeckonEventName } from './events.js';
export type { BeckonApi, BeckonEventDetails, BeckonIDs } from '../protocol/page-api.js';
export type { InvitationOffer } from '../protocol/socket.js';
export { DOM_EVENTS } from '../protocol/names.js';
