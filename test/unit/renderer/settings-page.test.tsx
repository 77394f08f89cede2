import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src-renderer/api/client.js';
import { SettingsPage, SHELL_WARNING } from '../../../src-renderer/components/settings/SettingsPage.js';
import { defaultConfig, validateConfig } from '../../../src-shared/config-schema.js';
import { fakeFetch, type Call } from './fake-fetch.js';

afterEach(cleanup);

/** The real schema answers the PUT, exactly as the server does (400 with issues, or 200). */
function serverLike(call: Call) {
  const checked = validateConfig(call.body);
  return checked.ok ? { status: 200, body: { ok: true, config: checked.config } } : { status: 400, body: { error: 'invalid settings', issues: checked.issues } };
}

async function page(routes: Parameters<typeof fakeFetch>[0] = {}) {
  const f = fakeFetch({ 'GET /api/settings': { status: 200, body: defaultConfig() }, 'PUT /api/settings': serverLike, ...routes });
  render(<SettingsPage api={new ApiClient('tok', f.fetch)} />);
  await screen.findByRole('heading', { name: 'Settings' });
  if (!routes['GET /api/settings']) await screen.findAllByLabelText('Health check interval (s)');
  return f;
}

const input = (label: string | RegExp, index = 0) => screen.getAllByLabelText(label)[index] as HTMLInputElement;
const change = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const save = () => fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
const puts = (calls: Call[]) => calls.filter((c) => c.method === 'PUT').map((c) => c.body as Record<string, unknown>);

describe('Settings page', () => {
  it('shows every global and per-service field filled from GET /api/settings', async () => {
    await page();
    expect(input('Health check interval (s)').value).toBe('15');
    expect((screen.getByLabelText('Restart strategy') as HTMLSelectElement).value).toBe('shell');
    expect(input('Server port').value).toBe('8765');
    expect(input('Name', 2).value).toBe('nemotron');
    expect(input('Health URL', 1).value).toBe('http://127.0.0.1:8090/health');
    expect(input('Restart command (shell)', 0).value).toBe('sudo systemctl restart redis');
    // Per-service overrides: the global value as placeholder, the override as value.
    const startup = screen.getAllByLabelText('Startup grace (s)') as HTMLInputElement[];
    expect(startup[0]!.value).toBe('120');
    expect(startup[1]!.value).toBe('');
    expect(startup[1]!.placeholder).toBe('default: 120');
    expect(startup[3]!.value).toBe('300');
  });

  it('labels restart commands plainly as shell commands anyone with the token can change', async () => {
    await page();
    const cmd = input('Restart command (shell)');
    const hint = document.getElementById(cmd.getAttribute('aria-describedby')!.split(' ').at(-1)!);
    expect(hint?.textContent).toBe(SHELL_WARNING);
    expect(SHELL_WARNING).toContain('/bin/sh -c');
  });

  it('saves an edit with PUT and confirms', async () => {
    const { calls } = await page();
    change(input('Health check interval (s)'), '2.5');
    save();
    await waitFor(() => expect(screen.getByText('Settings saved and applied.')).toBeTruthy());
    expect(puts(calls)[0]!.healthCheckInterval).toBe(2.5);
    // Editing again clears the confirmation.
    change(input('Health check interval (s)'), '3');
    expect(screen.queryByText('Settings saved and applied.')).toBeNull();
  });

  it('shows the server’s error next to the field it names, with aria-invalid and aria-describedby', async () => {
    await page();
    change(input('Health URL', 1), 'ftp://nope');
    change(input('Health check interval (s)'), 'soon');
    save();
    const summary = await screen.findByText(/2 settings need fixing/);
    expect(summary).toBeTruthy();
    const url = input('Health URL', 1);
    expect(url.id).toBe('field-services-1-healthUrl');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    const errorId = url.getAttribute('aria-describedby')!.split(' ')[0]!;
    expect(document.getElementById(errorId)!.textContent).toMatch(/must be http\(s\):\/\//);
    const interval = input('Health check interval (s)');
    expect(document.getElementById(interval.getAttribute('aria-describedby')!.split(' ')[0]!)!.textContent).toBe('must be a number of seconds');
    // Fields without a problem are not marked.
    expect(input('Health URL', 0).getAttribute('aria-invalid')).toBeNull();
  });

  it('lists problems that belong to no field at the top', async () => {
    await page({ 'PUT /api/settings': { status: 400, body: { error: 'invalid settings', issues: [{ path: '(root)', message: 'must be a JSON object' }] } } });
    save();
    expect((await screen.findByRole('alert')).textContent).toContain('(root): must be a JSON object');
  });

  it('an empty restart command or the monitor-only box saves null', async () => {
    const { calls } = await page();
    change(input('Restart command (shell)', 0), '');
    fireEvent.click(screen.getAllByLabelText('Monitor only — never restart this service')[1]!);
    expect(input('Restart command (shell)', 1).disabled).toBe(true);
    save();
    await screen.findByText('Settings saved and applied.');
    const services = puts(calls)[0]!.services as { restartCmd: unknown }[];
    expect(services.map((s) => s.restartCmd)).toEqual([null, null, './ai/start_nemotron.sh']);
    // The saved config comes back as the form: both now show as monitor only.
    expect((screen.getAllByLabelText('Monitor only — never restart this service') as HTMLInputElement[]).map((c) => c.checked)).toEqual([true, true, false]);
  });

  it('sends the ETag it read as If-Match; a 412 (edited on disk meanwhile) says "changed on disk — reload", and Reload shows the file', async () => {
    let version = 1;
    const onDisk = () => ({ ...defaultConfig(), healthCheckInterval: version === 1 ? 15 : 42 });
    const { calls } = await page({
      'GET /api/settings': () => ({ status: 200, body: onDisk(), headers: { ETag: `"v${version}"` } }),
      'PUT /api/settings': (call) => (call.headers['If-Match'] === `"v${version}"` ? serverLike(call) : { status: 412, body: { error: 'changed on disk' } }),
    });
    await screen.findAllByLabelText('Health check interval (s)');
    version = 2; // someone edits config.json by hand
    change(input('Health check interval (s)'), '5');
    save();
    const alert = await screen.findByText(/changed on disk — reload/);
    expect(alert.textContent).toContain('your edits here were not saved');
    expect(puts(calls)[0]!.healthCheckInterval).toBe(5);
    expect(calls.find((c) => c.method === 'PUT')?.headers['If-Match']).toBe('"v1"');
    fireEvent.click(screen.getByRole('button', { name: 'Reload' }));
    await waitFor(() => expect(input('Health check interval (s)').value).toBe('42'));
    expect(screen.queryByText(/changed on disk/)).toBeNull();
    change(input('Health check interval (s)'), '7');
    save();
    await screen.findByText('Settings saved and applied.');
    expect(calls.filter((c) => c.method === 'PUT').at(-1)?.headers['If-Match']).toBe('"v2"');
  });

  it('adds and removes services', async () => {
    const { calls } = await page();
    fireEvent.click(screen.getByRole('button', { name: 'Remove redis' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add service' }));
    change(input('Name', 2), 'cache');
    change(input('Health URL', 2), 'tcp://127.0.0.1:6380');
    change(input('Restart command (shell)', 2), 'echo hi');
    // A new service starts as monitor only: untick to restart it.
    fireEvent.click(screen.getAllByLabelText('Monitor only — never restart this service')[2]!);
    fireEvent.click(screen.getAllByLabelText(/Docker: restart even/)[2]!);
    change(input('Pidfile (optional)', 2), '/run/cache.pid');
    change(input('Stop command (shell, optional)', 2), './stop-cache.sh');
    change(input('Docker container', 2), 'cache-ctr');
    fireEvent.click(screen.getAllByText('Timing overrides for this service', { selector: 'summary' })[2]!);
    change(input('Probe timeout (s)', 3), '1');
    save();
    await screen.findByText('Settings saved and applied.');
    const services = puts(calls)[0]!.services as Record<string, unknown>[];
    expect(services.map((s) => s.name)).toEqual(['rtdetr', 'nemotron', 'cache']);
    expect(services[2]).toEqual({ name: 'cache', healthUrl: 'tcp://127.0.0.1:6380', restartCmd: 'echo hi', stopCmd: './stop-cache.sh', container: 'cache-ctr', pidfile: '/run/cache.pid', restartWhenStopped: true, serviceHealthTimeout: 1 });
  });

  it('edits the general fields', async () => {
    const { calls } = await page();
    fireEvent.change(screen.getByLabelText('Restart strategy'), { target: { value: 'docker' } });
    change(input('Working directory of restart commands'), '/opt/ai');
    change(input('Docker stop timeout (s)'), '3');
    change(input('Server address'), 'localhost');
    change(input('Server port'), '9000');
    fireEvent.click(screen.getByLabelText('Desktop notifications'));
    save();
    await screen.findByText('Settings saved and applied.');
    expect(puts(calls)[0]).toMatchObject({ serviceManagerType: 'docker', workingDir: '/opt/ai', dockerStopTimeout: 3, notifications: false, server: { host: 'localhost', port: 9000 } });
  });

  it('says so when saving fails for another reason, or the server is unreachable', async () => {
    let n = 0;
    await page({ 'PUT /api/settings': () => (++n === 1 ? { status: 413, body: { error: 'body too large' } } : n === 2 ? { status: 500 } : new TypeError('offline')) });
    save();
    expect((await screen.findByRole('alert')).textContent).toBe('body too large');
    save();
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Saving failed (HTTP 500).'));
    save();
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Saving failed: Warden is not reachable.'));
  });

  it('"Discard changes" reloads the saved settings', async () => {
    await page();
    change(input('Health check interval (s)'), '99');
    fireEvent.click(screen.getByRole('button', { name: 'Discard changes' }));
    await waitFor(() => expect(input('Health check interval (s)').value).toBe('15'));
  });

  it('reports settings that cannot be loaded', async () => {
    await page({ 'GET /api/settings': { status: 401, body: { error: 'invalid token' } } });
    expect((await screen.findByRole('alert')).textContent).toBe('Could not load the settings (HTTP 401).');
    cleanup();
    await page({ 'GET /api/settings': new TypeError('offline') });
    expect((await screen.findByRole('alert')).textContent).toBe('Could not load the settings: Warden is not reachable.');
  });
});
