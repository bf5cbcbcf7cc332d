import { createServer } from 'node:net';

/** A TCP port free on the loopback interface now (for a throwaway server a bench starts). */
export async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}
