import type { Command } from 'commander';
import { createApiKey, revokeApiKey, rolesNoRuleNames } from '../../compliance/access/api-keys.js';
import { authorizeCli, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { NotFoundError } from '../../errors.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * `keys create|list|revoke`: API keys for the HTTP API (and `SLUICE_API_KEY` for the CLI). Each
 * needs the admin action `keys` (the local operator has it unless a rule denies it) and is audited.
 */
export function registerKeysCommands(program: Command, run: CommandContext): void {
  const keys = program.command('keys').description('API keys: create (shown once), list, revoke');
  keys
    .command('create')
    .description('create an API key for a principal with roles; the key is printed once and never stored')
    .requiredOption('--principal <name>', 'who the key acts as (recorded in the audit trail as key:<name>)')
    .requiredOption('--role <role>', 'a role named by the access rules (repeat for several)', (value: string, previous: string[] = []) => [...previous, value])
    .action((options: { principal: string; role: string[] }) =>
      run.withPlatform(async ({ platform, out }) => {
        const principal = await cliPrincipal(platform);
        await authorizeCli(platform, principal, 'admin', 'keys');
        const { token, key } = await createApiKey(platform.metadata, { principal: options.principal, roles: options.role }, principal, platform.now());
        const project = await platform.project().catch(() => ({}));
        const unnamed = rolesNoRuleNames(project, key.roles);
        out.result({ id: key.id, principal: key.principal, roles: key.roles, key: token, ...(unnamed.length === 0 ? {} : { rolesNoRuleNames: unnamed.map((u) => u.role) }) }, () =>
          [`key ${key.id} for ${key.principal} (roles: ${key.roles.join(', ')}):`, '', `  ${token}`, '', 'Store it now: it is shown only once (Sluice keeps a salted hash). Send it as "Authorization: Bearer <key>".'].join('\n'));
        for (const { role, hint } of unnamed) out.info(`warning: no access or masking rule of the applied project names role "${role}"${hint}: the key gets nothing through it until a rule does (add allow({ role: "${role}", ... }) to access in sluice.config.ts and run sluice apply)`);
      }),
    );
  keys
    .command('list')
    .description('every key: id, principal, roles, created, revoked (never the secret)')
    .action(() =>
      run.withPlatform(async ({ platform, out }) => {
        const principal = await cliPrincipal(platform);
        await authorizeCli(platform, principal, 'admin', 'keys');
        const all = await platform.metadata.keys.list();
        out.result(all.map((k) => ({ ...k, createdAt: iso(k.createdAt), revokedAt: iso(k.revokedAt) })), () =>
          all.length === 0 ? 'No keys. Create one with: sluice keys create --principal NAME --role ROLE' : table(['id', 'principal', 'roles', 'created', 'created by', 'revoked'], all.map((k) => [k.id, k.principal, k.roles.join(','), iso(k.createdAt), k.createdBy, iso(k.revokedAt)])));
      }),
    );
  keys
    .command('revoke <id>')
    .description('revoke a key: refused by running servers within 1 s')
    .action((id: string) =>
      run.withPlatform(async ({ platform, out }) => {
        const principal = await cliPrincipal(platform);
        await authorizeCli(platform, principal, 'admin', 'keys');
        const key = await revokeApiKey(platform.metadata, id, principal, platform.now());
        if (!key) throw new NotFoundError('NOT_FOUND', `no API key has id "${id}"; see the ids with: sluice keys list`);
        out.result({ id: key.id, principal: key.principal, revokedAt: iso(key.revokedAt) }, () => `key ${key.id} (${key.principal}) revoked at ${iso(key.revokedAt)}; running servers refuse it within 1 s`);
      }),
    );
}
