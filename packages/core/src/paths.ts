/**
 * `path` with a leading `~` (alone or followed by `/`) replaced by `home`; any other path unchanged (`~user` is not
 * expanded: no user database here). Pure: the caller passes `os.homedir()` and resolves the result to an absolute
 * path. `expandHome('~/.rediver', '/home/a')` → `/home/a/.rediver`.
 */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home.replace(/\/+$/, '')}/${path.slice(2)}`;
  return path;
}
