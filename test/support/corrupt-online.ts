import { openPlatform } from '../../src/platform.js';

/** Corrupts the online store of the project in `dir` on purpose: `victim` is given the state `donor` holds in `view`. */
export async function copyOnlineState(dir: string, view: string, donor: string, victim: string): Promise<void> {
  const platform = openPlatform({ projectDir: dir });
  try {
    const store = await platform.online();
    const info = (await store.viewInfo(view))!;
    const { states } = await store.read(view, [donor]);
    await store.update(view, info.generation, [victim], () => states[0]);
  } finally {
    await platform.close();
  }
}
