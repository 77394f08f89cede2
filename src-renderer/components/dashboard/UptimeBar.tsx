/** Props: the 24 hourly uptime ratios (null = no data), oldest first, and the overall ratio. */
export interface UptimeBarProps {
  buckets: (number | null)[] | null;
  ratio: number | null;
}

/** The colour class of one hour. */
export function uptimeLevel(ratio: number | null): 'none' | 'good' | 'degraded' | 'bad' {
  if (ratio === null) return 'none';
  if (ratio >= 0.99) return 'good';
  if (ratio >= 0.9) return 'degraded';
  return 'bad';
}

/** "99.5 %", rounded down so only a perfect hour or day reads "100 %"; "—" without data. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '—';
  return `${Math.floor(ratio * 1000) / 10} %`;
}

/** Uptime of the last 24 hours, one segment per hour (oldest on the left). */
export function UptimeBar({ buckets, ratio }: UptimeBarProps) {
  const list = buckets ?? [];
  return (
    <div className="uptime">
      <div className="uptime__bar" role="img" aria-label={`Uptime over the last 24 hours: ${formatRatio(ratio)}`}>
        {list.map((b, i) => {
          const hoursAgo = list.length - i;
          return <span key={i} className={`uptime__seg uptime__seg--${uptimeLevel(b)}`} title={`${hoursAgo - 1}–${hoursAgo} h ago: ${b === null ? 'no data' : formatRatio(b)}`} />;
        })}
      </div>
      <span className="uptime__ratio">{formatRatio(ratio)}</span>
    </div>
  );
}
