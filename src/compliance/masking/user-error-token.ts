import { keyedHash } from '../project-secret.js';

/** The purpose of user-error tokens in the one keyed hash: a token never equals a masking, erasure or audit token of the same text. */
export const USER_ERROR_PURPOSE = 'user-error';

/**
 * The reason a user function's failure is shown with (logs, dataset manifests): `reason` (which
 * names the error's class, never its message; see `USER_CODE_ERRORS`) and, when it threw, a
 * keyed-hash token of its message (16 hex of HMAC-SHA256 with the project secret), so an operator
 * can tell one recurring failure from many different ones without reading the message, which may
 * quote a classified value.
 *
 * @example
 * userErrorReason('threw Error', 'bad email alice@x.com', () => projectSecret(dataDir));
 * // 'threw Error (message not shown, token 3f9a0c1b2d4e5f60)'
 */
export function userErrorReason(reason: string, thrown: string | undefined, secret: () => Buffer): string {
  return thrown === undefined ? reason : `${reason} (message not shown, token ${keyedHash(secret(), USER_ERROR_PURPOSE, thrown).slice(0, 16)})`;
}
