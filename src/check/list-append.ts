// A strict-serializability checker for list-append histories, after Elle (Kingsbury & Alvaro,
// "Elle: Inferring Isolation Anomalies from Experimental Observations", 2020). Transactions are
// sequences of micro-ops `append k v` and `read k -> list`. Because every appended value is unique
// per key and a list only grows, the longest read of a key fixes that key's version order; from it
// we infer ww / wr / rw dependencies between committed transactions, add real-time edges, and
// any cycle is an anomaly a strictly serializable store cannot produce. Hand-written (no
// dependency) because it is a judge of the store: we must be able to read and bound it.

import { assert } from './assert.js';

export type ListAppendMicroOp =
  | { readonly f: 'append'; readonly key: string; readonly value: number }
  /** `value` is the list read, or null when the result is unknown (info and fail transactions). */
  | { readonly f: 'read'; readonly key: string; readonly value: readonly number[] | null };

export interface ListAppendTransaction {
  readonly id: number;
  readonly outcome: 'ok' | 'info' | 'fail';
  readonly ops: readonly ListAppendMicroOp[];
  readonly callMs: number;
  /** Absent for indefinite transactions: they may take effect at any time after the call, or never. */
  readonly returnMs?: number;
}

export type EdgeKind = 'ww' | 'wr' | 'rw' | 'rt';

export type AnomalyType =
  | 'G0'
  | 'G1c'
  | 'G-single'
  | 'G2'
  | 'G0-realtime'
  | 'G1c-realtime'
  | 'G-single-realtime'
  | 'G2-realtime'
  | 'aborted-read'
  | 'intermediate-read'
  | 'incompatible-order'
  | 'duplicate-element'
  | 'unknown-value'
  | 'internal'
  | 'lost-append';

export interface CycleStep {
  readonly from: number;
  readonly to: number;
  readonly kind: EdgeKind;
}

export interface ListAppendAnomaly {
  readonly type: AnomalyType;
  /** Ids of the transactions involved. */
  readonly transactions: readonly number[];
  readonly explanation: string;
  readonly cycle?: readonly CycleStep[];
}

export type ListAppendResult =
  | { readonly valid: true; readonly transactions: number; readonly edges: number }
  | {
      readonly valid: false;
      readonly anomalyTypes: readonly AnomalyType[];
      readonly anomalies: readonly ListAppendAnomaly[];
    }
  | { readonly valid: 'unknown'; readonly reason: string };

/** Histories larger than this are not checked (result 'unknown'), so a check always finishes. */
export const MAX_LIST_APPEND_TRANSACTIONS = 200_000;
/** Dependency-graph edges (all kinds) beyond which the check gives up with 'unknown'. */
export const MAX_GRAPH_EDGES = 5_000_000;
/** Anomalies kept per type; the count beyond is reported, not listed. */
export const MAX_ANOMALIES_PER_TYPE = 8;
/** Start nodes tried per strongly connected component when looking for its shortest cycle. */
export const MAX_CYCLE_SEARCH_STARTS = 64;

const KIND_BITS: Record<EdgeKind, number> = { ww: 1, wr: 2, rw: 4, rt: 8 };
const KINDS: readonly EdgeKind[] = ['ww', 'wr', 'rw', 'rt'];

export class ListAppendHistoryError extends Error {
  constructor(message: string) {
    super(`list-append history: ${message}`);
    this.name = 'ListAppendHistoryError';
  }
}

/** Where an appended value came from. */
interface Writer {
  readonly txn: ListAppendTransaction;
  /** Index of this append among the transaction's appends to the same key (0 = first). */
  readonly index: number;
  /** How many values the transaction appended to this key. */
  readonly count: number;
}

/** Dependency graph over transaction ids: adjacency from → (to → bitmask of edge kinds). */
class DependencyGraph {
  readonly out = new Map<number, Map<number, number>>();
  edges = 0;

  add(from: number, to: number, kind: EdgeKind): void {
    if (from === to) return;
    let targets = this.out.get(from);
    if (targets === undefined) {
      targets = new Map();
      this.out.set(from, targets);
    }
    const bits = targets.get(to) ?? 0;
    if (bits === 0) this.edges++;
    targets.set(to, bits | KIND_BITS[kind]);
  }

  /** Successors of `from` over edges with a kind in `mask`, restricted to `within` if given. */
  *successors(from: number, mask: number, within?: ReadonlySet<number>): Generator<number> {
    const targets = this.out.get(from);
    if (targets === undefined) return;
    for (const [to, bits] of targets) {
      if ((bits & mask) !== 0 && (within === undefined || within.has(to))) yield to;
    }
  }

  bits(from: number, to: number): number {
    return this.out.get(from)?.get(to) ?? 0;
  }
}

class AnomalyLog {
  readonly anomalies: ListAppendAnomaly[] = [];
  private readonly counts = new Map<AnomalyType, number>();

  add(anomaly: ListAppendAnomaly): void {
    const count = (this.counts.get(anomaly.type) ?? 0) + 1;
    this.counts.set(anomaly.type, count);
    if (count <= MAX_ANOMALIES_PER_TYPE) this.anomalies.push(anomaly);
  }

  types(): AnomalyType[] {
    return [...this.counts.keys()];
  }
}

const show = (list: readonly number[]): string => `[${list.join(' ')}]`;

export function checkListAppend(history: readonly ListAppendTransaction[]): ListAppendResult {
  if (history.length > MAX_LIST_APPEND_TRANSACTIONS) {
    return {
      valid: 'unknown',
      reason: `${history.length} transactions exceed MAX_LIST_APPEND_TRANSACTIONS (${MAX_LIST_APPEND_TRANSACTIONS})`,
    };
  }
  const log = new AnomalyLog();
  const writers = indexAppends(history);
  const orders = versionOrders(history, log);
  checkReads(history, writers, log);
  checkLostAppends(history, orders, log);

  // Committed transactions: every ok one, and indefinite ones some read observed.
  const committed = history.filter(
    (t) =>
      t.outcome === 'ok' ||
      (t.outcome === 'info' &&
        t.ops.some((op) => op.f === 'append' && orders.get(op.key)?.positions.has(op.value) === true)),
  );
  const graph = new DependencyGraph();
  addDataEdges(committed, writers, orders, graph);
  addRealTimeEdges(committed, graph);
  if (graph.edges > MAX_GRAPH_EDGES) {
    return { valid: 'unknown', reason: `${graph.edges} edges exceed MAX_GRAPH_EDGES (${MAX_GRAPH_EDGES})` };
  }
  findCycles(graph, committed, log);

  if (log.anomalies.length === 0) return { valid: true, transactions: committed.length, edges: graph.edges };
  return { valid: false, anomalyTypes: log.types(), anomalies: log.anomalies };
}

/** Maps key → value → writer. A value appended twice to one key breaks the workload's contract. */
function indexAppends(history: readonly ListAppendTransaction[]): Map<string, Map<number, Writer>> {
  const writers = new Map<string, Map<number, Writer>>();
  const ids = new Set<number>();
  for (const txn of history) {
    if (ids.has(txn.id)) throw new ListAppendHistoryError(`transaction id ${txn.id} appears twice`);
    ids.add(txn.id);
    if (txn.outcome === 'ok' && txn.returnMs === undefined)
      throw new ListAppendHistoryError(`ok transaction ${txn.id} has no return time`);
    const counts = new Map<string, number>();
    for (const op of txn.ops) if (op.f === 'append') counts.set(op.key, (counts.get(op.key) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const op of txn.ops) {
      if (op.f !== 'append') continue;
      let byValue = writers.get(op.key);
      if (byValue === undefined) {
        byValue = new Map();
        writers.set(op.key, byValue);
      }
      if (byValue.has(op.value))
        throw new ListAppendHistoryError(`value ${op.value} appended to ${op.key} twice`);
      const index = seen.get(op.key) ?? 0;
      seen.set(op.key, index + 1);
      byValue.set(op.value, { txn, index, count: counts.get(op.key) ?? 1 });
    }
  }
  return writers;
}

interface VersionOrder {
  /** The longest list read: the key's order of appends. */
  readonly list: readonly number[];
  /** value → index in `list`. */
  readonly positions: ReadonlyMap<number, number>;
}

interface ObservedRead {
  readonly txn: ListAppendTransaction;
  readonly key: string;
  readonly list: readonly number[];
}

/** Every read result of every acknowledged transaction (only those carry results). */
function* okReads(history: readonly ListAppendTransaction[]): Generator<ObservedRead> {
  for (const txn of history) {
    if (txn.outcome !== 'ok') continue;
    for (const op of txn.ops)
      if (op.f === 'read' && op.value !== null) yield { txn, key: op.key, list: op.value };
  }
}

/** Elle, list-append: every read of a key must be a prefix of its longest read. */
function versionOrders(
  history: readonly ListAppendTransaction[],
  log: AnomalyLog,
): Map<string, VersionOrder> {
  const longest = new Map<string, { list: readonly number[]; txn: number }>();
  for (const read of okReads(history)) {
    const best = longest.get(read.key);
    if (best === undefined || read.list.length > best.list.length)
      longest.set(read.key, { list: read.list, txn: read.txn.id });
  }
  const orders = new Map<string, VersionOrder>();
  for (const [key, { list }] of longest) {
    const positions = new Map<number, number>();
    list.forEach((value, index) => {
      if (!positions.has(value)) positions.set(value, index);
    });
    assert(positions.size <= list.length, `version order of ${key} indexes more values than it holds`);
    orders.set(key, { list, positions });
  }
  for (const read of okReads(history)) {
    const order = orders.get(read.key);
    assert(order !== undefined, `no version order for read key ${read.key}`);
    const mismatch = read.list.findIndex((value, index) => order.list[index] !== value);
    if (mismatch >= 0) {
      const best = longest.get(read.key);
      log.add({
        type: 'incompatible-order',
        transactions: best === undefined ? [read.txn.id] : [read.txn.id, best.txn],
        explanation: `${read.key}: transaction ${read.txn.id} read ${show(read.list)}, not a prefix of ${show(order.list)} (read by ${best?.txn}); they differ at index ${mismatch}`,
      });
    }
  }
  return orders;
}

function checkReads(
  history: readonly ListAppendTransaction[],
  writers: Map<string, Map<number, Writer>>,
  log: AnomalyLog,
): void {
  for (const read of okReads(history)) {
    const seen = new Set<number>();
    for (const value of read.list) {
      if (seen.has(value)) {
        log.add({
          type: 'duplicate-element',
          transactions: [read.txn.id],
          explanation: `${read.key}: transaction ${read.txn.id} read ${show(read.list)}, which holds ${value} twice`,
        });
        break;
      }
      seen.add(value);
      const writer = writers.get(read.key)?.get(value);
      if (writer === undefined) {
        log.add({
          type: 'unknown-value',
          transactions: [read.txn.id],
          explanation: `${read.key}: transaction ${read.txn.id} read ${value}, which no transaction appended`,
        });
      } else if (writer.txn.outcome === 'fail') {
        log.add({
          type: 'aborted-read',
          transactions: [read.txn.id, writer.txn.id],
          explanation: `${read.key}: transaction ${read.txn.id} read ${value}, appended by transaction ${writer.txn.id}, which failed`,
        });
      }
    }
    // G1b: the last value read is a non-final append of another transaction.
    const last = read.list.at(-1);
    const writer = last === undefined ? undefined : writers.get(read.key)?.get(last);
    if (writer !== undefined && writer.txn !== read.txn && writer.index < writer.count - 1) {
      log.add({
        type: 'intermediate-read',
        transactions: [read.txn.id, writer.txn.id],
        explanation: `${read.key}: transaction ${read.txn.id} read ${show(read.list)}, ending in an intermediate append of transaction ${writer.txn.id}`,
      });
    }
  }
  for (const txn of history) if (txn.outcome === 'ok') checkInternal(txn, log);
}

/** A transaction sees its own writes: each read equals the previous read plus its appends since. */
function checkInternal(txn: ListAppendTransaction, log: AnomalyLog): void {
  const known = new Map<string, { list: number[]; exact: boolean }>();
  for (const op of txn.ops) {
    const state = known.get(op.key);
    if (op.f === 'append') {
      if (state === undefined) known.set(op.key, { list: [op.value], exact: false });
      else state.list.push(op.value);
      continue;
    }
    if (op.value === null) continue;
    if (state !== undefined) {
      const expected = state.list;
      const ok = state.exact
        ? expected.length === op.value.length && expected.every((v, i) => op.value?.[i] === v)
        : expected.length <= op.value.length &&
          expected.every((v, i) => op.value?.[op.value.length - expected.length + i] === v);
      if (!ok) {
        log.add({
          type: 'internal',
          transactions: [txn.id],
          explanation: `${op.key}: transaction ${txn.id} read ${show(op.value)}, but its own earlier operations imply ${state.exact ? '' : '… '}${show(expected)}`,
        });
      }
    }
    known.set(op.key, { list: [...op.value], exact: true });
  }
}

/**
 * Strict serializability: an acknowledged append must be visible to every read of its key that
 * began after the append returned. A value no read ever shows is not in the version order, so
 * the graph cannot see this loss; check it directly.
 */
function checkLostAppends(
  history: readonly ListAppendTransaction[],
  orders: Map<string, VersionOrder>,
  log: AnomalyLog,
): void {
  const lastReadCall = new Map<string, { callMs: number; txn: number }>();
  for (const read of okReads(history)) {
    const latest = lastReadCall.get(read.key);
    if (latest === undefined || read.txn.callMs > latest.callMs)
      lastReadCall.set(read.key, { callMs: read.txn.callMs, txn: read.txn.id });
  }
  for (const txn of history) {
    if (txn.outcome !== 'ok' || txn.returnMs === undefined) continue;
    for (const op of txn.ops) {
      if (op.f !== 'append' || orders.get(op.key)?.positions.has(op.value) === true) continue;
      const later = lastReadCall.get(op.key);
      if (later !== undefined && later.callMs > txn.returnMs) {
        log.add({
          type: 'lost-append',
          transactions: [txn.id, later.txn],
          explanation: `${op.key}: transaction ${txn.id} appended ${op.value} and returned at ${txn.returnMs} ms, but transaction ${later.txn}, begun at ${later.callMs} ms, and every other read, miss it`,
        });
      }
    }
  }
}

/** The first read of each key before the transaction appends to it: what it saw of others. */
function externalReads(txn: ListAppendTransaction): Map<string, readonly number[]> {
  const reads = new Map<string, readonly number[]>();
  const written = new Set<string>();
  for (const op of txn.ops) {
    if (op.f === 'append') written.add(op.key);
    else if (op.value !== null && !written.has(op.key) && !reads.has(op.key)) reads.set(op.key, op.value);
  }
  return reads;
}

function addDataEdges(
  committed: readonly ListAppendTransaction[],
  writers: Map<string, Map<number, Writer>>,
  orders: Map<string, VersionOrder>,
  graph: DependencyGraph,
): void {
  const inGraph = new Set(committed.map((t) => t.id));
  const writerOf = (key: string, value: number | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const id = writers.get(key)?.get(value)?.txn.id;
    return id !== undefined && inGraph.has(id) ? id : undefined;
  };
  // ww: consecutive elements of a key's order appended by different transactions.
  for (const [key, order] of orders) {
    for (let i = 1; i < order.list.length; i++) {
      const before = writerOf(key, order.list[i - 1]);
      const after = writerOf(key, order.list[i]);
      if (before !== undefined && after !== undefined) graph.add(before, after, 'ww');
    }
  }
  for (const txn of committed) {
    if (txn.outcome !== 'ok') continue;
    for (const [key, list] of externalReads(txn)) {
      // wr: the writer of the last element read precedes the reader.
      const source = writerOf(key, list.at(-1));
      if (source !== undefined) graph.add(source, txn.id, 'wr');
      // rw: the reader precedes whoever appended the next element (an anti-dependency).
      const order = orders.get(key);
      const next =
        order !== undefined && list.length < order.list.length ? order.list[list.length] : undefined;
      const overwriter = writerOf(key, next);
      if (overwriter !== undefined) graph.add(txn.id, overwriter, 'rw');
    }
  }
}

/**
 * Real-time edges, transitively reduced as Elle does: a transaction gets an edge from every
 * completed transaction on the frontier when it begins; completing removes its predecessors from
 * the frontier. Every pair a.return < b.call stays connected by a path. Touching intervals
 * (a.return === b.call) count as concurrent, so invocations sort before completions.
 */
function addRealTimeEdges(committed: readonly ListAppendTransaction[], graph: DependencyGraph): void {
  type Event = { timeMs: number; invoke: boolean; txn: ListAppendTransaction };
  const events: Event[] = [];
  for (const txn of committed) {
    events.push({ timeMs: txn.callMs, invoke: true, txn });
    if (txn.returnMs !== undefined) {
      assert(txn.returnMs >= txn.callMs, `transaction ${txn.id} returns before its call`);
      events.push({ timeMs: txn.returnMs, invoke: false, txn });
    }
  }
  events.sort((a, b) => a.timeMs - b.timeMs || Number(b.invoke) - Number(a.invoke));
  const frontier = new Set<number>();
  const predecessors = new Map<number, number[]>();
  for (const event of events) {
    if (event.invoke) {
      const before = [...frontier];
      predecessors.set(event.txn.id, before);
      for (const id of before) graph.add(id, event.txn.id, 'rt');
    } else {
      for (const id of predecessors.get(event.txn.id) ?? []) frontier.delete(id);
      frontier.add(event.txn.id);
    }
  }
}

/** Tarjan's strongly connected components, iterative (histories are too deep for recursion). */
export function stronglyConnectedComponents(
  nodes: readonly number[],
  successors: (node: number) => Iterable<number>,
): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: number; iterator: Iterator<number> }[] = [];
    const visit = (node: number): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, iterator: successors(node)[Symbol.iterator]() });
    };
    visit(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const step = frame.iterator.next();
      if (!step.done) {
        const next = step.value;
        if (!index.has(next)) visit(next);
        else if (onStack.has(next))
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(next) ?? 0));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent !== undefined)
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: number[] = [];
        let member: number | undefined;
        do {
          member = stack.pop();
          assert(member !== undefined, 'Tarjan stack underflow');
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** Shortest path from `from` to `to` (BFS) over edges in `mask` within `within`, or null. */
function shortestPath(
  graph: DependencyGraph,
  from: number,
  to: number,
  mask: number,
  within: ReadonlySet<number>,
): number[] | null {
  const parent = new Map<number, number>([[from, from]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const next of graph.successors(node, mask, within)) {
      if (parent.has(next)) continue;
      parent.set(next, node);
      if (next === to) {
        const path = [to];
        for (let at = to; at !== from; ) {
          at = parent.get(at) ?? from;
          path.push(at);
        }
        return path.reverse();
      }
      queue.push(next);
    }
  }
  return null;
}

/** The shortest cycle (as a node list, first = last) through some of the first starts of `component`. */
function shortestCycle(
  graph: DependencyGraph,
  component: ReadonlySet<number>,
  mask: number,
): number[] | null {
  let best: number[] | null = null;
  let starts = 0;
  for (const start of component) {
    if (starts++ >= MAX_CYCLE_SEARCH_STARTS) break;
    for (const next of graph.successors(start, mask, component)) {
      const back = shortestPath(graph, next, start, mask, component);
      if (back !== null && (best === null || back.length + 1 < best.length)) best = [start, ...back];
    }
  }
  return best;
}

/** G-single: a cycle with exactly one rw edge, closed by ww/wr edges. */
function singleAntiDependencyCycle(graph: DependencyGraph, component: ReadonlySet<number>): number[] | null {
  const dependencies = KIND_BITS.ww | KIND_BITS.wr;
  let best: number[] | null = null;
  let tried = 0;
  for (const from of component) {
    for (const to of graph.successors(from, KIND_BITS.rw, component)) {
      if (tried++ >= MAX_CYCLE_SEARCH_STARTS) return best;
      const back = shortestPath(graph, to, from, dependencies, component);
      if (back !== null && (best === null || back.length + 1 < best.length)) best = [from, ...back];
    }
  }
  return best;
}

/**
 * Labels each hop with the least severe kind allowed (rw counts against isolation; rt only
 * against strict serializability), then names the cycle as Elle does.
 */
function describeCycle(graph: DependencyGraph, nodes: readonly number[], mask: number, rwHop?: number) {
  const steps: CycleStep[] = [];
  for (let i = 0; i + 1 < nodes.length; i++) {
    const bits = graph.bits(nodes[i], nodes[i + 1]) & mask;
    assert(bits !== 0, `cycle hop ${nodes[i]} -> ${nodes[i + 1]} has no edge`);
    const preference: EdgeKind[] = i === rwHop ? ['rw'] : ['ww', 'wr', 'rt', 'rw'];
    const kind = preference.find((k) => (bits & KIND_BITS[k]) !== 0) ?? KINDS[0];
    steps.push({ from: nodes[i], to: nodes[i + 1], kind });
  }
  const count = (kind: EdgeKind) => steps.filter((s) => s.kind === kind).length;
  const base = count('rw') > 1 ? 'G2' : count('rw') === 1 ? 'G-single' : count('wr') > 0 ? 'G1c' : 'G0';
  const type = (count('rt') > 0 ? `${base}-realtime` : base) as AnomalyType;
  return { type, steps };
}

const EXPLAIN: Record<EdgeKind, string> = {
  ww: 'appended before (ww)',
  wr: 'was read by (wr)',
  rw: 'read a state overwritten by (rw)',
  rt: 'completed before the start of (rt)',
};

/**
 * Looks for cycles with ever wider edge sets (ww; ww+wr; +rw; +rt) so each tangle is named by
 * the weakest isolation level it violates. A component that holds an already reported cycle is
 * not reported again at a wider level.
 */
function findCycles(
  graph: DependencyGraph,
  committed: readonly ListAppendTransaction[],
  log: AnomalyLog,
): void {
  const nodes = committed.map((t) => t.id);
  const reported = new Set<number>();
  const stages: { mask: number; single?: boolean }[] = [
    { mask: KIND_BITS.ww },
    { mask: KIND_BITS.ww | KIND_BITS.wr },
    { mask: KIND_BITS.ww | KIND_BITS.wr | KIND_BITS.rw, single: true },
    { mask: KIND_BITS.ww | KIND_BITS.wr | KIND_BITS.rw | KIND_BITS.rt },
  ];
  for (const { mask, single } of stages) {
    const components = stronglyConnectedComponents(nodes, (node) => graph.successors(node, mask));
    for (const members of components) {
      if (members.length < 2 || members.some((m) => reported.has(m))) continue;
      const component = new Set(members);
      let cycle = single === true ? singleAntiDependencyCycle(graph, component) : null;
      const described = cycle !== null ? describeCycle(graph, cycle, mask, 0) : undefined;
      cycle ??= shortestCycle(graph, component, mask);
      assert(cycle !== null, `strongly connected component of ${members.length} has no cycle`);
      const { type, steps } = described ?? describeCycle(graph, cycle, mask);
      for (const id of cycle) reported.add(id);
      log.add({
        type,
        transactions: cycle.slice(0, -1),
        cycle: steps,
        explanation: `${type} cycle: ${steps.map((s) => `${s.from} ${EXPLAIN[s.kind]} ${s.to}`).join(', ')}`,
      });
    }
  }
}
