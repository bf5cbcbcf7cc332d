import { expect, test } from 'vitest';
import { postWebhook } from './post-webhook.js';
import type { AlertPayload } from './alert-payload.js';

const payload = { alertId: 'a' } as AlertPayload;

test('a failed request says why without quoting the URL', async () => {
  // Port 9 is one fetch refuses to use ("bad port"): the reason names no part of the URL, so it is kept.
  expect(await postWebhook('http://127.0.0.1:9/hook/T0KEN', {}, payload, 1_000)).toEqual({ ok: false, retry: true, error: 'request failed (bad port)' });
  const invalid = await postWebhook('not a url T0KEN', {}, payload, 1_000);
  expect(invalid).toMatchObject({ ok: false, retry: true });
  expect(JSON.stringify(invalid)).not.toContain('T0KEN');
});

test('a URL with user:password posts with that Basic authorization (fetch refuses credentials in a URL)', async () => {
  const { createServer } = await import('node:http');
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    expect(await postWebhook(`http://bob:s%40cret@127.0.0.1:${port}/hook`, {}, payload, 5_000)).toEqual({ ok: true });
    expect(seen).toEqual([`Basic ${Buffer.from('bob:s@cret').toString('base64')}`]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
