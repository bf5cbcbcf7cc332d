import { userInfo } from 'node:os';
import type { Principal } from '../principal.js';

/**
 * The principal of work started on this machine: `cli:<SLUICE_USER or the OS user>` for an
 * operator's command, `scheduler` for a scheduled, triggered or backfilled run.
 *
 * @example
 * operatorPrincipal('schedule'); // { name: 'scheduler', roles: [], origin: 'local' }
 */
export function operatorPrincipal(trigger: string = 'manual'): Principal {
  const name = trigger === 'manual' ? `cli:${process.env.SLUICE_USER ?? userInfo().username}` : 'scheduler';
  return { name, roles: [], origin: 'local' };
}
