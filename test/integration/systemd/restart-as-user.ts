// Run by systemd-strategy.test.ts as an unprivileged user: ask systemd to restart redis-server
// over the bus given as argv[2], and ask warden doctor; print both results as JSON.
import { configSchema, resolveService } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { SystemdServiceManager } from '../../../src-main/core/managers/systemd-service-manager.js';
import { ProbeRegistry } from '../../../src-main/core/probes/probe-registry.js';
import { diagnose } from '../../../src-main/core/doctor/doctor.js';

const cfg = configSchema.parse({ services: [{ name: 'redis', strategy: 'systemd', unit: 'redis-server.service', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' }] });
const manager = new SystemdServiceManager({ probes: new ProbeRegistry(), logger: silentLogger(), systemBusAddress: process.argv[2] });
const restart = await manager.restart(resolveService(cfg, cfg.services[0]!));
await manager.close();
const [doctor] = await diagnose(cfg, { logger: silentLogger(), workingDir: '/', env: {}, systemdBus: { system: process.argv[2] } });
process.stdout.write(JSON.stringify({ restart, doctor }));
