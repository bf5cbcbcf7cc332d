import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertPayload } from '../../src/observability/alerts/index.js';

export interface WebhookReceiver {
  /** Alerts accepted (answered below 300), in arrival order. */
  readonly received: { body: AlertPayload; headers: IncomingHttpHeaders; path: string }[];
  /** Picks the status code of each POST (default 200). */
  readonly state: { answer: (body: AlertPayload) => number };
  readonly port: number;
  close(): Promise<void>;
}

/** A webhook receiver on a real local port (`port` 0: any free one). */
export async function webhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: WebhookReceiver['received'] = [];
  const state = { answer: (_body: AlertPayload): number => 200 };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as AlertPayload;
      const code = state.answer(body);
      if (code < 300) received.push({ body, headers: req.headers, path: req.url ?? '' });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    received, state, port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => (server.listening ? server.close(() => r()) : r())),
  };
}

/** Waits (polling) until `condition` holds; fails naming `what` after 30 s. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 20) {
    if (waited > 30_000) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}
