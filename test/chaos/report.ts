import type { FaultName } from './faults';

/** One round as the harness saw it. */
export interface RoundRecord {
  round: number;
  fault: FaultName;
  detail: string;
  failovers: number;
  acknowledged: number;
  lost: number;
  divergent: string[];
  splitBrain: number;
  /** The longest wait for an acknowledged write from the fault on (ms): the time to the first accepted write; null when none came. */
  firstWriteMs: number | null;
  converged: boolean;
  problems: string[];
  seconds: number;
}

export interface ChaosSummary {
  seed: number;
  rounds: RoundRecord[];
  failovers: number;
  acknowledged: number;
  lost: number;
  divergent: number;
  splitBrain: number;
  converged: number;
  /** Every check passed in every round. */
  ok: boolean;
}

export function summarize(seed: number, rounds: RoundRecord[]): ChaosSummary {
  const sum = (f: (r: RoundRecord) => number) => rounds.reduce((n, r) => n + f(r), 0);
  return {
    seed, rounds,
    failovers: sum((r) => r.failovers), acknowledged: sum((r) => r.acknowledged), lost: sum((r) => r.lost),
    divergent: sum((r) => r.divergent.length), splitBrain: sum((r) => r.splitBrain), converged: sum((r) => Number(r.converged)),
    ok: rounds.every((r) => r.problems.length === 0),
  };
}

export function formatRound(r: RoundRecord): string {
  const first = r.firstWriteMs === null ? 'none' : `${r.firstWriteMs.toFixed(0)} ms`;
  return `round ${r.round} ${r.fault}: ${r.problems.length ? 'FAIL' : 'ok'} (${r.seconds.toFixed(0)} s) — ${r.detail}; ` +
    `failovers ${r.failovers}, acked ${r.acknowledged}, lost ${r.lost}, split-brain ${r.splitBrain}, ` +
    `divergent ${r.divergent.length ? r.divergent.join('; ') : 0}, first write ${first}, ${r.converged ? 'converged' : 'NOT converged'}` +
    r.problems.map((p) => `\n    ${p}`).join('');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function formatSummary(s: ChaosSummary): string {
  const faults = [...new Set(s.rounds.map((r) => r.fault))].sort();
  const rows = [['fault', 'rounds', 'failovers', 'acked', 'lost', 'divergent', 'split-brain', 'first write p50', 'max', 'converged', 'failed']];
  for (const fault of faults) {
    const rs = s.rounds.filter((r) => r.fault === fault);
    const firsts = rs.map((r) => r.firstWriteMs).filter((x): x is number => x !== null);
    const ms = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(0)} ms`);
    rows.push([fault, rs.length, rs.reduce((n, r) => n + r.failovers, 0), rs.reduce((n, r) => n + r.acknowledged, 0), rs.reduce((n, r) => n + r.lost, 0),
      rs.reduce((n, r) => n + r.divergent.length, 0), rs.reduce((n, r) => n + r.splitBrain, 0),
      ms(firsts.length ? median(firsts) : undefined), ms(firsts.length ? Math.max(...firsts) : undefined),
      rs.filter((r) => r.converged).length, rs.filter((r) => r.problems.length).length].map(String));
  }
  rows.push(['total', s.rounds.length, s.failovers, s.acknowledged, s.lost, s.divergent, s.splitBrain, '', '', s.converged,
    s.rounds.filter((r) => r.problems.length).length].map(String));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const table = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
  return `${table}\nseed ${s.seed}: ${s.ok ? 'every check passed' : 'CHECKS FAILED'} (lost ${s.lost}, split-brain writes ${s.splitBrain}, converged ${s.converged}/${s.rounds.length}); replay with CHAOS_SEED=${s.seed} CHAOS_ROUNDS=${s.rounds.length}`;
}
