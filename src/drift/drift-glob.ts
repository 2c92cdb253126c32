// Globs on snapshot keys for `drift.expect` and `--accept-drift`: `*` matches any run of
// characters (dots and slashes too: `files.*` covers `files.config/app.json`), `?` one character;
// everything else is literal.

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.split('?').map(escapeRegExp).join('.'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

/** The first glob that matches the key, or null. */
export function matchingGlob(key: string, globs: readonly string[]): string | null {
  for (const glob of globs) {
    if (globToRegExp(glob).test(key)) return glob;
  }
  return null;
}
