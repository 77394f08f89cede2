import type { FailureCause } from '../../../src-shared/causes.js';

/** What the classifier looks at: the failure as the strategy or readiness reported it. */
export interface FailureFacts {
  /** restart: the restart command/API failed; not_ready: it ran but the service never came up. */
  kind: 'restart' | 'not_ready';
  reason: string;
  /** The tail of the restart's output. */
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  /** What the service's own log gained since the restart began ('' when there is none). */
  logTail: string;
}

/** The cause, and the line that shows it (quoted in the reason), when a line does. */
export interface Classified {
  cause: FailureCause;
  line: string | null;
}

/**
 * Lines that name a cause, in the order they win (notes/domain.md): a lost GPU explains an OOM or
 * a failed load after it; an OOM explains a failed load. Each pattern is one real line of llama.cpp,
 * PyTorch, uvicorn or the NVIDIA driver.
 */
const PATTERNS: readonly [FailureCause, RegExp][] = [
  // The ai/ scripts' release gate (same words as Warden's own): first, it outranks the OOM it explains.
  ['gpu_zombie', /GPU memory held by a dead process/i],
  ['gpu_lost', /\bXid[: ]+(?:\(\S+\):\s*)?79\b|fallen off the bus|CUDA_ERROR_UNKNOWN|no CUDA-capable device/i],
  ['cuda_oom', /CUDA out of memory|cudaMalloc failed: out of memory|unable to allocate CUDA\d* buffer|failed to fit params to free device memory|CUBLAS_STATUS_ALLOC_FAILED/i],
  ['model_missing', /model file not found|failed to open .*(?:gguf|model)|(?:gguf|model|\.pt|\.pth|\.onnx|\.safetensors|\.bin)\b.*No such file or directory|No such file or directory.*(?:\.gguf|model)/i],
  ['port_in_use', /Address already in use|couldn't bind HTTP server socket|\[Errno 98\]/i],
];

/** Memory another process held explains a failure only when nothing more precise does (not an exit 2 or 127). */
const VRAM_BUSY = /GPU \d+ memory is still held by pid \d+/i;

/** The first (newest-last) line of `text` that matches, trimmed to what a person reads. */
function lastMatch(text: string, re: RegExp): string | null {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line && re.test(line)) return line.length > 200 ? `${line.slice(0, 197)}...` : line;
  }
  return null;
}

/**
 * Classify a failed attempt (CONTRACT §12): a line of the output or of the log that names a cause
 * wins; otherwise the exit code (127 not found, 2 the `ai/` scripts' misconfiguration), a timeout,
 * Docker being unreachable, never becoming ready, or a plain non-zero exit.
 */
export function classify(facts: FailureFacts): Classified {
  // The shell's own "not found" (exit 127) may name a missing script with "No such file or directory".
  if (facts.kind === 'restart' && facts.exitCode === 127) return { cause: 'not_found', line: null };
  const text = `${facts.output}\n${facts.logTail}`;
  for (const [cause, re] of PATTERNS) {
    const line = lastMatch(text, re);
    if (line !== null) return { cause, line };
  }
  if (facts.exitCode === 2) return { cause: 'config', line: lastError(facts.output) };
  const busy = lastMatch(text, VRAM_BUSY);
  if (busy !== null) return { cause: 'vram_busy', line: busy };
  if (facts.kind === 'not_ready') return { cause: 'not_ready', line: null };
  if (facts.timedOut) return { cause: 'timeout', line: null };
  if (/^Docker daemon not reachable|^systemd D-Bus not reachable/.test(facts.reason)) return { cause: 'daemon_down', line: null };
  // The systemd strategy's own words (managers/systemd-service-manager.ts).
  if (/^systemd unit \S+ not found/.test(facts.reason)) return { cause: 'not_found', line: null };
  if (/^systemd: access denied/.test(facts.reason)) return { cause: 'config', line: null };
  return { cause: 'exit', line: null };
}

/** The `ai/` scripts say what is misconfigured in one "…: error: …" line. */
function lastError(output: string): string | null {
  return lastMatch(output, /\berror:/i);
}
