/**
 * Who is asking. Every path that returns or changes data receives one: the HTTP server from the
 * caller's key, the CLI from the local operator, the scheduler as itself. Authorization and
 * masking decide from `roles`; the audit trail records `name`.
 */
export interface Principal {
  /** `key:<principal>` for an API key's principal, `cli:<os user>`, `scheduler`, or `anonymous` (auth off). */
  readonly name: string;
  readonly roles: readonly string[];
  /** Where the call came from (`ip:<address>`, `local`), for the audit trail. */
  readonly origin: string;
  /** True when no key or policy is defined and access is open (the embedded demo on loopback). */
  readonly open?: boolean;
}
