/**
 * What detection and `status` want an operator to see, by code (after
 * vtorc's analysis codes): decisions compare codes, the text is for people.
 */
export type WarningCode =
  /** The manager alone cannot reach the primary; the replicas still can (no failover). */
  | 'manager-cut-off'
  /** The primary is dead, and policy or the block period keeps the conductor from failing over. */
  | 'failover-withheld'
  /** Semi-sync is not active on the primary: acknowledged writes may be lost in a failover. */
  | 'primary-async';

export interface Warning {
  code: WarningCode;
  server: string;
  text: string;
}
