/**
 * Reading a V8 heap snapshot (`v8.writeHeapSnapshot`) without DevTools: the
 * number arrays are parsed straight from the file's bytes (a snapshot of a
 * frontend holding 10,000 pages is hundreds of MB, more than one string may
 * hold), the strings with JSON.parse. What it answers: the bytes and objects
 * of each kind (constructor name for objects, function name for closures,
 * the node type otherwise), and who holds them (the retainer's kind and the
 * edge's name), so two snapshots taken before and after N pages connect say
 * what each page costs and where it sits.
 */
import { readFileSync } from 'node:fs';

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

export interface HeapSnapshot {
  nodeCount: number;
  /** Kind of each node (index into `kinds`). */
  kindOf: Uint32Array;
  kinds: string[];
  selfSize: Float64Array;
  /** The retainer of each node on a shortest strong path from the roots: its node index, or -1. */
  retainer: Int32Array;
  /** The edge name by which that retainer holds each node. */
  retainerEdge: string[];
  totalSize: number;
}

/** Finds `"key":[` in the file and parses the integers up to the closing bracket. */
function numbersAfter(bytes: Buffer, key: string, from = 0): { values: Float64Array; end: number } {
  const marker = Buffer.from(`"${key}":[`);
  const start = bytes.indexOf(marker, from);
  if (start < 0) throw new Error(`no ${key} in the snapshot`);
  let count = 0;
  let i = start + marker.length;
  const end = bytes.indexOf(0x5d /* ] */, i);
  for (let j = i; j < end; j++) if (bytes[j] === 0x2c /* , */) count++;
  const values = new Float64Array(end > i ? count + 1 : 0);
  let n = 0;
  let current = 0;
  let inNumber = false;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      current = current * 10 + (c - 0x30);
      inNumber = true;
    } else if (inNumber) {
      values[n++] = current;
      current = 0;
      inNumber = false;
    }
  }
  if (inNumber) values[n++] = current;
  return { values: values.subarray(0, n), end };
}

export function readHeapSnapshot(path: string): HeapSnapshot {
  const bytes = readFileSync(path);
  const headerEnd = bytes.indexOf(Buffer.from('"nodes":['));
  const header = bytes.subarray(0, headerEnd).toString('utf8');
  const meta = (JSON.parse(`${header.replace(/,\s*$/, '')}}`) as { snapshot: { meta: Meta } }).snapshot.meta;
  const nodes = numbersAfter(bytes, 'nodes', headerEnd);
  const edges = numbersAfter(bytes, 'edges', nodes.end);
  const stringsStart = bytes.indexOf(Buffer.from('"strings":['), edges.end);
  const stringsEnd = bytes.lastIndexOf(0x5d /* ] */);
  const strings = JSON.parse(
    bytes.subarray(stringsStart + '"strings":'.length, stringsEnd + 1).toString('utf8'),
  ) as string[];

  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSize = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const nameIsIndex = new Set(['element', 'hidden'].map((t) => edgeTypes.indexOf(t)));

  const nodeCount = nodes.values.length / nf;
  const kindOf = new Uint32Array(nodeCount);
  const selfSize = new Float64Array(nodeCount);
  const kinds: string[] = [];
  const kindIndex = new Map<string, number>();
  let totalSize = 0;
  for (let n = 0; n < nodeCount; n++) {
    const type = nodeTypes[nodes.values[n * nf + nType]!]!;
    const name = strings[nodes.values[n * nf + nName]!] ?? '';
    // Objects by constructor, closures by function, native and hidden by name; strings and numbers only by type.
    const kind =
      type === 'object' || type === 'native' || type === 'closure' || type === 'hidden' || type === 'array'
        ? `${type === 'object' ? '' : `(${type}) `}${name.length > 60 ? `${name.slice(0, 60)}…` : name}`
        : `(${type})`;
    let k = kindIndex.get(kind);
    if (k === undefined) {
      k = kinds.length;
      kinds.push(kind);
      kindIndex.set(kind, k);
    }
    kindOf[n] = k;
    selfSize[n] = nodes.values[n * nf + nSize]!;
    totalSize += selfSize[n]!;
  }

  // Each node's retainer on a shortest path from the roots (as DevTools shows first), found breadth first.
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0; n < nodeCount; n++) firstEdge[n + 1] = firstEdge[n]! + nodes.values[n * nf + nEdges]!;
  const retainer = new Int32Array(nodeCount).fill(-1);
  const retainerEdge: string[] = new Array<string>(nodeCount);
  const seen = new Uint8Array(nodeCount);
  const queue = new Int32Array(nodeCount);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  seen[0] = 1;
  while (head < tail) {
    const n = queue[head++]!;
    for (let edge = firstEdge[n]!; edge < firstEdge[n + 1]!; edge++) {
      const type = edges.values[edge * ef + eType]!;
      if (type === weak) continue;
      const to = edges.values[edge * ef + eTo]! / nf;
      if (seen[to]) continue;
      seen[to] = 1;
      queue[tail++] = to;
      retainer[to] = n;
      const nameOrIndex = edges.values[edge * ef + eName]!;
      retainerEdge[to] = nameIsIndex.has(type) ? `[${nameOrIndex}]` : (strings[nameOrIndex] ?? '?');
    }
  }
  return { nodeCount, kindOf, kinds, selfSize, retainer, retainerEdge, totalSize };
}

export interface KindTotal {
  kind: string;
  count: number;
  bytes: number;
}

/** Objects and bytes of each kind. */
export function byKind(snapshot: HeapSnapshot): Map<string, KindTotal> {
  const totals = new Map<string, KindTotal>();
  for (let n = 0; n < snapshot.nodeCount; n++) {
    const kind = snapshot.kinds[snapshot.kindOf[n]!]!;
    let t = totals.get(kind);
    if (!t) totals.set(kind, (t = { kind, count: 0, bytes: 0 }));
    t.count++;
    t.bytes += snapshot.selfSize[n]!;
  }
  return totals;
}

/** What `after` has more of than `before`, per unit (e.g. per page), largest first. */
export function growth(before: Map<string, KindTotal>, after: Map<string, KindTotal>, units: number): KindTotal[] {
  return [...after.values()]
    .map((a) => {
      const b = before.get(a.kind);
      return { kind: a.kind, count: (a.count - (b?.count ?? 0)) / units, bytes: (a.bytes - (b?.bytes ?? 0)) / units };
    })
    .sort((x, y) => y.bytes - x.bytes);
}

/**
 * Who holds the objects of one kind: bytes by "retainer kind . edge", and by
 * the chain of `depth` retainers above them, largest first.
 */
export function holders(
  snapshot: HeapSnapshot,
  kind: string | null,
  depth: number,
): { chain: string; bytes: number; count: number }[] {
  // null: every kind, each chain starting with the object's own kind.
  const k = kind === null ? -1 : snapshot.kinds.indexOf(kind);
  const chains = new Map<string, { chain: string; bytes: number; count: number }>();
  if (kind !== null && k < 0) return [];
  for (let n = 0; n < snapshot.nodeCount; n++) {
    if (kind !== null && snapshot.kindOf[n] !== k) continue;
    const parts: string[] = kind === null ? [snapshot.kinds[snapshot.kindOf[n]!]!] : [];
    let at = n;
    for (let d = 0; d < depth; d++) {
      const up = snapshot.retainer[at]!;
      if (up < 0) break;
      parts.push(`${snapshot.kinds[snapshot.kindOf[up]!]}.${snapshot.retainerEdge[at]}`);
      at = up;
    }
    const chain = parts.join(' ← ') || '(root)';
    let c = chains.get(chain);
    if (!c) chains.set(chain, (c = { chain, bytes: 0, count: 0 }));
    c.bytes += snapshot.selfSize[n]!;
    c.count++;
  }
  return [...chains.values()].sort((a, b) => b.bytes - a.bytes);
}
