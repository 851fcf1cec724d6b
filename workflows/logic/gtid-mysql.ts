import type { GtidOps } from './gtid';

type Interval = [start: number, end: number];

/** Sorted, merged intervals per source: "uuid", or "uuid:tag" for MySQL 8.4 tagged GTIDs. */
type GtidSet = Map<string, Interval[]>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TAG = /^[a-z_][a-z0-9_]{0,31}$/i;
const INTERVAL = /^(\d+)(?:-(\d+))?$/;

function invalid(element: string, why: string): Error {
  return new Error(`invalid MySQL GTID set element "${element}": ${why}`);
}

function parseInterval(element: string, text: string): Interval {
  const match = INTERVAL.exec(text);
  if (!match) throw invalid(element, `"${text}" is neither an interval nor a tag`);
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start < 1 || end < start || !Number.isSafeInteger(end)) throw invalid(element, `bad interval "${text}"`);
  return [start, end];
}

function mergeIntervals(intervals: Interval[]): Interval[] {
  const merged: Interval[] = [];
  for (const [start, end] of [...intervals].sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

function addIntervals(set: GtidSet, key: string, intervals: Interval[]): void {
  set.set(key, mergeIntervals([...(set.get(key) ?? []), ...intervals]));
}

/** Parses "uuid:1-5:7[:tag:1-3...]"; a tag switches the source for the intervals after it. */
function parseElement(set: GtidSet, element: string): void {
  const [uuid, ...parts] = element.split(':');
  if (!UUID.test(uuid)) throw invalid(element, 'expected uuid:interval[:interval...]');
  const source = uuid.toLowerCase();
  let key = source;
  let awaitingInterval = true;
  for (const part of parts) {
    if (TAG.test(part)) {
      if (awaitingInterval && key !== source) throw invalid(element, `missing interval before tag "${part}"`);
      key = `${source}:${part.toLowerCase()}`;
      awaitingInterval = true;
    } else {
      addIntervals(set, key, [parseInterval(element, part)]);
      awaitingInterval = false;
    }
  }
  if (awaitingInterval) throw invalid(element, 'missing interval');
}

/** The server a source key ("uuid" or "uuid:tag") originated on. */
const uuidOf = (key: string) => key.split(':')[0];

function parse(text: string): GtidSet {
  const set: GtidSet = new Map();
  if (text.trim() === '') return set;
  for (const element of text.split(',')) parseElement(set, element.trim());
  return set;
}

function format(set: GtidSet): string {
  return [...set.keys()]
    .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    .map((key) => [key, ...set.get(key)!.map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`))].join(':'))
    .join(',');
}

/** Both lists sorted and merged. */
function subtractIntervals(a: Interval[], b: Interval[]): Interval[] {
  const rest: Interval[] = [];
  for (const [start, end] of a) {
    let from = start;
    for (const [bStart, bEnd] of b) {
      if (bEnd < from) continue;
      if (bStart > end) break;
      if (bStart > from) rest.push([from, bStart - 1]);
      from = bEnd + 1;
      if (from > end) break;
    }
    if (from <= end) rest.push([from, end]);
  }
  return rest;
}

function subtract(a: GtidSet, b: GtidSet): GtidSet {
  const rest: GtidSet = new Map();
  for (const [key, intervals] of a) {
    const left = subtractIntervals(intervals, b.get(key) ?? []);
    if (left.length > 0) rest.set(key, left);
  }
  return rest;
}

export const mysqlGtid: GtidOps = {
  normalize: (set) => format(parse(set)),
  contains: (a, b) => subtract(parse(b), parse(a)).size === 0,
  subtract: (a, b) => format(subtract(parse(a), parse(b))),
  divergent: (a, b) => format(subtract(parse(a), parse(b))),
  union(a, b) {
    const merged = parse(a);
    for (const [key, intervals] of parse(b)) addIntervals(merged, key, intervals);
    return format(merged);
  },
  isEmpty: (set) => parse(set).size === 0,
  origins: (history) => [...new Set([...parse(history).keys()].map(uuidOf))].sort(),
  // Known gap: no domains to tell another cluster's transactions by, so a shard channel's source uuids would count as errant.
  fromOthers(history, origins) {
    const rest: GtidSet = new Map([...parse(history)].filter(([key]) => !origins.includes(uuidOf(key))));
    return format(rest);
  },
  transactionCount: (set) =>
    [...parse(set).values()].flat().reduce((sum, [start, end]) => sum + end - start + 1, 0),
};
