// A worker that dies hard: runs the built NATS JetStream connector into a JSON-file sink and
// SIGKILLs itself right after the append that stores position `dieAt` is durable, before any
// acknowledgement of it can leave the process.
// `node nats-crash-child.mjs <sourceJson> <sinkFile> <dieAt>` (`never`: it runs until killed)
/* global process */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { startNatsJetStream } from '../../dist/ingest/connectors/nats/index.js';

const [sourceJson, file, dieAt] = process.argv.slice(2);
const read = () => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { events: [], appends: 0 };
  }
};
const sink = {
  position: async () => read().position,
  append: async (events, position) => {
    const state = read();
    const next = { events: [...state.events, ...events], position, appends: state.appends + 1 };
    writeFileSync(`${file}.tmp`, JSON.stringify(next));
    renameSync(`${file}.tmp`, file);
    if (Number(position) >= Number(dieAt)) process.kill(process.pid, 'SIGKILL');
    return { accepted: events.length, duplicates: 0, rejected: [] };
  },
};
await startNatsJetStream(JSON.parse(sourceJson), sink, {});
