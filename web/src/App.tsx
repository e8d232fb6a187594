/**
 * The console's shell: sign-in, then the views of one workspace — Agent (the desktop, as a worker
 * chosen after sign-in), Supervisor (queues and agents, live) and Admin (what a first user sets
 * up) — chosen by the location hash.
 */
import { useMemo, useState } from 'react';
import { Api, type Workspace } from './api.ts';
import { usePolling, useRoute } from './hooks.ts';
import { loadSession, saveSession, takeAgentTokenFromAddress, type Session } from './session.ts';
import { Admin } from './views/Admin.tsx';
import { AgentDesktop, AgentSignIn } from './views/Agent.tsx';
import { SignIn } from './views/SignIn.tsx';
import { Supervisor } from './views/Supervisor.tsx';

const VIEWS = [
  { route: 'agent', label: 'Agent' },
  { route: 'supervisor', label: 'Supervisor' },
  { route: 'admin', label: 'Admin' },
] as const;

export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const handed = takeAgentTokenFromAddress();
    if (handed !== null) saveSession(handed);
    return handed ?? loadSession();
  });
  const [route, go] = useRoute('supervisor');
  const api = useMemo(() => (session === null || !('credentials' in session) ? null : new Api(session.credentials)), [session]);
  // The workspace's name for the header: any credential may read it (a worker token too).
  const reader = useMemo(() => (session === null ? null : 'credentials' in session ? new Api(session.credentials) : new Api({ token: session.agentToken })), [session]);
  const ws = usePolling(() => (reader === null || session === null ? Promise.resolve(null) : reader.get<Workspace>(`/v1/Workspaces/${session.workspaceSid}`)), 60_000, session?.workspaceSid ?? '');

  if (session === null) {
    return <SignIn onSignedIn={(s) => { saveSession(s); setSession(s); }} />;
  }
  const signOut = (): void => {
    saveSession(null);
    setSession(null);
  };
  const header = (views: readonly { route: string; label: string }[]) => (
    <header>
      <span className="brand">Switchboard</span>
      <nav aria-label="Views">
        {views.map((v) => (
          <a key={v.route} href={`#/${v.route}`} aria-current={route === v.route || views.length === 1 ? 'page' : undefined} onClick={() => go(v.route)}>{v.label}</a>
        ))}
      </nav>
      <span className="workspace" title={session.workspaceSid}>{ws.data?.friendly_name ?? session.workspaceSid}</span>
      <button type="button" className="quiet" onClick={signOut}>Sign out</button>
    </header>
  );
  if (api === null && 'agentToken' in session) {
    return (
      <div className="shell">
        {header([VIEWS[0]])}
        <main><AgentDesktop token={session.agentToken} workspaceSid={session.workspaceSid} /></main>
      </div>
    );
  }
  if (api === null) return null;
  return (
    <div className="shell">
      {header(VIEWS)}
      <main>
        {route === 'admin' ? <Admin api={api} workspaceSid={session.workspaceSid} accountSid={'credentials' in session && session.credentials.username.startsWith('AC') ? session.credentials.username : null} />
          : route === 'agent' ? <AgentSignIn api={api} workspaceSid={session.workspaceSid} />
          : <Supervisor api={api} workspaceSid={session.workspaceSid} />}
      </main>
    </div>
  );
}
