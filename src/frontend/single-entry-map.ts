/**
 * socket.io's connection (its `Client`) keeps its sockets in two Maps, by
 * id and by namespace. A page holds one socket in the one namespace Beckon
 * serves, so each Map holds one entry in a hash table made for several:
 * about 0.2 KB each, per connected page. `SingleEntryMap` does what the
 * Client asks of a Map with one entry in two fields, and turns into a real
 * Map the moment a second entry arrives (a page that also asked for another
 * namespace, which Beckon refuses before it gets there).
 */
import type { PageSocket } from './io.js';

/** No key held: a value no caller can use as a key. */
const NONE: unique symbol = Symbol('none');

export class SingleEntryMap<K, V> implements Iterable<[K, V]> {
  private key: K | typeof NONE = NONE;
  private value: V | undefined = undefined;
  /** Every entry, once there are more than one. */
  private many: Map<K, V> | null = null;

  constructor(entries: Iterable<[K, V]> = []) {
    for (const [key, value] of entries) this.set(key, value);
  }

  get size(): number {
    return this.many ? this.many.size : this.key === NONE ? 0 : 1;
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key);
    return this.key !== NONE && Object.is(this.key, key) ? this.value : undefined;
  }

  has(key: K): boolean {
    return this.many ? this.many.has(key) : this.key !== NONE && Object.is(this.key, key);
  }

  set(key: K, value: V): this {
    if (this.many) {
      this.many.set(key, value);
    } else if (this.key === NONE || Object.is(this.key, key)) {
      this.key = key;
      this.value = value;
    } else {
      this.many = new Map([[this.key, this.value as V]]).set(key, value);
      this.key = NONE;
      this.value = undefined;
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.many) return this.many.delete(key);
    if (!this.has(key)) return false;
    this.key = NONE;
    this.value = undefined;
    return true;
  }

  clear(): void {
    this.many = null;
    this.key = NONE;
    this.value = undefined;
  }

  /** A copy of the entries at the time of the call: a caller may delete while it iterates (the Client does). */
  entries(): IterableIterator<[K, V]> {
    if (this.many) return [...this.many.entries()][Symbol.iterator]();
    return (this.key === NONE ? [] : [[this.key, this.value as V] as [K, V]])[Symbol.iterator]();
  }

  keys(): IterableIterator<K> {
    return [...this.entries()].map(([key]) => key)[Symbol.iterator]();
  }

  values(): IterableIterator<V> {
    return [...this.entries()].map(([, value]) => value)[Symbol.iterator]();
  }

  forEach(callback: (value: V, key: K, map: this) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}

/** Puts a connected socket's Client on two single-entry maps (the socket is already in both). */
export function useSingleEntryMaps(socket: PageSocket): void {
  const client = socket.client as unknown as { sockets: Map<unknown, unknown>; nsps: Map<unknown, unknown> };
  if (client.sockets instanceof Map) client.sockets = new SingleEntryMap(client.sockets) as never;
  if (client.nsps instanceof Map) client.nsps = new SingleEntryMap(client.nsps) as never;
}
