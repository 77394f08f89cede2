// Loaded with --import into a Node subject (Warden or the bare client): samples its V8 heap every
// 250 ms and keeps the peak; on SIGUSR2 writes {heapUsedPeak, heapTotalPeak} (bytes) to the file
// named by FOOTPRINT_MEMORY_FILE. The same for every subject, so its small cost is on both sides.
import { writeFileSync } from 'node:fs';

const file = process.env.FOOTPRINT_MEMORY_FILE;
if (file) {
  let heapUsedPeak = 0;
  let heapTotalPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.heapUsed > heapUsedPeak) heapUsedPeak = m.heapUsed;
    if (m.heapTotal > heapTotalPeak) heapTotalPeak = m.heapTotal;
  };
  setInterval(sample, 250).unref();
  process.on('SIGUSR2', () => {
    sample();
    writeFileSync(file, JSON.stringify({ heapUsedPeak, heapTotalPeak }));
  });
}
