// Run by systemd-strategy.test.ts as an unprivileged user: ask systemd to restart redis-server
// over the bus given as argv[2], and print the strategy's result as JSON.
import { configSchema, resolveService } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { SystemdServiceManager } from '../../../src-main/core/managers/systemd-service-manager.js';
import { ProbeRegistry } from '../../../src-main/core/probes/probe-registry.js';

const cfg = configSchema.parse({ services: [{ name: 'redis', strategy: 'systemd', unit: 'redis-server.service', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'unused' }] });
const manager = new SystemdServiceManager({ probes: new ProbeRegistry(), logger: silentLogger(), systemBusAddress: process.argv[2] });
const result = await manager.restart(resolveService(cfg, cfg.services[0]!));
await manager.close();
process.stdout.write(JSON.stringify(result));
