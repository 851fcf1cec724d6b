import type { temporal } from '@temporalio/proto';
import { operationWorkflowId } from '../../workflows/api';
import type { OperationKind } from '../../workflows/model';
import { conductorMemo, type TestStack } from '../harness/stack';

/** When the last operation (of this kind) started and each of its steps ended, in ms after `from` (a wall-clock time): where the time went. */
export async function operationSteps(stack: TestStack, kind: OperationKind, from: number): Promise<string> {
  const id = (await conductorMemo(stack)).lastOperation!.id;
  const events = (await stack.temporal.client.workflow.getHandle(operationWorkflowId(stack.name, kind, id)).fetchHistory()).events ?? [];
  const at = (e: temporal.api.history.v1.IHistoryEvent) => Math.round(Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6) - from);
  const names = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]));
  return [`started ${at(events[0])}`, ...events.flatMap((e) => {
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    return ended ? [`${names.get(String(ended.scheduledEventId))}${e.activityTaskCompletedEventAttributes ? '' : ' (failed)'} ${at(e)}`] : [];
  })].join(', ');
}
