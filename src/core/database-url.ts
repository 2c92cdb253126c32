// The app database's URL and the dialect it names. `postgres://` and `postgresql://` are
// PostgreSQL; `sqlite:<path>` and `file:<path>` are a SQLite file (absolute, or relative to the
// daemon's working directory; `sqlite:///abs/path` is also accepted).
export type ParsedDatabaseUrl =
  | { readonly dialect: 'postgres'; readonly url: string }
  | { readonly dialect: 'sqlite'; readonly path: string };

export const DATABASE_URL_EXPECTED =
  'expected postgres://user@host:port/db, postgresql://..., sqlite:<path> or file:<path>';

/** The dialect and target of `url`, or an Error whose message says what was expected. */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl | Error {
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    try {
      new URL(trimmed);
    } catch {
      return new Error(`not a valid URL; ${DATABASE_URL_EXPECTED}`);
    }
    return { dialect: 'postgres', url: trimmed };
  }
  if (scheme === 'sqlite' || scheme === 'file') {
    let path = trimmed.slice(scheme.length + 1);
    // `sqlite:///abs` and `file:///abs` are URL spellings of `/abs`; `sqlite://rel` is not a thing.
    if (path.startsWith('///')) path = path.slice(2);
    else if (path.startsWith('//')) {
      return new Error(
        `a SQLite path after // must be absolute (sqlite:///path); ${DATABASE_URL_EXPECTED}`,
      );
    }
    path = path.replace(/\?.*$/, '');
    if (path === '' || path === ':memory:') {
      return new Error(`a SQLite database must be a file path; ${DATABASE_URL_EXPECTED}`);
    }
    return { dialect: 'sqlite', path: decodeURIComponent(path) };
  }
  return new Error(DATABASE_URL_EXPECTED);
}

export function databaseDialectOf(url: string): ParsedDatabaseUrl['dialect'] | undefined {
  const parsed = parseDatabaseUrl(url);
  return parsed instanceof Error ? undefined : parsed.dialect;
}
