/** Where OpenLineage events go: configured as OpenLineage's own clients are (see `lineageConfigFromEnv`). */
export type LineageConfig =
  | { readonly transport: 'http'; readonly url: string; readonly endpoint: string; readonly apiKey?: string; readonly namespace: string }
  | { readonly transport: 'file'; readonly path: string; readonly namespace: string };

/**
 * Reads the OpenLineage client variables: `OPENLINEAGE_URL` (HTTP, `POST {url}/api/v1/lineage`;
 * `OPENLINEAGE_ENDPOINT` overrides the path, `OPENLINEAGE_API_KEY` is sent as a Bearer token), or
 * `OPENLINEAGE__TRANSPORT__TYPE=http|file` with `OPENLINEAGE__TRANSPORT__URL` /
 * `OPENLINEAGE__TRANSPORT__LOG_FILE_PATH`; the namespace from `OPENLINEAGE_NAMESPACE` (default
 * `sluice`). Undefined (lineage off) when none is set or `OPENLINEAGE_DISABLED=true`.
 *
 * @example
 * lineageConfigFromEnv({ OPENLINEAGE_URL: 'http://localhost:5000' }); // { transport: 'http', url: 'http://localhost:5000', endpoint: 'api/v1/lineage', namespace: 'sluice' }
 */
export function lineageConfigFromEnv(env: Readonly<Record<string, string | undefined>>): LineageConfig | undefined {
  if (env.OPENLINEAGE_DISABLED?.toLowerCase() === 'true') return undefined;
  const namespace = env.OPENLINEAGE_NAMESPACE || 'sluice';
  const type = env.OPENLINEAGE__TRANSPORT__TYPE?.toLowerCase();
  if (type === 'file' && env.OPENLINEAGE__TRANSPORT__LOG_FILE_PATH) return { transport: 'file', path: env.OPENLINEAGE__TRANSPORT__LOG_FILE_PATH, namespace };
  const url = (type === 'http' ? env.OPENLINEAGE__TRANSPORT__URL : undefined) || env.OPENLINEAGE_URL;
  if (!url) return undefined;
  const apiKey = env.OPENLINEAGE__TRANSPORT__AUTH__API_KEY || env.OPENLINEAGE_API_KEY;
  const endpoint = (type === 'http' ? env.OPENLINEAGE__TRANSPORT__ENDPOINT : undefined) || env.OPENLINEAGE_ENDPOINT || 'api/v1/lineage';
  return { transport: 'http', url, endpoint, namespace, ...(apiKey ? { apiKey } : {}) };
}
