export const STATUSES = ['PRIMARY', 'SECONDARY', 'SPARE', 'FAULTY'] as const;
export type ServerStatus = (typeof STATUSES)[number];

export const TRANSITION_CAUSES = ['promote', 'demote', 'set-status', 'detected', 'rejoin'] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

export interface Transition {
  from: ServerStatus;
  to: ServerStatus;
  cause: TransitionCause;
  /** Allowed only when the operator named this server. */
  namedOnly?: true;
}

export type TransitionCheck = { ok: true; noop?: true } | { ok: false; reason: string };

const ALLOWED: readonly Transition[] = [
  // promote: the old primary steps down when another server is promoted
  { from: 'PRIMARY', to: 'SECONDARY', cause: 'promote' },
  { from: 'PRIMARY', to: 'SECONDARY', cause: 'demote' },
  { from: 'PRIMARY', to: 'FAULTY', cause: 'detected' },
  { from: 'SECONDARY', to: 'PRIMARY', cause: 'promote' },
  { from: 'SECONDARY', to: 'SPARE', cause: 'set-status' },
  { from: 'SECONDARY', to: 'FAULTY', cause: 'detected' },
  { from: 'SECONDARY', to: 'FAULTY', cause: 'set-status' },
  { from: 'SPARE', to: 'PRIMARY', cause: 'promote', namedOnly: true },
  { from: 'SPARE', to: 'SECONDARY', cause: 'set-status' },
  { from: 'SPARE', to: 'SECONDARY', cause: 'rejoin' },
  { from: 'SPARE', to: 'FAULTY', cause: 'detected' },
  { from: 'SPARE', to: 'FAULTY', cause: 'set-status' },
  { from: 'FAULTY', to: 'SPARE', cause: 'set-status' },
  { from: 'FAULTY', to: 'SPARE', cause: 'rejoin' },
];

export function allowedTransitions(): Transition[] {
  return ALLOWED.map((t) => ({ ...t }));
}

export function checkTransition(
  from: ServerStatus,
  to: ServerStatus,
  cause: TransitionCause,
  opts: { named?: boolean } = {},
): TransitionCheck {
  if (from === to) return { ok: true, noop: true };
  const refuse = (why: string): TransitionCheck => ({
    ok: false,
    reason: `cannot change ${from} to ${to} by ${cause}: ${why}`,
  });
  const sameChange = ALLOWED.filter((t) => t.from === from && t.to === to);
  if (sameChange.length === 0) {
    const targets = [...new Set(ALLOWED.filter((t) => t.from === from).map((t) => t.to))];
    return refuse(`${from} can only become ${targets.join(' or ')}`);
  }
  const rule = sameChange.find((t) => t.cause === cause);
  if (!rule) return refuse(`only by ${sameChange.map((t) => t.cause).join(' or ')}`);
  if (rule.namedOnly && !opts.named) return refuse(`a ${from} is promoted only when named explicitly`);
  return { ok: true };
}
