import { patched } from '@temporalio/workflow';

/**
 * Where the conductor's code changed in a way a running conductor would
 * replay differently (README: Upgrades). Each change is a `patched()` id:
 * a conductor replaying history from before the change takes the old path,
 * one running now takes the new. An entry goes (deprecatePatch, then
 * removed) when no release that lacks it is supported any more; the replay
 * test (test/workflows/replay.test.ts) proves every recorded release still
 * replays. Ask a patch only where the old path could apply: a marker in a
 * history is unknown to the older release, which then cannot replay it
 * (no rollback past it).
 */
export const since = {
  /** 0.2.0: health findings carry a code; 0.1.0 ones had only a sentence. */
  findingCodes: () => patched('0.2.0-finding-codes'),
  /** 0.3.0: after a promotion, writes are routed while the followers are repointed (operations/steps/roll-forward.ts). */
  routeAtOnce: () => patched('0.3.0-route-at-once'),
  /**
   * 0.3.0: a copy comes from the least-lagging replica (or the named donor),
   * through the host agents when the cluster has them; a new server holding
   * transactions the cluster lacks is refused; a re-provisioned server's
   * errant transactions are saved first (operations/steps/provisioning.ts).
   */
  provisioning: () => patched('0.3.0-provisioning'),
  /**
   * 0.3.0: with host agents, the watch also asks the primary's agent whether
   * mariadbd still runs; its word makes the monitor confirm at once
   * (workflows/detection.ts). Asked only when the cluster has agents.
   */
  agentWatch: () => patched('0.3.0-agent-watch'),
  /**
   * 0.3.0: per-database capabilities of the primary are enforced: read-only
   * or disabled installs the write freeze (activities/freeze.ts) there,
   * read-write lifts it (operations/reconfigure.ts). Asked only when the
   * primary's record freezes a database or a change sets one read-write there.
   */
  databaseFreeze: () => patched('0.3.0-database-freeze'),
  /**
   * 0.3.0: a health tick reads and judges the servers itself and reports to
   * the conductor, which runs a health round only to repair something
   * (workflows/health-tick.ts): a healthy round is one execution, not two.
   */
  healthReport: () => patched('0.3.0-health-report'),
  /**
   * 0.3.0: a failover's read_only attempt on the old primary runs beside
   * the replicas' apply and is waited for before the promotion, not before
   * the apply (operations/failover.ts): a frozen primary's connect timeout
   * no longer delays the apply.
   */
  fenceBesideApply: () => patched('0.3.0-fence-beside-apply'),
  /**
   * 0.3.0: a switchover fences the old primary in one step, fencePrimary
   * (read_only, sessions ended, its final position), not three in a row
   * (operations/switchover.ts): two round trips less while nobody writes.
   */
  fenceInOneStep: () => patched('0.3.0-fence-in-one-step'),
};
