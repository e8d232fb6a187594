/**
 * The supervisor's live feed (docs/worker-sdk.md §7): a WebSocket of the workspace's committed
 * events, opened with a supervisor access token minted for it (`POST AccessTokens`, §6). The
 * console uses it to reload its tables as soon as something changes instead of on a timer;
 * polling stays as a slow fallback. Reconnects with a fresh token after a close (token expiry
 * 4001, a stalled client dropped 1013, a restart), backing off to 30 s.
 */
import { useEffect, useRef, useState } from 'react';
import type { Api, MintedToken } from './api.ts';

export type LiveState = 'connecting' | 'live' | 'offline';

/** One event frame of the socket (fields the console uses). */
export interface LiveEvent {
  event_type: string;
  resource_sid: string;
  task_queue_sid: string | null;
  worker_sid: string | null;
}

/** Calls `onEvent` for every event of the workspace while mounted; returns the connection's state. */
export function useSupervisorEvents(api: Api, workspaceSid: string, onEvent: (e: LiveEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    let delay = 1000;
    const connect = async (): Promise<void> => {
      setState('connecting');
      try {
        const minted = await api.post<MintedToken>(`/v1/Workspaces/${workspaceSid}/AccessTokens`, { Role: 'supervisor', Ttl: 3600 });
        if (stopped) return;
        const url = `${location.origin.replace(/^http/, 'ws')}/v1/Workspaces/${workspaceSid}/Supervisor/Events?token=${encodeURIComponent(minted.token)}`;
        socket = new WebSocket(url);
        socket.onopen = () => {
          delay = 1000;
          setState('live');
        };
        socket.onmessage = (m) => {
          const frame = JSON.parse(String(m.data)) as { type: string } & LiveEvent;
          if (frame.type === 'event') handler.current(frame);
        };
        socket.onclose = () => again();
      } catch {
        again();
      }
    };
    const again = (): void => {
      if (stopped) return;
      setState('offline');
      retry = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 30_000);
    };
    void connect();
    return () => {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      socket?.close(1000);
    };
  }, [api, workspaceSid]);
  return state;
}
