// psl ships types, but its package.json "exports" does not point at them, so
// NodeNext resolution cannot find them: the one function used here.
declare module 'psl' {
  /** The registrable domain of a host name (`gitlab.com` for `registry.gitlab.com`), or null when it has none. */
  export function get(domain: string): string | null;
}
