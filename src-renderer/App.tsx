import { useEffect, useMemo, useState } from 'react';
import { ApiClient } from './api/client.js';
import { browserTokenEnv, loadToken, type TokenEnv } from './api/token.js';
import { ConnectionStrip } from './components/common/ConnectionStrip.js';
import { MaintenanceBanner } from './components/common/MaintenanceBanner.js';
import { ServiceStatusAlert } from './components/common/ServiceStatusAlert.js';
import { Dashboard } from './components/dashboard/Dashboard.js';
import { SettingsPage } from './components/settings/SettingsPage.js';
import { useHashRoute } from './hooks/useHashRoute.js';
import { useMaintenance } from './hooks/useMaintenance.js';
import { useServiceStatus, type WebSocketFactory } from './hooks/useServiceStatus.js';
import { pageTitle } from './page-title.js';

/** What App needs from the outside world; tests inject fakes, the browser uses the real ones. */
export interface AppProps {
  tokenEnv?: TokenEnv;
  WebSocketImpl?: WebSocketFactory;
  fetchImpl?: typeof fetch;
}

/** The layout: header, connection strip, the alert and maintenance banners above every page, then the page. */
export function App({ tokenEnv, WebSocketImpl, fetchImpl }: AppProps) {
  // undefined: still looking for the token; null: there is none.
  const [token, setToken] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    loadToken(tokenEnv ?? browserTokenEnv()).then(setToken, () => setToken(null));
  }, [tokenEnv]);
  const live = useServiceStatus({ token: token ?? null, WebSocketImpl });
  const api = useMemo(() => (token ? new ApiClient(token, fetchImpl) : null), [token, fetchImpl]);
  const route = useHashRoute();
  const maintenance = useMaintenance(api, live.pauseRevision);
  // The buttons appear once the server has shown it knows maintenance windows (an older one answers 404).
  const onMaintenance = maintenance.supported ? maintenance.refresh : undefined;

  useEffect(() => {
    document.title = pageTitle(live.states);
  }, [live.states]);

  return (
    <div className="app" data-connection={api ? live.connection : undefined}>
      <header className="topbar">
        <a className="brand" href="#/">
          Warden
        </a>
        <nav aria-label="Pages">
          <a href="#/" aria-current={route === 'dashboard' ? 'page' : undefined}>
            Dashboard
          </a>
          <a href="#/settings" aria-current={route === 'settings' ? 'page' : undefined}>
            Settings
          </a>
        </nav>
      </header>
      {api && <ConnectionStrip connection={live.connection} />}
      <ServiceStatusAlert states={live.states} />
      {api && <MaintenanceBanner windows={maintenance.windows} api={api} onChange={maintenance.refresh} />}
      {live.configProblem !== null && (
        <section className="config-problem" role="alert">
          <strong>The settings file on disk cannot be used</strong> — Warden keeps running with the settings it had.
          <pre>{live.configProblem}</pre>
        </section>
      )}
      <main className="main">
        {token === null && (
          <section className="notice" role="alert">
            <h1>No access token</h1>
            <p>
              Open the dashboard with the address <code>warden serve</code> prints: it ends in <code>#token=…</code>.
            </p>
          </section>
        )}
        {api && route === 'settings' && <SettingsPage api={api} />}
        {api && route === 'dashboard' && <Dashboard api={api} states={live.states} revision={live.revision} mergeStatus={live.mergeStatus} gpu={live.gpu} onMaintenance={onMaintenance} />}
      </main>
    </div>
  );
}
