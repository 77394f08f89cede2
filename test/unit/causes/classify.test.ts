import { describe, expect, it } from 'vitest';
import { classify, type FailureFacts } from '../../../src-main/core/causes/classify.js';

const facts = (over: Partial<FailureFacts> = {}): FailureFacts => ({ kind: 'restart', reason: 'exit code 1', output: '', exitCode: 1, timedOut: false, logTail: '', ...over });

describe('classify: the lines the real servers print (CONTRACT §12)', () => {
  it.each([
    // llama.cpp
    ['cuda_oom', 'llama_model_load: error loading model: failed to fit params to free device memory'],
    ['cuda_oom', 'ggml_backend_cuda_buffer_type_alloc_buffer: unable to allocate CUDA0 buffer'],
    ['cuda_oom', 'ggml_cuda_host_malloc: cudaMalloc failed: out of memory'],
    ['model_missing', "gguf_init_from_file: failed to open GGUF file '/models/nemotron-30b.gguf' (No such file or directory)"],
    ['port_in_use', "couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8091"],
    // PyTorch and uvicorn (the detector)
    ['cuda_oom', 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)'],
    ['port_in_use', "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8090): address already in use"],
    ['model_missing', "FileNotFoundError: [Errno 2] No such file or directory: '/models/rtdetr_v2_r50vd.pth' (model)"],
    ['model_missing', 'model file not found: /models/rtdetr.onnx'],
    // the driver
    ['gpu_lost', 'NVRM: Xid (PCI:0000:01:00): 79, pid=1234, GPU has fallen off the bus.'],
    ['gpu_lost', 'CUDA error: CUDA_ERROR_UNKNOWN'],
    ['gpu_lost', 'RuntimeError: No CUDA GPUs are available (no CUDA-capable device is detected)'],
    // the ai/ scripts' release gate
    ['gpu_zombie', 'start_nemotron.sh: error: GPU memory held by a dead process (pid 4242): a driver reset or reboot may be needed'],
    ['vram_busy', 'start_nemotron.sh: GPU 0 memory is still held by pid 4242 (python3): starting anyway'],
  ])('%s: %s', (cause, line) => {
    expect(classify(facts({ output: `starting\n${line}\nexiting\n` }))).toEqual({ cause, line });
  });

  it('reads the service log as well as the output, and quotes the line', () => {
    const logTail = 'loading model\nllama_model_load: error loading model: failed to fit params to free device memory\n';
    expect(classify(facts({ kind: 'not_ready', reason: 'not healthy within 300 s', exitCode: null, logTail }))).toEqual({
      cause: 'cuda_oom',
      line: 'llama_model_load: error loading model: failed to fit params to free device memory',
    });
  });

  it('the gate\u2019s verdicts: a dead holder wins over the exit 2 it ends with; memory held by another process yields to an OOM it caused', () => {
    const zombie = 'start_nemotron.sh: error: GPU memory held by a dead process (pid 4242): a driver reset or reboot may be needed';
    expect(classify(facts({ exitCode: 2, output: `ggml_cuda_host_malloc: cudaMalloc failed: out of memory\n${zombie}\n` }))).toEqual({ cause: 'gpu_zombie', line: zombie });
    const busy = 'GPU 0 memory is still held by pid 4242 (python3): starting anyway';
    expect(classify(facts({ output: `${busy}\ncudaMalloc failed: out of memory\n` }))).toMatchObject({ cause: 'cuda_oom' });
    expect(classify(facts({ kind: 'not_ready', exitCode: null, logTail: `${busy}\nloading\n` }))).toEqual({ cause: 'vram_busy', line: busy });
    // The script then refused to start (exit 2, too little VRAM): a misconfiguration, as the contract says.
    expect(classify(facts({ exitCode: 2, output: `${busy}\nstart_nemotron.sh: error: not enough free VRAM\n` }))).toEqual({ cause: 'config', line: 'start_nemotron.sh: error: not enough free VRAM' });
  });

  it('exit 127 is not found even when the shell says "No such file or directory" about a model-sounding path', () => {
    expect(classify(facts({ exitCode: 127, output: '/bin/sh: 1: /opt/model/run.sh: No such file or directory\n' }))).toEqual({ cause: 'not_found', line: null });
  });

  it('a lost GPU wins over the OOM it causes; the last line is quoted', () => {
    const output = 'cudaMalloc failed: out of memory\nNVRM: Xid 79, GPU has fallen off the bus\n';
    expect(classify(facts({ output }))).toMatchObject({ cause: 'gpu_lost' });
  });

  it('without a telling line: exit 127, exit 2 (the ai/ scripts’ misconfiguration), timeout, Docker down, not ready, a plain exit', () => {
    expect(classify(facts({ exitCode: 127 }))).toEqual({ cause: 'not_found', line: null });
    expect(classify(facts({ exitCode: 2, output: 'start_nemotron.sh: error: model not readable: NEMOTRON_MODEL=/m.gguf\n' }))).toEqual({
      cause: 'config',
      line: 'start_nemotron.sh: error: model not readable: NEMOTRON_MODEL=/m.gguf',
    });
    expect(classify(facts({ exitCode: 2 }))).toEqual({ cause: 'config', line: null });
    expect(classify(facts({ exitCode: null, timedOut: true }))).toEqual({ cause: 'timeout', line: null });
    expect(classify(facts({ exitCode: null, reason: 'Docker daemon not reachable: connect ENOENT /run/docker.sock' }))).toEqual({ cause: 'daemon_down', line: null });
    expect(classify(facts({ kind: 'not_ready', exitCode: null }))).toEqual({ cause: 'not_ready', line: null });
    expect(classify(facts())).toEqual({ cause: 'exit', line: null });
  });

  it('cuts a very long line to what a person reads', () => {
    const line = `CUDA out of memory. ${'x'.repeat(400)}`;
    expect(classify(facts({ output: line })).line).toHaveLength(200);
  });
});
