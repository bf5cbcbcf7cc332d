import type { AlertChannel, AlertSeverity, EnvRef, Setting, WebhookAlertSpec } from './types.js';
import { refuseInlineSecret, refuseInlineSecretHeader } from './inline-secret.js';
import { checkName, checkRecord, fail, uniqueNames } from './validate-names.js';

const SEVERITIES: readonly AlertSeverity[] = ['warn', 'error'];

const isSetting = (value: unknown): value is Setting =>
  typeof value === 'string' || (typeof value === 'object' && value !== null && (value as EnvRef).kind === 'env' && typeof (value as EnvRef).name === 'string');

/**
 * Declares a webhook that receives alerts: a JSON POST when a condition (a failed job, a failed
 * check, a stale view, drift, skew, a schema change) starts firing, escalates, or clears. Give
 * the URL with `env()` when it holds a secret: it is then read when the dispatcher starts and
 * never stored in the registry or written to logs.
 *
 * @example
 * defineProject({ ..., alerts: [webhook({ url: env('ALERT_URL'), kinds: ['job_failed', 'stale'], minSeverity: 'error' })] });
 */
export function webhook(options: Omit<WebhookAlertSpec, 'kind'>): WebhookAlertSpec {
  return Object.freeze({ kind: 'webhook', ...options });
}

/** Validates the project's alert channels; names default to `webhook`, `webhook_2`, ... */
export function compileAlerts(specs: readonly WebhookAlertSpec[]): AlertChannel[] {
  const named = specs.map((spec, i) => ({ spec, name: spec.name ?? (i === 0 ? 'webhook' : `webhook_${i + 1}`) }));
  uniqueNames('alert channel', 'alert channels', named);
  return named.map(({ spec, name }) => {
    const where = `alert channel "${name}"`;
    checkName('alert channel', name);
    if (!isSetting(spec.url)) fail(`${where}: url must be a string or env("NAME"), e.g. url: env("ALERT_URL")`);
    refuseInlineSecret(`${where}: url`, spec.url, 'ALERT_URL');
    if (typeof spec.url === 'string' && !/^https?:\/\//i.test(spec.url)) fail(`${where}: url "${spec.url}" is not an http(s) URL; write e.g. "https://hooks.example.com/sluice"`);
    if (spec.kinds !== undefined && (!Array.isArray(spec.kinds) || spec.kinds.length === 0 || spec.kinds.some((k) => typeof k !== 'string' || k === ''))) {
      fail(`${where}: kinds must be a non-empty list of condition kinds, e.g. ["job_failed", "stale"] (omit it for every kind)`);
    }
    if (spec.minSeverity !== undefined && !SEVERITIES.includes(spec.minSeverity)) fail(`${where}: minSeverity must be "warn" or "error", not ${JSON.stringify(spec.minSeverity)}`);
    if (spec.headers !== undefined) {
      checkRecord(spec.headers, `${where}: headers must be an object of header name to a string or env("NAME")`);
      for (const [header, value] of Object.entries(spec.headers)) {
        if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) fail(`${where}: "${header}" is not a valid HTTP header name`);
        if (!isSetting(value)) fail(`${where}: header "${header}" must be a string or env("NAME")`);
        refuseInlineSecretHeader(where, header, value, 'ALERT_TOKEN');
      }
    }
    const channel: AlertChannel = {
      kind: 'webhook', name, url: spec.url,
      ...(spec.kinds ? { kinds: [...spec.kinds] } : {}),
      ...(spec.minSeverity ? { minSeverity: spec.minSeverity } : {}),
      ...(spec.headers ? { headers: { ...spec.headers } } : {}),
    };
    return JSON.parse(JSON.stringify(channel)) as AlertChannel;
  });
}
