import { isIP } from 'node:net';
import type { Project } from '../../definitions/index.js';
import { ConfigError } from '../../errors.js';
import type { KeyStore } from '../../storage/metadata/key-store.js';

/** Whether a listen host only takes connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

export type ServingAccess = { readonly mode: 'auth' } | { readonly mode: 'open-loopback' } | { readonly mode: 'insecure-open' };

/**
 * How `sluice serve` may run on `host`: with auth when any key or access rule exists; open on a
 * loopback host otherwise; open elsewhere only with `--insecure-open` (else a `ConfigError`
 * naming both fixes). A server started without auth on a non-loopback host still requires keys
 * (`requireAuth`) unless `--insecure-open` was given, so removing the rules later never opens it.
 *
 * @example
 * const access = await servingAccess(platform.metadata.keys, applied?.project, '0.0.0.0', false);
 */
export async function servingAccess(keys: KeyStore, project: Project | undefined, host: string, insecureOpen: boolean): Promise<ServingAccess> {
  if ((await keys.any()) || (project?.access?.length ?? 0) > 0) return { mode: 'auth' };
  if (isLoopbackHost(host)) return { mode: 'open-loopback' };
  if (insecureOpen) return { mode: 'insecure-open' };
  throw new ConfigError('CONFIG_INVALID', `refusing to serve ${host} without authentication: the project has no API key and no access rule. Create a key (sluice keys create --principal NAME --role ROLE) and add access rules, or listen on loopback (--host 127.0.0.1), or pass --insecure-open to serve anyone who can reach ${host}`);
}
