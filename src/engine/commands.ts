/**
 * Commands the engine executes. Each names what to do (imperative) and carries the instant it
 * happens (`at`, epoch ms, stamped by the caller: the engine has no clock). Optional fields
 * left undefined mean "leave unchanged" on updates and "use the default" on creates.
 * Field names are camelCase versions of the TaskRouter parameters (spec §1.4, §5.1).
 */
import type { QueueOrder, ReservationStatus, TaskStatus } from './model.ts';

interface At {
  /** When the command happens, epoch milliseconds. Must not go back in time. */
  at: number;
}

/** `If-Match`: the command applies only if the resource's version equals this. */
interface Conditional {
  ifMatch?: number;
}

export type Command =
  | (At & { type: 'tick' })
  | (At & {
      type: 'updateWorkspace';
      friendlyName?: string;
      eventCallbackUrl?: string | null;
      eventsFilter?: string | null;
      defaultActivitySid?: string;
      timeoutActivitySid?: string;
      multiTaskEnabled?: boolean;
      prioritizeQueueOrder?: QueueOrder;
    })
  | (At & { type: 'createActivity'; friendlyName: string; available?: boolean })
  | (At & { type: 'updateActivity'; activitySid: string; friendlyName?: string })
  | (At & { type: 'deleteActivity'; activitySid: string })
  | (At & { type: 'createTaskChannel'; friendlyName: string; uniqueName: string; channelOptimizedRouting?: boolean })
  | (At & { type: 'updateTaskChannel'; taskChannel: string; friendlyName?: string; channelOptimizedRouting?: boolean })
  | (At & { type: 'deleteTaskChannel'; taskChannel: string })
  | (At & { type: 'createTaskQueue' } & TaskQueueFields & { friendlyName: string })
  | (At & { type: 'updateTaskQueue'; taskQueueSid: string } & TaskQueueFields)
  | (At & { type: 'deleteTaskQueue'; taskQueueSid: string })
  | (At & { type: 'createWorkflow' } & WorkflowFields & { friendlyName: string; configuration: string })
  | (At & { type: 'updateWorkflow'; workflowSid: string; reEvaluateTasks?: boolean } & WorkflowFields)
  | (At & { type: 'deleteWorkflow'; workflowSid: string })
  | (At & { type: 'createWorker'; friendlyName: string; activitySid?: string; attributes?: string })
  | (At &
      Conditional & {
        type: 'updateWorker';
        workerSid: string;
        friendlyName?: string;
        activitySid?: string;
        attributes?: string;
        rejectPendingReservations?: boolean;
      })
  | (At & Conditional & { type: 'deleteWorker'; workerSid: string })
  | (At & {
      type: 'updateWorkerChannel';
      workerSid: string;
      /** WC SID, TC SID or the channel's unique name. */
      workerChannel: string;
      capacity?: number;
      available?: boolean;
    })
  | (At & {
      type: 'createTask';
      workflowSid?: string;
      attributes?: string;
      priority?: number;
      /** TTL in seconds. */
      timeoutS?: number;
      /** TC SID or unique name. */
      taskChannel?: string;
      /** Epoch ms. */
      virtualStartTime?: number;
      routingTarget?: string;
      ignoreCapacity?: boolean;
      taskQueueSid?: string;
    })
  | (At &
      Conditional & {
        type: 'updateTask';
        taskSid: string;
        attributes?: string;
        priority?: number;
        assignmentStatus?: TaskStatus;
        reason?: string;
        taskChannel?: string;
        virtualStartTime?: number;
      })
  | (At & Conditional & { type: 'deleteTask'; taskSid: string })
  | (At & {
      /**
       * Extension: ends a pending reservation as `timeout` now, as its reservation timer would
       * (the worker moves to the workspace's TimeoutActivity, the task is routed on; spec §4.4).
       * The voice core's answer when the worker's leg of a `dequeue`/`conference` instruction is not
       * answered, busy or failed (voice spec A4). Not reachable over REST.
       */
      type: 'timeoutReservation';
      reservationSid: string;
    })
  | (At & {
      /**
       * Extension: offers a waiting task to one worker now, whatever the worker's activity and
       * capacity (a reservation is created at once). For shadow replay; see WorkspaceRecord.automaticRouting.
       */
      type: 'offerTask';
      taskSid: string;
      workerSid: string;
    })
  | (At & {
      /**
       * Extension of v1 (TaskRouter's v2 `Workers/{WK}/Transfers`, the SDK's `task.transfer`):
       * transfers the task of `workerSid`'s accepted reservation to a worker or queue (transfers.ts).
       */
      type: 'transferTask';
      workerSid: string;
      reservationSid: string;
      taskSid: string;
      /** WK or WQ SID. */
      to: string;
      /** Default WARM. */
      mode?: 'WARM' | 'COLD';
      attributes?: string;
      priority?: number;
    })
  | (At & {
      /** `Workers/{WK}/Transfers/{TT}` `TransferStatus=canceled` (transfers.ts). */
      type: 'updateTransfer';
      transferSid: string;
      workerSid?: string;
      taskSid?: string;
      transferStatus: string;
    })
  | (At &
      Conditional & {
        type: 'updateReservation';
        reservationSid: string;
        /** When addressed through a task's or a worker's path: the reservation must belong to it. */
        taskSid?: string;
        workerSid?: string;
        reservationStatus: Extract<ReservationStatus, 'accepted' | 'rejected' | 'wrapping' | 'completed'>;
        /** With `rejected`: the activity the worker moves to. */
        workerActivitySid?: string;
      });

export interface TaskQueueFields {
  friendlyName?: string;
  targetWorkers?: string | null;
  maxReservedWorkers?: number;
  taskOrder?: QueueOrder;
  reservationActivitySid?: string | null;
  assignmentActivitySid?: string | null;
}

export interface WorkflowFields {
  friendlyName?: string;
  configuration?: string;
  assignmentCallbackUrl?: string | null;
  fallbackAssignmentCallbackUrl?: string | null;
  taskReservationTimeoutS?: number;
}

export type CommandType = Command['type'];
