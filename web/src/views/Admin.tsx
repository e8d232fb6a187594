/**
 * What a first user sets up (issue 15 item 3, admin view): activities, workers, task queues and
 * workflows of the workspace, its call flows and phone numbers, and the account's API keys —
 * listed, created, edited and deleted through the API.
 * A refused write shows the server's message beside the form it came from; TaskRouter's messages
 * name the field and, for a workflow, the path in its configuration
 * (`task_routing.filters[0].targets[0].queue …`).
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import type { Activity, Api, ApiKey, CallFlow, Form, PhoneNumber, TaskQueue, Worker, Workflow } from '../api.ts';
import { usePolling } from '../hooks.ts';

interface Props {
  api: Api;
  workspaceSid: string;
  /** The signed-in Account SID when signed in with the account's own credentials (API keys need them), else null. */
  accountSid: string | null;
}

const EXAMPLE_WORKFLOW = JSON.stringify({ task_routing: { filters: [], default_filter: { queue: 'WQ…' } } }, null, 2);

export function Admin({ api, workspaceSid, accountSid }: Props) {
  const base = `/v1/Workspaces/${workspaceSid}`;
  const all = usePolling(async () => {
    const [activities, workers, queues, workflows, flows, numbers, keys] = await Promise.all([
      api.list<Activity>(`${base}/Activities`),
      api.list<Worker>(`${base}/Workers`),
      api.list<TaskQueue>(`${base}/TaskQueues`),
      api.list<Workflow>(`${base}/Workflows`),
      api.list<CallFlow>(`${base}/CallFlows`).catch(() => []),
      api.list<PhoneNumber>(`${base}/PhoneNumbers`).catch(() => []),
      accountSid === null ? Promise.resolve([]) : api.get<{ keys: ApiKey[] }>(`/2010-04-01/Accounts/${accountSid}/Keys.json`, { PageSize: 1000 }).then((p) => p.keys, () => []),
    ]);
    return { activities, workers, queues, workflows, flows, numbers, keys };
  }, 10_000, workspaceSid);
  const d = all.data;
  if (d === null) return <p aria-live="polite">{all.error ?? 'Loading…'}</p>;
  const remove = (path: string) => async () => {
    await api.remove(path);
    all.reload();
  };

  return (
    <div className="admin">
      <Section title="Activities" id="activities">
        <List rows={d.activities} cols={['Name', 'Available']} cells={(a) => [a.friendly_name, a.available ? 'yes' : 'no']} />
        <CreateForm label="Add an activity" fields={[{ name: 'FriendlyName', label: 'Name' }, { name: 'Available', label: 'Available', kind: 'checkbox' }]} submit={(f) => api.post(`${base}/Activities`, f)} done={all.reload} />
      </Section>

      <Section title="Workers" id="workers">
        <List rows={d.workers} cols={['Name', 'Activity', 'Attributes']} cells={(w) => [w.friendly_name, w.activity_name, <code key="a">{w.attributes}</code>]} remove={(w) => remove(`${base}/Workers/${w.sid}`)} />
        <CreateForm label="Add a worker" fields={[{ name: 'FriendlyName', label: 'Name' }, { name: 'Attributes', label: 'Attributes (JSON)', placeholder: '{"skills":["english"],"team":"blue","contact_uri":"client:alice"}' }]} submit={(f) => api.post(`${base}/Workers`, f)} done={all.reload} />
      </Section>

      <Section title="Task queues" id="queues">
        <List rows={d.queues} cols={['Name', 'Target workers', 'Order', 'Max reserved']} cells={(q) => [q.friendly_name, <code key="t">{q.target_workers}</code>, q.task_order, String(q.max_reserved_workers)]} remove={(q) => remove(`${base}/TaskQueues/${q.sid}`)} />
        <CreateForm label="Add a task queue" fields={[{ name: 'FriendlyName', label: 'Name' }, { name: 'TargetWorkers', label: 'Target workers (expression)', placeholder: '"english" IN skills' }]} submit={(f) => api.post(`${base}/TaskQueues`, f)} done={all.reload} />
      </Section>

      <Section title="Workflows" id="workflows">
        {d.workflows.map((w) => <WorkflowEditor key={`${w.sid}:${w.date_updated}`} workflow={w} save={(f) => api.post(`${base}/Workflows/${w.sid}`, f)} done={all.reload} />)}
        <CreateForm label="Add a workflow" fields={[{ name: 'FriendlyName', label: 'Name' }, { name: 'Configuration', label: 'Configuration (JSON)', kind: 'textarea', placeholder: EXAMPLE_WORKFLOW }]} submit={(f) => api.post(`${base}/Workflows`, f)} done={all.reload} />
      </Section>

      <Section title="Call flows" id="flows">
        {d.flows.map((f) => <FlowEditor key={`${f.sid}:${f.date_updated}`} flow={f} save={(form) => api.post(`${base}/CallFlows/${f.sid}`, form)} done={all.reload} />)}
        <CreateForm label="Add a call flow" fields={[{ name: 'FriendlyName', label: 'Name' }, { name: 'Definition', label: 'Definition (JSON, docs/voice.md)', kind: 'textarea' }]} submit={(f) => api.post(`${base}/CallFlows`, f)} done={all.reload} />
      </Section>

      <Section title="Phone numbers" id="numbers">
        <List rows={d.numbers} cols={['Number', 'Name', 'Call flow']} cells={(n) => [n.phone_number, n.friendly_name ?? '—', d.flows.find((f) => f.sid === n.call_flow_sid)?.friendly_name ?? n.call_flow_sid]} remove={(n) => remove(`${base}/PhoneNumbers/${n.sid}`)} />
        <CreateForm label="Add a phone number" fields={[{ name: 'PhoneNumber', label: 'Number (E.164, client:… or sip:…)' }, { name: 'FriendlyName', label: 'Name' }, { name: 'CallFlowSid', label: 'Call flow SID (FW…)' }]} submit={(f) => api.post(`${base}/PhoneNumbers`, f)} done={all.reload} />
      </Section>

      {accountSid !== null && (
        <Section title="API keys" id="keys">
          <List rows={d.keys} cols={['Name', 'Created']} cells={(k) => [k.friendly_name, new Date(k.date_created).toLocaleString()]} remove={(k) => remove(`/2010-04-01/Accounts/${accountSid}/Keys/${k.sid}.json`)} />
          <KeyCreator create={(name) => api.post<ApiKey>(`/2010-04-01/Accounts/${accountSid}/Keys.json`, { FriendlyName: name })} done={all.reload} />
        </Section>
      )}
    </div>
  );
}

function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{title}</h2>
      {children}
    </section>
  );
}

function List<T extends { sid: string }>({ rows, cols, cells, remove }: { rows: T[]; cols: string[]; cells: (r: T) => ReactNode[]; remove?: (r: T) => () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  if (rows.length === 0) return <p className="muted">None yet.</p>;
  return (
    <>
      {error !== null && <p role="alert" className="error">{error}</p>}
      <table>
        <thead><tr>{cols.map((c) => <th key={c} scope="col">{c}</th>)}{remove !== undefined && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
        <tbody>
          {rows.map((r) => {
            const [first, ...rest] = cells(r);
            return (
              <tr key={r.sid}>
                <th scope="row" title={r.sid}>{first}</th>
                {rest.map((c, i) => <td key={i}>{c}</td>)}
                {remove !== undefined && (
                  <td><button type="button" className="quiet" onClick={() => remove(r)().then(() => setError(null), (e: Error) => setError(e.message))}>Delete</button></td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

interface Field {
  name: string;
  label: string;
  kind?: 'text' | 'checkbox' | 'textarea';
  placeholder?: string;
}

function CreateForm({ label, fields, submit, done }: { label: string; fields: Field[]; submit: (f: Form) => Promise<unknown>; done: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const body: Form = {};
    for (const f of fields) {
      if (f.kind === 'checkbox') body[f.name] = data.get(f.name) === 'on';
      else {
        const v = String(data.get(f.name) ?? '').trim();
        if (v !== '') body[f.name] = v;
      }
    }
    submit(body).then(() => {
      setError(null);
      form.reset();
      done();
    }, (err: Error) => setError(err.message));
  };
  return (
    <details>
      <summary>{label}</summary>
      <form className="create" onSubmit={onSubmit}>
        {fields.map((f) => (
          <label key={f.name} className={f.kind === 'checkbox' ? 'inline' : undefined}>
            {f.label}
            {f.kind === 'textarea' ? <textarea name={f.name} rows={8} placeholder={f.placeholder} /> : <input name={f.name} type={f.kind === 'checkbox' ? 'checkbox' : 'text'} placeholder={f.placeholder} />}
          </label>
        ))}
        {error !== null && <p role="alert" className="error">{error}</p>}
        <button type="submit">Create</button>
      </form>
    </details>
  );
}

function WorkflowEditor({ workflow, save, done }: { workflow: Workflow; save: (f: Form) => Promise<unknown>; done: () => void }) {
  const [text, setText] = useState(() => pretty(workflow.configuration));
  const [error, setError] = useState<string | null>(null);
  const id = `wf-${workflow.sid}`;
  return (
    <form className="workflow" onSubmit={(e) => { e.preventDefault(); save({ Configuration: text }).then(() => { setError(null); done(); }, (err: Error) => setError(err.message)); }}>
      <label htmlFor={id}><strong>{workflow.friendly_name}</strong> <span className="muted">reservation timeout {workflow.task_reservation_timeout} s</span></label>
      <textarea id={id} rows={Math.min(20, text.split('\n').length + 1)} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={error !== null} aria-describedby={error === null ? undefined : `${id}-err`} spellCheck={false} />
      {error !== null && <p id={`${id}-err`} role="alert" className="error">{error}</p>}
      <button type="submit">Save workflow</button>
    </form>
  );
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function FlowEditor({ flow, save, done }: { flow: CallFlow; save: (f: Form) => Promise<unknown>; done: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(flow.definition, null, 2));
  const [error, setError] = useState<string | null>(null);
  const id = `fw-${flow.sid}`;
  return (
    <form className="workflow" onSubmit={(e) => { e.preventDefault(); save({ Definition: text }).then(() => { setError(null); done(); }, (err: Error) => setError(err.message)); }}>
      <label htmlFor={id}><strong>{flow.friendly_name}</strong> <span className="muted">{flow.sid}</span></label>
      <textarea id={id} rows={Math.min(16, text.split('\n').length + 1)} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={error !== null} aria-describedby={error === null ? undefined : `${id}-err`} spellCheck={false} />
      {error !== null && <p id={`${id}-err`} role="alert" className="error">{error}</p>}
      <button type="submit">Save call flow</button>
    </form>
  );
}

/** Creates an API key and shows its secret — the only time the server gives it out. */
function KeyCreator({ create, done }: { create: (name: string) => Promise<ApiKey>; done: () => void }) {
  const [made, setMade] = useState<ApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <details>
      <summary>Add an API key</summary>
      <form className="create" onSubmit={(e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get('FriendlyName') ?? '').trim();
        create(name).then((k) => { setMade(k); setError(null); done(); }, (err: Error) => setError(err.message));
      }}>
        <label>Name<input name="FriendlyName" maxLength={64} /></label>
        {error !== null && <p role="alert" className="error">{error}</p>}
        <button type="submit">Create</button>
      </form>
      {made !== null && (
        <div role="status" className="secret">
          <p><strong>{made.sid}</strong> — copy its secret now; it is not shown again:</p>
          <code>{made.secret}</code>
        </div>
      )}
    </details>
  );
}
