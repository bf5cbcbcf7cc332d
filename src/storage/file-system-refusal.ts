/** Node system error codes of a file system that refuses a write: read-only, no permission, no space. */
const FILE_SYSTEM_REFUSALS = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);

/** The C library's text of each refusal (`strerror`), as engines that are not Node (DuckDB) quote it. */
const REFUSAL_TEXTS: Readonly<Record<string, string>> = {
  'Read-only file system': 'EROFS', 'Permission denied': 'EACCES', 'Operation not permitted': 'EPERM',
  'No space left on device': 'ENOSPC', 'Disk quota exceeded': 'EDQUOT',
};

/** A file system's refusal as Node's `fs` reports it: `code`, `syscall`, `path` (and `dest` for a copy or rename). */
export interface FileSystemRefusal extends Error {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly dest?: string;
  /** What was refused, where known: reading the file, or writing it (a refusal Node reports says neither). */
  readonly access?: 'read' | 'write';
}

/** The refusal an error is or carries as a cause (a Node system error of a refusal code), else undefined. */
function refusalOf(error: unknown): FileSystemRefusal | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    // A recursive mkdir under a read-only mount reports ENOENT (it cannot make the missing parent): the same refusal.
    if (typeof code === 'string' && (FILE_SYSTEM_REFUSALS.has(code) || (code === 'ENOENT' && syscall === 'mkdir'))) return e as FileSystemRefusal;
  }
  return undefined;
}

/**
 * The path a file system refused, for messages: of the error or of its causes (a refusal an
 * engine reported, see `refusalFromText`), its `dest` for a copy or rename; else undefined.
 *
 * @example
 * refusedPath(Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'open', path: '/ro/x' })); // '/ro/x'
 */
export function refusedPath(error: unknown): string | undefined {
  const refusal = refusalOf(error);
  return refusal?.dest ?? refusal?.path;
}

/**
 * A refusal as Node reports one (`EROFS: read-only file system, open '<path>'`), for a refusal
 * found elsewhere: an engine's error text, or a write under another name (a temporary).
 */
export function fileSystemRefusal(code: string, syscall: string, path: string, cause?: unknown, access?: 'read' | 'write'): FileSystemRefusal {
  const text = Object.entries(REFUSAL_TEXTS).find(([, c]) => c === code)?.[0].toLowerCase() ?? 'refused';
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`, cause === undefined ? {} : { cause }), { code, syscall, path, ...(access ? { access } : {}) });
}

/**
 * The refusal an engine's error text names (`Cannot open file "<path>": Read-only file system`,
 * DuckDB's), as a Node system error; undefined for any other text. The text is the same for a
 * read and a write: `writes(path)` says which (see {@link refusalAdvice}).
 *
 * @example
 * refusalFromText('IO Error: Cannot open file "/ro/x.parquet": Read-only file system', undefined, () => true)?.code; // 'EROFS'
 */
export function refusalFromText(message: string, cause: unknown, writes: (path: string) => boolean): FileSystemRefusal | undefined {
  const match = /file "([^"]+)": ([A-Za-z -]+?)\s*$/m.exec(message);
  const code = match && REFUSAL_TEXTS[match[2]!];
  return code ? fileSystemRefusal(code, 'open', match[1]!, cause, writes(match[1]!) ? 'write' : 'read') : undefined;
}

/**
 * What to do about a refusal an error is or carries, for the message a user reads: a refused
 * read, to make the file readable; any other (a write, or a refusal that does not say), to make
 * the path writable and the disk have space. Undefined for an error that is no refusal.
 *
 * @example
 * refusalAdvice(fileSystemRefusal('EACCES', 'open', '/in.csv', undefined, 'read')); // 'check that /in.csv is readable ...'
 */
export function refusalAdvice(error: unknown): string | undefined {
  const refusal = refusalOf(error);
  const path = refusal?.dest ?? refusal?.path;
  if (refusal === undefined || path === undefined) return undefined;
  if (refusal.access === 'read') return `check that ${path} is readable and its directory searchable, then run the command again`;
  return `check that ${path} and its directory are writable and the disk has space, then run the command again`;
}

/**
 * An error met while writing `written` (a temporary name) as the refusal of `path`, the name the
 * caller gave: a user is told about the file they asked for, not the name it was staged under.
 * Any other error is returned as it was.
 */
export function refusalAs(error: unknown, written: string, path: string): unknown {
  const refusal = refusalOf(error);
  if (refusal === undefined || (refusal.path !== written && refusal.dest !== written)) return error;
  return fileSystemRefusal(refusal.code, refusal.syscall ?? 'open', path, error, 'write');
}
