import { open } from 'node:fs/promises';

/** Appends the buffers to a file with one `writev` (a short write, which regular files do not give, is finished from where it stopped). */
export async function appendAll(path: string, buffers: readonly Buffer[]): Promise<void> {
  const handle = await open(path, 'a');
  try {
    const rest = buffers.filter((b) => b.length > 0);
    while (rest.length > 0) {
      let { bytesWritten } = await handle.writev(rest);
      if (bytesWritten === 0) throw new Error(`serving log: nothing written to ${path}`);
      while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
      if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
    }
  } finally {
    await handle.close();
  }
}

/** Whether a file's last byte is a newline (or it is empty or absent): after a crash mid-append it is not. */
export async function endsClean(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return true;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}
