import type { AlertPayload } from './alert-payload.js';

/** What became of one POST: accepted (2xx), worth retrying (network error, timeout, 5xx, 408, 429), or refused for good (other 4xx). */
export type WebhookOutcome = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly error: string };

/**
 * Why a request failed, without the URL: Node's errors may quote it, and a webhook URL may
 * hold a token, so a message is kept only when it names no part of the URL past its host.
 */
function failure(error: unknown, timeoutMs: number, url: string): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code) return `connection failed (${e.cause.code})`;
  const message = e.cause?.message ?? e.message;
  let secret = url;
  try {
    const parsed = new URL(url);
    secret = `${parsed.username}${parsed.password}${parsed.pathname}${parsed.search}`;
  } catch {
    // Not a URL: the whole text is what must not be shown.
  }
  const safe = typeof message === 'string' && !message.includes(url) && (secret.length <= 1 || !message.includes(secret));
  return safe ? `request failed (${message})` : `request failed (${e.name})`;
}

/**
 * `https://user:password@host/...` means Basic authentication (as curl reads it), but fetch
 * refuses a URL that carries credentials: they move to an `authorization` header (a header the
 * channel declares wins).
 */
function withoutCredentials(url: string): { target: string; authorization: Record<string, string> } {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.username === '' && parsed.password === '')) return { target: url, authorization: {} };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.href, authorization: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

/**
 * POSTs one alert as JSON. The `x-sluice-alert-id` header repeats `payload.alertId`, so a
 * receiver can de-duplicate without reading the body.
 *
 * @example
 * const outcome = await postWebhook('https://hooks.example.com/x', {}, payload, 10_000);
 */
export async function postWebhook(url: string, headers: Readonly<Record<string, string>>, payload: AlertPayload, timeoutMs: number): Promise<WebhookOutcome> {
  let response: Response;
  try {
    const { target, authorization: fromUrl } = withoutCredentials(url);
    const authorization = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization') ? {} : fromUrl;
    response = await fetch(target, {
      method: 'POST', body: JSON.stringify(payload), signal: AbortSignal.timeout(timeoutMs),
      headers: { ...authorization, ...headers, 'content-type': 'application/json', 'user-agent': 'sluice-alerts', 'x-sluice-alert-id': payload.alertId },
    });
  } catch (error) {
    return { ok: false, retry: true, error: failure(error, timeoutMs, url) };
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.ok) return { ok: true };
  const retry = response.status >= 500 || response.status === 408 || response.status === 429;
  return { ok: false, retry, error: `HTTP ${response.status}` };
}
