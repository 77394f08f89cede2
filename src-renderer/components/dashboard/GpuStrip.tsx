import type { GpuInfo } from '../../../src-shared/protocol.js';
import { formatGiB, formatReading, memoryText } from '../../format.js';
import { memorySegments, type GpuState, type MemorySegment } from '../../state/gpu-reducer.js';
import { Sparkline } from './Sparkline.js';

/** Colours the segments cycle through (styles.css .gpu__seg--c0 … c5). */
const PALETTE_SIZE = 6;

/** A service's colour, from its name: the same on every GPU and every sample, whatever else runs. */
export function segmentColour(service: string | null): string {
  if (service === null) return 'gpu__seg--other';
  let h = 0;
  for (const ch of service) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `gpu__seg--c${h % PALETTE_SIZE}`;
}

const segmentName = (s: MemorySegment) => s.service ?? 'other';

/** The memory bar: a meter for assistive tech, a segment per service for the eye (with titles and a legend). */
function MemoryBar({ gpu: g }: { gpu: GpuInfo }) {
  const text = memoryText(g.memoryUsedMiB, g.memoryTotalMiB);
  const segments = memorySegments(g);
  const used = g.memoryUsedMiB;
  const total = g.memoryTotalMiB;
  // A meter needs a value and a maximum; without them it is only a labelled (empty) picture.
  const meter = used !== null && total !== null && total > 0 ? { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': used, 'aria-valuetext': text } : { role: 'img' };
  return (
    <>
      <div className="gpu__bar" aria-label={`Memory of GPU ${g.index}: ${text}`} {...meter}>
        {segments.map((s) => (
          <span key={segmentName(s)} className={`gpu__seg ${segmentColour(s.service)}`} style={{ width: `${s.pct.toFixed(2)}%` }} title={`${segmentName(s)}: ${formatGiB(s.usedMiB)} GiB`} data-service={segmentName(s)} />
        ))}
      </div>
      {segments.length > 0 && (
        <ul className="gpu__legend" aria-hidden="true">
          {segments.map((s) => (
            <li key={segmentName(s)}>
              <span className={`gpu__swatch ${segmentColour(s.service)}`} /> {segmentName(s)} {formatGiB(s.usedMiB)} GiB
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** One GPU: name, memory bar and figures, utilisation, temperature and recent memory use. */
function GpuPanel({ gpu: g, history }: { gpu: GpuInfo; history: number[] }) {
  const headingId = `gpu-${g.index}`;
  const samples = history.length === 1 ? 'last sample' : `last ${history.length} samples`;
  return (
    <article className="gpu" aria-labelledby={headingId} data-gpu={g.index}>
      <h3 id={headingId} className="gpu__name">
        GPU {g.index}
        {g.name && <span className="gpu__model"> · {g.name}</span>}
      </h3>
      <MemoryBar gpu={g} />
      <dl className="gpu__facts">
        <div>
          <dt>Memory</dt>
          <dd data-testid="gpu-memory">{memoryText(g.memoryUsedMiB, g.memoryTotalMiB)}</dd>
        </div>
        <div>
          <dt>Utilisation</dt>
          <dd data-testid="gpu-util">{formatReading(g.utilizationPct, '%')}</dd>
        </div>
        <div>
          <dt>Temperature</dt>
          <dd data-testid="gpu-temp">{formatReading(g.temperatureC, '°C')}</dd>
        </div>
      </dl>
      <Sparkline values={history} label={`Memory used over the ${samples}, latest ${formatGiB(history.at(-1) ?? null)} GiB`} />
    </article>
  );
}

/**
 * The GPU strip (CONTRACT §11): a panel per GPU. Renders nothing until a `gpu` message says a
 * GPU is usable, so a machine without an NVIDIA GPU sees no GPU parts at all.
 */
export function GpuStrip({ gpu }: { gpu: GpuState }) {
  const snap = gpu.snapshot;
  if (!snap?.available || snap.gpus.length === 0) return null;
  return (
    <section className="gpus" aria-labelledby="gpus-title">
      <h2 id="gpus-title" className="gpus__title">
        GPUs
      </h2>
      <div className="gpus__list">
        {snap.gpus.map((g) => (
          <GpuPanel key={g.uuid} gpu={g} history={gpu.history[g.uuid] ?? []} />
        ))}
      </div>
    </section>
  );
}
