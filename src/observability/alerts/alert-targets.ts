import { resolveSetting, type AlertChannel, type AlertSeverity, type Project, type Setting } from '../../definitions/index.js';
import type { Condition } from '../../storage/metadata/health-store.js';

/** The environment variable that adds one webhook for every alert, besides the project's `alerts`. */
export const ALERT_WEBHOOK_ENV = 'SLUICE_ALERT_WEBHOOK_URL';

/** A webhook to deliver to, its settings read. `where` describes it without its secret (for logs and `sluice alerts`). */
export interface WebhookTarget {
  readonly name: string;
  readonly where: string;
  /** The URL and headers, or why they cannot be read (an unset environment variable): deliveries then fail and are retried. */
  readonly resolved: { readonly url: string; readonly headers: Readonly<Record<string, string>> } | { readonly problem: string };
  readonly kinds?: ReadonlySet<string>;
  readonly minSeverity: AlertSeverity;
}

/** A URL for a person, without its path, query or credentials (they may hold a token). */
function redactedUrl(setting: Setting): string {
  if (typeof setting !== 'string') return `env(${setting.name})`;
  try {
    const url = new URL(setting);
    return `${url.protocol}//${url.host}/...`;
  } catch {
    return '(invalid url)';
  }
}

function target(channel: AlertChannel, environment: NodeJS.ProcessEnv): WebhookTarget {
  const where = `webhook "${channel.name}" (${redactedUrl(channel.url)})`;
  let resolved: WebhookTarget['resolved'];
  try {
    const headers = Object.fromEntries(Object.entries(channel.headers ?? {}).map(([name, value]) => [name, resolveSetting(value, `alert channel "${channel.name}": header ${name}`, environment)]));
    resolved = { url: resolveSetting(channel.url, `alert channel "${channel.name}": url`, environment), headers };
  } catch (error) {
    resolved = { problem: (error as Error).message };
  }
  return { name: channel.name, where, resolved, ...(channel.kinds ? { kinds: new Set(channel.kinds) } : {}), minSeverity: channel.minSeverity ?? 'warn' };
}

/**
 * The webhooks alerts go to: the project's `alerts` channels and, when `SLUICE_ALERT_WEBHOOK_URL`
 * is set, one more (named `env`) that takes every alert. `env()` settings are read here, at
 * dispatch, never stored.
 *
 * @example
 * const targets = alertTargets(await platform.metadata.latestRegistry().then((r) => r?.project));
 */
export function alertTargets(project: Project | undefined, environment: NodeJS.ProcessEnv = process.env): WebhookTarget[] {
  const channels: AlertChannel[] = [...(project?.alerts ?? [])];
  if (environment[ALERT_WEBHOOK_ENV]) channels.push({ kind: 'webhook', name: 'env', url: { kind: 'env', name: ALERT_WEBHOOK_ENV } });
  return channels.map((c) => target(c, environment));
}

/** Whether a target takes alerts of this condition (its `kinds` and `minSeverity`). */
export function targetTakes(target: WebhookTarget, condition: Pick<Condition, 'kind' | 'severity'>): boolean {
  return (target.kinds === undefined || target.kinds.has(condition.kind)) && (target.minSeverity === 'warn' || condition.severity === 'error');
}
