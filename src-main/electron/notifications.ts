import { Notification } from 'electron';
import type { Logger } from '../core/log/logger.js';
import { urgencyOf, type Alert } from '../core/alerts/policy.js';

/** What the tray shows: an alert of the core's policy, or an app error. */
export type Notice = Pick<Alert, 'kind' | 'service' | 'title' | 'body'> & { urgency: 'normal' | 'critical' };

/**
 * Shows the core's alerts (CONTRACT §15: one policy for the tray, `warden serve` and every
 * channel) as Electron's native notifications, unless muted (config `notifications: false`, which
 * mutes the desktop only: channels still deliver).
 */
export class Notifier {
  private readonly unsubscribe: () => void;

  constructor(
    private readonly opts: {
      alerts: { onAlert(listener: (alert: Alert) => void): () => void };
      isMuted(): boolean;
      /** The app icon shown in the notification. */
      icon?: string;
      /** Clicking a notification (e.g. open the dashboard). */
      onClick?(notice: Notice): void;
      logger?: Logger;
    },
  ) {
    this.unsubscribe = opts.alerts.onAlert((alert) => {
      if (alert.kind === 'test' || opts.isMuted()) return;
      this.show({ kind: alert.kind, service: alert.service, title: alert.title, body: alert.body, urgency: urgencyOf(alert) });
    });
  }

  /** A visible error (corrupt settings, server could not bind …): shown at once, even when muted. */
  error(title: string, body: string): void {
    this.show({ kind: 'problem', title, body, urgency: 'critical' });
  }

  private show(notice: Notice): void {
    // Headless sessions and some Linux desktops have no notification server.
    if (!Notification.isSupported()) {
      this.opts.logger?.warn({ notice }, 'notifications are not supported here');
      return;
    }
    const n = new Notification({ title: notice.title, body: notice.body, urgency: notice.urgency, icon: this.opts.icon });
    n.on('click', () => this.opts.onClick?.(notice));
    n.show();
  }

  dispose(): void {
    this.unsubscribe();
  }
}
