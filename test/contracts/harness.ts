/** A store under contract test: `open()` gives a handle on one shared store; several handles act like several processes. */
export interface StoreHarness<Store extends { close(): Promise<void> }> {
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

/** Runs a contract test body against a fresh store, and always cleans up. */
export function withStore<Store extends { close(): Promise<void> }>(
  harness: () => Promise<StoreHarness<Store>>,
  body: (h: StoreHarness<Store>, store: Store) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const h = await harness();
    const store = await h.open();
    try {
      await body(h, store);
    } finally {
      await store.close();
      await h.dispose();
    }
  };
}
