export interface LmdbOnlineStoreConfig {
  /** The LMDB environment directory, e.g. `.sluice/online`. */
  readonly path: string;
  /** Maximum size of the memory map in bytes. Default 64 GiB (sparse; only used pages take disk). */
  readonly mapSize?: number;
}
