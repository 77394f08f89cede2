import net from 'node:net';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** A watch connection closed sooner than this did not prove the service stable. */
const SHORT_LIVED_MS = 1_000;

/**
 * An idle TCP connection held open to a service. When the service dies the kernel closes it at
 * once, so Warden probes in milliseconds instead of at the next interval. It only ever calls
 * `onLost`; the monitor's probe stays the single decider (a server closing an idle connection
 * just causes one extra probe).
 */
export class ConnectionWatch {
  private socket: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly onLost: () => void,
  ) {}

  start(): void {
    this.connect();
  }

  /** The watch connection is open now. */
  get open(): boolean {
    return this.socket?.readyState === 'open';
  }

  /**
   * The service answers again: connect now instead of at the end of the retry backoff (which grew
   * while it was down), so a crash soon after a recovery is seen at once too.
   */
  rearm(): void {
    if (this.stopped || this.socket !== null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.retryMs = RETRY_MIN_MS;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): void {
    if (this.stopped) return;
    let connectedAt: number | null = null;
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      connectedAt = Date.now();
    });
    socket.on('data', () => {
      // Nothing is ever asked; whatever a server volunteers is ignored.
    });
    socket.on('error', () => {
      // 'close' follows and decides.
    });
    socket.on('close', () => {
      if (this.stopped || this.socket !== socket) return;
      this.socket = null;
      if (connectedAt !== null) this.onLost();
      // Reconnect at once after a connection that lasted; back off after a refusal, or after a
      // server that accepts and hangs up at once (no tight loop of connects and probes).
      if (connectedAt !== null && Date.now() - connectedAt >= SHORT_LIVED_MS) {
        this.retryMs = RETRY_MIN_MS;
        this.schedule(0);
      } else {
        this.schedule(this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      }
    });
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, ms);
  }
}
