import type { ConnectionState } from '../../hooks/useServiceStatus.js';

/** A grey strip while the live connection is down, so stale data is never mistaken for live. */
export function ConnectionStrip({ connection }: { connection: ConnectionState }) {
  if (connection === 'open') return null;
  return (
    <div className="strip" role="status" data-connection={connection}>
      {connection === 'reconnecting' ? 'Disconnected — reconnecting…' : 'Connecting to Warden…'}
    </div>
  );
}
