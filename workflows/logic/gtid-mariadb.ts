import type { GtidOps } from './gtid';

interface Entry {
  domain: number;
  server: number;
  seq: number;
}

/** One entry per replication domain. Ordering is by seq only, as MASTER_GTID_WAIT compares. */
type Position = Map<number, Entry>;

const UINT32_MAX = 4294967295;

function parseEntry(text: string): Entry {
  const match = /^(\d+)-(\d+)-(\d+)$/.exec(text);
  if (!match) throw new Error(`invalid MariaDB GTID "${text}": expected domain-server-seq`);
  const [domain, server, seq] = match.slice(1).map(Number);
  if (domain > UINT32_MAX || server > UINT32_MAX || !Number.isSafeInteger(seq)) {
    throw new Error(`invalid MariaDB GTID "${text}": number out of range`);
  }
  return { domain, server, seq };
}

function keepHighest(position: Position, entry: Entry): void {
  const held = position.get(entry.domain);
  if (!held || entry.seq > held.seq) position.set(entry.domain, entry);
}

function parse(text: string): Position {
  const position: Position = new Map();
  if (text.trim() === '') return position;
  for (const part of text.split(',')) keepHighest(position, parseEntry(part.trim()));
  return position;
}

/** Every entry, as gtid_binlog_state lists them (one per domain and server). */
function entries(text: string): Entry[] {
  return text.trim() === '' ? [] : text.split(',').map((part) => parseEntry(part.trim()));
}

function formatEntries(list: Entry[]): string {
  return [...list].sort((x, y) => x.domain - y.domain || x.server - y.server).map((e) => `${e.domain}-${e.server}-${e.seq}`).join(',');
}

function format(position: Position): string {
  return [...position.values()]
    .sort((x, y) => x.domain - y.domain)
    .map((e) => `${e.domain}-${e.server}-${e.seq}`)
    .join(',');
}

/** Entries of a that b does not reach; `sameSeqDiffers` also keeps an equal seq from another server. */
function subtract(a: Position, b: Position, sameSeqDiffers = false): Position {
  const rest: Position = new Map();
  for (const entry of a.values()) {
    const other = b.get(entry.domain);
    const split = sameSeqDiffers && other?.seq === entry.seq && other.server !== entry.server;
    if (!other || entry.seq > other.seq || split) rest.set(entry.domain, entry);
  }
  return rest;
}

/**
 * Errant, by origin and domain: from none of `origins` (the recorded
 * primaries' server_ids), in a domain one of them wrote in (the cluster's
 * own). A domain none of them wrote in is another cluster's, replicated in
 * (a shard move's channel on the primary): its transactions, whatever their
 * server_id, are ordinary replicated data. A history holding no transaction
 * of a recorded primary at all (a new server, one that only ever wrote on
 * its own) does not show which domains are the cluster's: every domain
 * counts then, or a new server's own writes would pass for another
 * cluster's.
 */
function errantEntries(list: Entry[], origins: string[]): Entry[] {
  const fromPrimary = (e: Entry) => origins.includes(String(e.server));
  const own = new Set(list.filter(fromPrimary).map((e) => e.domain));
  return list.filter((e) => !fromPrimary(e) && (own.size === 0 || own.has(e.domain)));
}

export const mariadbGtid: GtidOps = {
  normalize: (position) => format(parse(position)),
  contains: (a, b) => subtract(parse(b), parse(a)).size === 0,
  subtract: (a, b) => format(subtract(parse(a), parse(b))),
  divergent: (a, b) => format(subtract(parse(a), parse(b), true)),
  union(a, b) {
    const merged = parse(a);
    for (const entry of parse(b).values()) keepHighest(merged, entry);
    return format(merged);
  },
  isEmpty: (position) => parse(position).size === 0,
  origins: (history) => [...new Set(entries(history).map((e) => String(e.server)))].sort(),
  fromOthers: (history, origins) => formatEntries(errantEntries(entries(history), origins)),
  transactionCount: (position) => [...parse(position).values()].reduce((sum, e) => sum + e.seq, 0),
};

/**
 * Where a diverged server's own transactions are in its binlog, for
 * mariadb-binlog: in each domain it diverged in, its events (its server_id)
 * after the last of its transactions the cluster holds (from the cluster's
 * history, gtid_binlog_state: positions alone do not say it, as seqs from
 * different servers interleave). A domain it is ahead in that another
 * cluster writes (a shard channel it still applied after it was fenced)
 * selects nothing: that cluster's events carry its server_ids, not this one.
 */
export function errantBinlogRange(divergent: string, clusterHistory: string, serverId: number): { domains: number[]; serverId: number; startAfter: string } {
  const domains = [...parse(divergent).keys()].sort((x, y) => x - y);
  const held = entries(clusterHistory).filter((e) => e.server === serverId && domains.includes(e.domain));
  return { domains, serverId, startAfter: formatEntries(held) };
}

/**
 * `base` with `from`'s entry in every domain `from` names (a shard move's
 * starting position on its destination: for the source's domains, what the
 * copy holds; for the others, where the destination is).
 */
export function withDomainsOf(base: string, from: string): string {
  const position = parse(base);
  for (const entry of parse(from).values()) position.set(entry.domain, entry);
  return format(position);
}
