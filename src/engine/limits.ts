/**
 * Workspace limits, from Twilio's "TaskRouter resource limits" page (docs/taskrouter/limits).
 * A command that would exceed one is rejected with `limit_exceeded`.
 */
export const LIMITS = {
  workflows: 1_000,
  workers: 15_000,
  activities: 100,
  taskQueues: 5_000,
  /** Tasks in any status, terminal ones included until they are purged. */
  tasks: 500_000,
  taskChannels: 15,
  channelCapacity: 50,
  /** Characters of a task's or worker's attributes JSON, white space included (spec §1.3). */
  attributesLength: 4_096,
  friendlyNameLength: 64,
  maxReservedWorkers: 50,
  /** Seconds (spec §4.3). */
  taskReservationTimeoutMaxS: 86_400,
  /** Task TTL default and maximum, seconds (spec §5.1). */
  taskTimeoutDefaultS: 86_400,
  taskTimeoutMaxS: 1_209_600,
  taskPriorityMax: 2_147_483_647,
  /** pending→reserved cycles before a task is canceled (spec §5.2). */
  reservationCycles: 1_000,
  /** A terminal task is purged this long after it ended (spec §5.2), ms. */
  terminalRetentionMs: 5 * 60_000,
  /** An assigned or wrapping task is purged this long after assignment (spec §5.2), ms. */
  assignedRetentionMs: 24 * 3_600_000,
  /** Default reservation timeout for tasks routed without a workflow, seconds. */
  defaultReservationTimeoutS: 120,
} as const;
