import { Notification } from 'electron';
import type { ServiceStatusEvent } from '../../src-shared/protocol.js';
import type { Clock } from '../core/monitor/clock.js';
import { systemClock } from '../core/monitor/clock.js';
import type { Logger } from '../core/log/logger.js';
import { NotificationPolicy, type Notice, type RateLimits } from './notification-policy.js';

/** Glues NotificationPolicy to Electron's native notifications. */
export class Notifier {
  readonly policy: NotificationPolicy;
  private readonly unsubscribe: () => void;

  constructor(opts: {
    monitor: { subscribe(listener: (e: ServiceStatusEvent) => void): () => void };
    isMuted(): boolean;
    /** The app icon shown in the notification. */
    icon?: string;
    /** Clicking a notification (e.g. open the dashboard). */
    onClick?(notice: Notice): void;
    logger?: Logger;
    clock?: Clock;
    limits?: Partial<RateLimits>;
  }) {
    this.policy = new NotificationPolicy({
      clock: opts.clock ?? systemClock,
      isMuted: opts.isMuted,
      limits: opts.limits,
      show: (notice) => {
        // Headless sessions and some Linux desktops have no notification server.
        if (!Notification.isSupported()) {
          opts.logger?.warn({ notice }, 'notifications are not supported here');
          return;
        }
        const n = new Notification({ title: notice.title, body: notice.body, urgency: notice.urgency, icon: opts.icon });
        n.on('click', () => opts.onClick?.(notice));
        n.show();
      },
    });
    this.unsubscribe = opts.monitor.subscribe((event) => this.policy.handle(event));
  }

  /** A visible error (corrupt settings, server could not bind …). */
  error(title: string, body: string): void {
    this.policy.error(title, body);
  }

  dispose(): void {
    this.unsubscribe();
    this.policy.dispose();
  }
}
