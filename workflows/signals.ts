import { defineSignal } from '@temporalio/workflow';

/** A switchover tells its conductor it promoted its candidate: the watch looks at the new primary from then on. */
export const promotedSignal = defineSignal<[string]>('promoted');
