import { describe, expect, it } from 'vitest';
import { SseFrames, isStreamEvent } from './event-stream.js';

describe('reading the event stream', () => {
  it('cuts frames however the text arrives, and keeps each id', () => {
    const frames = new SseFrames();
    expect(frames.push('id: 41\ndata: {"type":"visit.started"}\n')).toEqual([]);
    expect(frames.push('\nid: 42\nda')).toEqual([{ id: '41', data: '{"type":"visit.started"}' }]);
    expect(frames.push('ta: {"type":"page.entered"}\n\n')).toEqual([{ id: '42', data: '{"type":"page.entered"}' }]);
  });

  it('reads CRLF and CR line ends, joins data lines, and strips one space after the colon', () => {
    const frames = new SseFrames();
    expect(frames.push('id:7\r\ndata:  one\r\ndata:two\r\rdata: x\n\n')).toEqual([
      { id: '7', data: ' one\ntwo' },
      { id: null, data: 'x' },
    ]);
  });

  it('gives a comment (the heartbeat) as a frame without data', () => {
    expect(new SseFrames().push(': heartbeat\n\n')).toEqual([{ id: null, data: null }]);
  });

  it('takes anything with a type as an event, and nothing else', () => {
    expect(isStreamEvent({ type: 'engagement.accepted', interactionId: 'x' })).toBe(true);
    for (const value of [null, 7, 'engagement.accepted', {}, { type: 3 }]) expect(isStreamEvent(value)).toBe(false);
  });
});
