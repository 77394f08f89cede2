import { createRequire } from 'node:module';
import type DockerodeClass from 'dockerode';
import type DbusNext from 'dbus-next';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

/**
 * Packages only some configurations use, loaded on first use instead of at start. Loaded at start
 * they were about a third of an idle Warden's memory (issue 16, bench/footprint.ts): dockerode
 * brings ssh2 (whose WebAssembly poly1305 reserves 16 MiB at load), gRPC, protobufjs and tar-fs;
 * dbus-next brings xml2js; undici serves deep checks, alert channels and the CLI's client
 * commands (the health probe has its own HTTP client). All three are CommonJS, so loading stays
 * synchronous and a constructor can still build its client when first asked.
 */
export const load = {
  dockerode: (): typeof DockerodeClass => require('dockerode') as typeof DockerodeClass,
  dbus: (): typeof DbusNext => require('dbus-next') as typeof DbusNext,
  undici: (): typeof Undici => require('undici') as typeof Undici,
  /** execa is ES-module only: an import, awaited where a command is run. */
  execa: async (): Promise<typeof import('execa')> => import('execa'),
  /** nodemailer, for the SMTP channel's first alert. */
  nodemailer: async (): Promise<typeof import('nodemailer')> => import('nodemailer'),
};
