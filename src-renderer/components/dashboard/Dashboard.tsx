import { useEffect, useMemo, useState } from 'react';
import type { ServiceState } from '../../../src-shared/protocol.js';
import type { ApiClient } from '../../api/client.js';
import { useNow } from '../../hooks/useNow.js';
import { usePolling } from '../../hooks/usePolling.js';
import { vramByService, type GpuState } from '../../state/gpu-reducer.js';
import { GpuStrip } from './GpuStrip.js';
import { MaintainAll } from './MaintainAll.js';
import { ServiceCard } from './ServiceCard.js';

/** /api/status is polled this often: the WebSocket carries status changes, not every probe's latency. */
export const STATUS_REFRESH_MS = 10_000;
/** After a status event, details (restarts, last failure) are refetched this much later (events come in bursts). */
export const EVENT_REFRESH_DELAY_MS = 300;

/** Props: the live states and a way to fold polled ones in. */
export interface DashboardProps {
  api: ApiClient;
  states: Record<string, ServiceState>;
  revision: number;
  mergeStatus(services: unknown[]): void;
  /** GPU telemetry from the WebSocket; absent or without a usable GPU: no GPU parts. */
  gpu?: GpuState;
  /** Refetch the maintenance list after a maintenance button; absent (a server without maintenance windows): no such buttons. */
  onMaintenance?: () => void;
}

/** A card per service (design a2v.10), kept fresh by the WebSocket plus a 10 s poll. */
export function Dashboard({ api, states, revision, mergeStatus, gpu, onMaintenance }: DashboardProps) {
  const [demo, setDemo] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const now = useNow(5000);
  const snapshot = gpu?.snapshot ?? null;
  const vram = useMemo(() => vramByService(snapshot), [snapshot]);

  const refresh = () => {
    api.status().then(
      (r) => {
        if (r.ok && r.body) {
          mergeStatus(Array.isArray(r.body.services) ? r.body.services : []);
          setDemo(r.body.demo === true);
          setProblem(null);
        } else if (r.status === 401) setProblem('The token was refused. Open the address printed by “warden serve” (it ends in #token=…).');
        else setProblem(`Could not refresh the status (HTTP ${r.status}).`);
      },
      () => undefined, // Unreachable: the connection strip already says so.
    );
  };
  usePolling(refresh, STATUS_REFRESH_MS);
  useEffect(() => {
    if (revision === 0) return;
    const t = setTimeout(refresh, EVENT_REFRESH_DELAY_MS);
    return () => clearTimeout(t);
    // Only a new event triggers this (refresh itself is recreated on every render).
  }, [revision]);

  const list = Object.values(states);
  return (
    <section className="dashboard" aria-labelledby="dashboard-title">
      <div className="dashboard__head">
        <h1 id="dashboard-title">Services</h1>
        {onMaintenance && <MaintainAll api={api} onChange={onMaintenance} />}
      </div>
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
      {gpu && <GpuStrip gpu={gpu} />}
      {list.length === 0 ? (
        <p className="empty">Waiting for the first status from Warden…</p>
      ) : (
        <div className="cards">
          {list.map((s) => (
            <ServiceCard key={s.service} state={s} api={api} now={now} demo={demo} vram={vram[s.service]} onMaintenance={onMaintenance} />
          ))}
        </div>
      )}
    </section>
  );
}
