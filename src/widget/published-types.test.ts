/**
 * What a bundler user gets from `import 'beckon/widget'`: the emitted
 * declarations (dist/widget/types, from `npm run build:widget`) reached
 * through package.json's `types` condition. A consumer file inside this
 * package resolves `beckon/widget` by self-reference, exactly as an
 * installed copy would; it must compile, and a misuse must not.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CONSUMER_COMPILER_OPTIONS } from '../../scripts/widget-package/consumer-options.js';

const dir = join(process.cwd(), 'test-results', 'published-types');

function diagnostics(source: string): string[] {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'consumer.ts');
  writeFileSync(file, source);
  const program = ts.createProgram([file], { ...CONSUMER_COMPILER_OPTIONS, skipLibCheck: false });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe.runIf(existsSync('dist/widget/types/widget/index.d.ts'))('published widget types', () => {
  it('type the element, its events and window.Beckon', () => {
    const errors = diagnostics(`
      import { BeckonInvite, DOM_EVENTS, type BeckonEventDetails } from 'beckon/widget';
      const invite: BeckonInvite = document.createElement('beckon-invite');
      invite.position = 'inline';
      const found: BeckonInvite | null = document.querySelector('beckon-invite');
      window.addEventListener('beckon:accepted', (event) => {
        const channel: string = event.detail.channel;
        const id: string = event.detail.interactionId;
      });
      invite.addEventListener(DOM_EVENTS.invite, (event) => event.detail.channels.map((c) => c.toUpperCase()));
      const ids: Promise<{ visitId: string }> | undefined = window.Beckon?.getIDs();
      const out: Promise<void> | undefined = window.Beckon?.optOut();
      const timeout: BeckonEventDetails['beckon:timeout'] = { interactionId: 'x' };
      const tracked: Promise<void> | undefined = window.Beckon?.track('AddToCart', { sku: 'a', price: 42, gift: true });
      void window.Beckon?.signIn('u-1', { tier: 'gold' }, { token: 'ab12' });
      void window.Beckon?.signOut();
      void window.Beckon?.setUserInfo({ plan: 'pro' });
      window.addEventListener('beckon:notification', (event) => {
        const channel: string = event.detail.channel;
        const data: Record<string, unknown> = event.detail.data;
      });
    `);
    expect(errors).toEqual([]);
  });

  it('refuse what the API does not have', () => {
    const errors = diagnostics(`
      import 'beckon/widget';
      window.addEventListener('beckon:accepted', (event) => event.detail.nope);
      window.Beckon?.accept(42);
      window.Beckon?.track('Nested', { deep: { no: 1 } });
      window.Beckon?.signIn(7);
    `);
    expect(errors).toHaveLength(4);
  });
});
