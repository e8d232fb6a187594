/**
 * Rows as both adapters read them: the SQL columns (snake_case, the same in SQLite and PostgreSQL,
 * migrations/ and migrations-pg/) turned into the Store's row types. JSON columns are text in both
 * schemas and parsed here; numbers come back as numbers from both drivers (PostgresStore sets the
 * int8 parser).
 */
import type { Command, WorkspaceSnapshot } from '../engine/index.ts';
import type { AccountRow, ApiKeyRow, CoreRow, OutboxRow, SidState, StoredWorkspace } from './store.ts';

type Row = Record<string, unknown>;

/** An `accounts` row. */
export function accountRow(r: Row): AccountRow {
  return {
    sid: r['sid'] as string,
    friendlyName: r['friendly_name'] as string,
    authTokenHash: r['auth_token_hash'] as string,
    authTokenSealed: r['auth_token_sealed'] as string,
    dateCreated: r['date_created'] as number,
  };
}

/** An `api_keys` row. */
export function apiKeyRow(r: Row): ApiKeyRow {
  return {
    sid: r['sid'] as string,
    accountSid: r['account_sid'] as string,
    friendlyName: r['friendly_name'] as string,
    secretHash: r['secret_hash'] as string,
    dateCreated: r['date_created'] as number,
  };
}

/** An `outbox` row. */
export function outboxRow(r: Row): OutboxRow {
  return {
    id: r['id'] as number,
    workspaceSid: r['workspace_sid'] as string,
    kind: r['kind'] as string,
    payload: r['payload'] as string,
    attempts: r['attempts'] as number,
    nextAttemptAt: r['next_attempt_at'] as number,
  };
}

/** A `core_rows` row (its `workspace_sid`, `key` and `body`). */
export function coreRow(r: Row): CoreRow {
  return { workspaceSid: r['workspace_sid'] as string, key: r['key'] as string, body: r['body'] as string };
}

/** A `workspaces` row and its logged commands after the snapshot (ascending `seq`) as a {@link StoredWorkspace}. */
export function storedWorkspace(r: Row, commands: { seq: number; command: Command }[]): StoredWorkspace {
  const snapshotSeq = r['snapshot_seq'] as number;
  return {
    sid: r['sid'] as string,
    accountSid: r['account_sid'] as string,
    sidSeed: r['sid_seed'] as number,
    sidScheme: r['sid_scheme'] as number,
    createOptions: JSON.parse(r['create_options'] as string) as Record<string, unknown>,
    snapshot: r['snapshot'] === null ? null : (JSON.parse(r['snapshot'] as string) as WorkspaceSnapshot),
    snapshotSeq,
    snapshotGenerator: r['snapshot_generator'] === null ? null : (JSON.parse(r['snapshot_generator'] as string) as SidState),
    lastSeq: Math.max(r['last_seq'] as number, snapshotSeq, commands.at(-1)?.seq ?? 0),
    commands,
  };
}
