import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ServiceState } from '../../src-shared/protocol.js';
import { WS_AUTH_PREFIX, WS_PROTOCOL } from '../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../src-shared/status.js';
import { gpuReducer, initialGpuState, type GpuState } from '../state/gpu-reducer.js';
import { reconnectDelayMs } from '../state/reconnect-backoff.js';
import { hasProblem, initialServicesState, messageType, servicesReducer } from '../state/service-reducer.js';

/** The design's per-service status (a2v.8), a subset of the full ServiceState. */
export interface ServiceStatus {
  service: string;
  status: ServiceStatusValue;
  message?: string;
  timestamp: string;
}

/** The WebSocket's state as the page shows it. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** The constructor the hook opens sockets with (the browser's, or a test's fake). */
export type WebSocketFactory = new (url: string, protocols: string[]) => WebSocket;

/** Options; everything but the token has a production default. */
export interface UseServiceStatusOptions {
  /** The API token; null: do not connect (no token yet). */
  token: string | null;
  /** Default: `/ws` on the page's own host, ws: or wss: by the page's protocol. */
  url?: string;
  WebSocketImpl?: WebSocketFactory;
  /** Jitter source for the reconnect delay. */
  random?: () => number;
  /** No message (snapshot, event or heartbeat) for this long = a dead connection (default 45 s). */
  silenceMs?: number;
}

/** What the dashboard reads: the design's interface plus the connection and the full states. */
export interface ServiceStatusResult {
  services: Record<string, ServiceStatus>;
  hasUnhealthy: boolean;
  connection: ConnectionState;
  /** Full ServiceState per service, in the server's order. */
  states: Record<string, ServiceState>;
  /** Bumped on every status event (views refetch details the WebSocket does not carry). */
  revision: number;
  /** Bumped on every status event that is paused or leaves paused (maintenance starts and ends show so). */
  pauseRevision: number;
  /** Fold a polled GET /api/status answer in. */
  mergeStatus(services: unknown[]): void;
  /** A hand edit of the config file the server could not use (its running config stayed), or null. */
  configProblem: string | null;
  /** The latest `gpu` message and recent memory samples (CONTRACT §11). */
  gpu: GpuState;
}

/** `/ws` on the page's own host. */
export function defaultWsUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

/** Heartbeats come at least every 30 s; 45 s of silence means the connection is dead. */
export const SILENCE_MS = 45_000;

/**
 * Live service status over the WebSocket: snapshot on connect, then events; reconnects with
 * capped, jittered backoff and resyncs from the new snapshot; a silent socket counts as dead.
 */
export function useServiceStatus(opts: UseServiceStatusOptions): ServiceStatusResult {
  const { token, url, WebSocketImpl, random, silenceMs = SILENCE_MS } = opts;
  const [state, dispatch] = useReducer(servicesReducer, initialServicesState);
  const [gpu, dispatchGpu] = useReducer(gpuReducer, initialGpuState);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [configProblem, setConfigProblem] = useState<string | null>(null);
  const everOpened = useRef(false);

  useEffect(() => {
    if (token === null) return;
    const Impl = WebSocketImpl ?? window.WebSocket;
    const target = url ?? defaultWsUrl();
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let silenceTimer: ReturnType<typeof setTimeout> | undefined;

    const armSilence = (ws: WebSocket) => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => lost(ws), silenceMs);
    };

    // Runs once per socket (close, error or the silence watchdog, whichever comes first): it
    // detaches every handler, so the others can no longer fire.
    const lost = (which: WebSocket) => {
      socket = null;
      clearTimeout(silenceTimer);
      detach(which);
      which.close();
      scheduleRetry();
    };

    const scheduleRetry = () => {
      setConnection(everOpened.current ? 'reconnecting' : 'connecting');
      retryTimer = setTimeout(connect, reconnectDelayMs(attempt++, random));
    };

    const detach = (ws: WebSocket) => {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    };

    function connect() {
      let ws: WebSocket;
      try {
        ws = new Impl(target, [WS_PROTOCOL, `${WS_AUTH_PREFIX}${token}`]);
      } catch {
        // A malformed URL or a refused constructor: retry like any other failure.
        scheduleRetry();
        return;
      }
      socket = ws;
      armSilence(ws);
      ws.onopen = () => {
        everOpened.current = true;
        setConnection('open');
      };
      ws.onmessage = (ev: MessageEvent) => {
        armSilence(ws);
        let msg: unknown;
        try {
          msg = JSON.parse(String(ev.data));
        } catch {
          return;
        }
        const type = messageType(msg);
        if (type === 'snapshot') {
          // Resynced: the next loss starts the backoff again from its first step.
          attempt = 0;
          const { services, configProblem: problem } = msg as { services?: unknown; configProblem?: unknown };
          dispatch({ type: 'snapshot', services: Array.isArray(services) ? services : [] });
          dispatchGpu({ type: 'resync' });
          setConfigProblem(typeof problem === 'string' ? problem : null);
        } else if (type === 'service_status') dispatch({ type: 'event', event: msg });
        else if (type === 'gpu') dispatchGpu({ type: 'gpu', message: msg });
        else if (type === 'config') {
          const { status, message } = msg as { status?: unknown; message?: unknown };
          setConfigProblem(status === 'invalid' && typeof message === 'string' ? message : null);
        }
      };
      ws.onclose = () => lost(ws);
      ws.onerror = () => lost(ws);
    }

    connect();
    return () => {
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      const ws = socket;
      socket = null;
      if (ws) {
        detach(ws);
        ws.close();
      }
    };
  }, [token, url, WebSocketImpl, random, silenceMs]);

  const mergeStatus = useCallback((services: unknown[]) => dispatch({ type: 'poll', services }), []);

  const services = useMemo(() => {
    const out: Record<string, ServiceStatus> = {};
    for (const s of Object.values(state.services)) out[s.service] = { service: s.service, status: s.status, message: s.message, timestamp: s.timestamp };
    return out;
  }, [state.services]);

  return {
    services,
    hasUnhealthy: hasProblem(state.services),
    connection,
    states: state.services,
    revision: state.revision,
    pauseRevision: state.pauseRevision,
    mergeStatus,
    configProblem,
    gpu,
  };
}
