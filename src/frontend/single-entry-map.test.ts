import { describe, expect, it } from 'vitest';
import { SingleEntryMap } from './single-entry-map.js';

/** Runs the same operations on a Map and a SingleEntryMap and compares every answer and the entries after each. */
function alike(operations: ((map: Map<string, number> | SingleEntryMap<string, number>) => unknown)[]): void {
  const map = new Map<string, number>();
  const single = new SingleEntryMap<string, number>();
  for (const operation of operations) {
    const expected = operation(map);
    const actual = operation(single);
    expect(actual === single ? map : actual).toEqual(expected);
    expect([...single]).toEqual([...map]);
    expect(single.size).toBe(map.size);
  }
}

describe('SingleEntryMap', () => {
  it('answers as a Map with none and with one entry', () => {
    alike([
      (m) => m.get('a'),
      (m) => m.has('a'),
      (m) => m.delete('a'),
      (m) => m.set('a', 1),
      (m) => m.get('a'),
      (m) => m.get('b'),
      (m) => m.has('a'),
      (m) => m.set('a', 2),
      (m) => [...m.values()],
      (m) => [...m.keys()],
      (m) => m.delete('b'),
      (m) => m.delete('a'),
      (m) => m.get('a'),
    ]);
  });

  it('holds several entries as a Map once a second one arrives, and clears', () => {
    alike([
      (m) => m.set('a', 1),
      (m) => m.set('b', 2),
      (m) => m.set('c', 3),
      (m) => m.get('b'),
      (m) => m.delete('a'),
      (m) => [...m.entries()],
      (m) => m.clear(),
      (m) => m.set('d', 4),
      (m) => m.get('d'),
    ]);
  });

  it('lets a caller delete while it iterates, as socket.io’s Client does', () => {
    const single = new SingleEntryMap([['a', 1]]);
    const seen: number[] = [];
    for (const value of single.values()) {
      seen.push(value);
      single.delete('a');
    }
    expect(seen).toEqual([1]);
    expect(single.size).toBe(0);
    const counted: string[] = [];
    new SingleEntryMap([['x', 1]]).forEach((_value, key) => counted.push(key));
    expect(counted).toEqual(['x']);
  });
});
