/** Props: latencies in ms, oldest first. */
export interface SparklineProps {
  values: number[];
  width?: number;
  height?: number;
  label: string;
}

/** The points of a polyline through the values, scaled into the box (1 px margin). */
export function sparkPoints(values: number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values);
  const min = Math.min(...values);
  const span = max - min || 1;
  const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? 1 + i * step : width / 2;
      const y = height - 1 - ((v - min) / span) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** Recent probe latencies as a tiny inline SVG line (no chart library). */
export function Sparkline({ values, width = 120, height = 28, label }: SparklineProps) {
  if (values.length === 0) return <span className="sparkline sparkline--empty">no data yet</span>;
  const points = sparkPoints(values, width, height);
  const last = points.slice(points.lastIndexOf(' ') + 1).split(',');
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
      {/* The latest value as a dot: also what a single measurement shows. */}
      <circle cx={last[0]} cy={last[1]} r="2" fill="currentColor" />
    </svg>
  );
}
