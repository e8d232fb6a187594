/**
 * The console's shell: sign-in, then the views of one workspace — Supervisor (queues and agents,
 * live) and Admin (what a first user sets up) — chosen by the location hash.
 */
import { useMemo, useState } from 'react';
import { Api, type Workspace } from './api.ts';
import { usePolling, useRoute } from './hooks.ts';
import { loadSession, saveSession, type Session } from './session.ts';
import { Admin } from './views/Admin.tsx';
import { SignIn } from './views/SignIn.tsx';
import { Supervisor } from './views/Supervisor.tsx';

const VIEWS = [
  { route: 'supervisor', label: 'Supervisor' },
  { route: 'admin', label: 'Admin' },
] as const;

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [route, go] = useRoute('supervisor');
  const api = useMemo(() => (session === null ? null : new Api(session.credentials)), [session]);
  const ws = usePolling(() => (api === null || session === null ? Promise.resolve(null) : api.get<Workspace>(`/v1/Workspaces/${session.workspaceSid}`)), 60_000, session?.workspaceSid ?? '');

  if (session === null || api === null) {
    return <SignIn onSignedIn={(s) => { saveSession(s); setSession(s); }} />;
  }
  const signOut = (): void => {
    saveSession(null);
    setSession(null);
  };
  return (
    <div className="shell">
      <header>
        <span className="brand">Switchboard</span>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a key={v.route} href={`#/${v.route}`} aria-current={route === v.route ? 'page' : undefined} onClick={() => go(v.route)}>{v.label}</a>
          ))}
        </nav>
        <span className="workspace" title={session.workspaceSid}>{ws.data?.friendly_name ?? session.workspaceSid}</span>
        <button type="button" className="quiet" onClick={signOut}>Sign out</button>
      </header>
      <main>
        {route === 'admin' ? <Admin api={api} workspaceSid={session.workspaceSid} /> : <Supervisor api={api} workspaceSid={session.workspaceSid} />}
      </main>
    </div>
  );
}
