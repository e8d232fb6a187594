/**
 * The signed-in session: credentials and the chosen workspace, kept in sessionStorage (gone when
 * the tab closes; never in localStorage, since they are secrets).
 */
import type { Credentials } from './api.ts';

/** Signed in with credentials (every view), or with a worker's access token (the agent desktop only). */
export type Session = { credentials: Credentials; workspaceSid: string } | { agentToken: string; workspaceSid: string };

const KEY = 'switchboard.console.session';

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(session));
}

/**
 * An agent session handed over in the address: `#/agent?token=<access token>`, as a center's own
 * sign-in backend (SSO) would open the console after minting the worker's token. The token is
 * taken out of the address at once (so it stays out of history and screenshots); the workspace
 * is read from the token's TaskRouter grant. Null when the address carries none or it is unreadable.
 */
export function takeAgentTokenFromAddress(): Session | null {
  const m = /^#\/agent\?(.*)$/.exec(location.hash);
  if (m === null) return null;
  const token = new URLSearchParams(m[1]).get('token');
  if (token === null) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}#/agent`);
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { grants?: { task_router?: { workspace_sid?: string } } };
    const workspaceSid = payload.grants?.task_router?.workspace_sid;
    return typeof workspaceSid === 'string' ? { agentToken: token, workspaceSid } : null;
  } catch {
    return null;
  }
}
