/**
 * The signed-in session: credentials and the chosen workspace, kept in sessionStorage (gone when
 * the tab closes; never in localStorage, since they are secrets).
 */
import type { Credentials } from './api.ts';

export interface Session {
  credentials: Credentials;
  workspaceSid: string;
}

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
