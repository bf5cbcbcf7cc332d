import type { Setting } from './types.js';
import { fail } from './validate-names.js';

/**
 * The one rule for secrets written inline in definitions: a connector or alert setting given as
 * text goes into the registry (and `GET /v1/registry`, `sluice list`, lineage), so text that
 * carries a credential is refused at load, naming the setting and the fix (`env("NAME")`, which
 * the registry keeps as a reference and the connector reads when it starts).
 *
 * A credential is: a URL with a password (`postgres://u:pw@h/db`), a NATS URL with any user
 * part (`nats://token@h`, the token is the user part), a query parameter named like a secret
 * (`?password=`, `?token=`, `?api_key=`, `sslpassword`...), or a libpq keyword string with
 * `password=`. A URL with a user and no password (`postgres://app@h/db`, trust or a `.pgpass`
 * file) is not one.
 */
const SECRET_PARAMETER = /pass|secret|token|apikey|auth|credential|(^|[-_])key$|^sig(nature)?$/i;

/** Why `text` is a credential, or undefined. */
export function inlineCredential(text: string): string | undefined {
  if (/(^|\s)password\s*=/i.test(text) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return 'a password= keyword';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(text);
  if (scheme === null) return undefined;
  // Several comma-separated servers (NATS): each is checked.
  for (const server of text.split(',').map((s) => s.trim())) {
    const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(server)?.[1] ?? '';
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const user = authority.slice(0, at);
      if (user.includes(':') && user.slice(user.indexOf(':') + 1) !== '') return 'a password in the URL';
      if (/^(nats|tls|wss?)$/i.test(/^([a-z0-9+.-]*):/i.exec(server)?.[1] ?? '') && user !== '') return 'a token or user in the URL';
    }
  }
  const query = text.split('?')[1]?.split('#')[0] ?? '';
  for (const pair of query.split('&')) {
    const name = decodeURIComponentSafe(pair.split('=')[0] ?? '');
    if (name !== '' && SECRET_PARAMETER.test(name)) return `the query parameter "${name}"`;
  }
  return undefined;
}

/** Secret-looking header names: their value is a credential whatever it looks like. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|(token|secret|api[-_]?key|password|auth)/i;

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Refuses a setting written as text that holds a credential (see {@link inlineCredential}).
 * `where` names the setting (`source "payments": connector connection`), `example` the
 * variable to suggest.
 *
 * @example
 * refuseInlineSecret('source "payments": connector connection', spec.connection, 'PAYMENTS_DB_URL');
 */
export function refuseInlineSecret(where: string, setting: Setting, example: string): void {
  if (typeof setting !== 'string') return;
  const found = inlineCredential(setting);
  if (found !== undefined) {
    fail(`${where} holds a credential written in the definitions (${found}): it would be stored in the registry; write env("${example}") and set ${example} where Sluice runs`);
  }
}

/** Refuses a header whose name says it carries a credential when its value is written as text. */
export function refuseInlineSecretHeader(where: string, header: string, value: Setting, example: string): void {
  if (typeof value === 'string' && SECRET_HEADER.test(header)) {
    fail(`${where}: header "${header}" is a credential written in the definitions: it would be stored in the registry; write env("${example}") and set ${example} where Sluice runs`);
  }
  refuseInlineSecret(`${where}: header "${header}"`, value, example);
}
