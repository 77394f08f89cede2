import { useEffect, useState } from 'react';

/** The pages of the dashboard. */
export type Route = 'dashboard' | 'settings';

/** The page a location hash names: `#/settings`, else the dashboard. */
export function routeOf(hash: string): Route {
  return /^#\/settings\/?$/.test(hash) ? 'settings' : 'dashboard';
}

/** A tiny hash router: the current page, following hashchange. */
export function useHashRoute(): Route {
  const [route, setRoute] = useState<Route>(() => routeOf(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
