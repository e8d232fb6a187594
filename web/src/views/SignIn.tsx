/**
 * Sign-in: an Account SID and auth token (or an API key SID and secret), checked by listing the
 * account's workspaces, then the workspace to work in.
 */
import { useState, type FormEvent } from 'react';
import { Api, ApiError, type Workspace } from '../api.ts';
import type { Session } from '../session.ts';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [workspaceSid, setWorkspaceSid] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const check = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const list = await new Api({ username, password }).list<Workspace>('/v1/Workspaces');
      if (list.length === 0) throw new Error('This account has no workspace yet: create one with the API (POST /v1/Workspaces) first.');
      setWorkspaces(list);
      setWorkspaceSid(list[0]?.sid ?? '');
      if (list.length === 1) onSignedIn({ credentials: { username, password }, workspaceSid: list[0]!.sid });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The SID or the token is wrong.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <h1>Switchboard</h1>
      <p className="muted">Sign in with your Account SID and auth token, or an API key SID and its secret.</p>
      {workspaces === null ? (
        <form onSubmit={(e) => void check(e)} aria-describedby={error === null ? undefined : 'signin-error'}>
          <label>
            Account SID or API key SID
            <input name="username" autoComplete="username" required pattern="(AC|SK)[0-9a-fA-F]{32}" title="AC… or SK… followed by 32 hex digits" value={username} onChange={(e) => setUsername(e.target.value.trim())} />
          </label>
          <label>
            Auth token or secret
            <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          {error !== null && <p id="signin-error" role="alert" className="error">{error}</p>}
          <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
        </form>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); onSignedIn({ credentials: { username, password }, workspaceSid }); }}>
          <label>
            Workspace
            <select name="workspace" value={workspaceSid} onChange={(e) => setWorkspaceSid(e.target.value)}>
              {workspaces.map((w) => <option key={w.sid} value={w.sid}>{w.friendly_name}</option>)}
            </select>
          </label>
          <button type="submit">Open</button>
        </form>
      )}
    </main>
  );
}
