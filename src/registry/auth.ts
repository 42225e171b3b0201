// The registry side of authentication: reading WWW-Authenticate challenges and
// deciding which hosts may see a registry's credentials.
import { isIP } from 'node:net';
import { get as registrableDomain } from 'psl';
import { isLoopbackRegistry } from '../image/reference.js';

export interface Challenge {
  /** Lower-case scheme: `bearer` or `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): one or more challenges, each a
 * scheme and comma-separated key=value or key="quoted value" parameters.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skip = (pattern: RegExp) => {
    while (i < header.length && pattern.test(header[i])) i++;
  };
  const token = () => {
    const start = i;
    skip(/[!#$%&'*+.^_`|~0-9A-Za-z-]/);
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++;
      continue;
    }
    skip(/[ \t]/);
    if (header[i] === '=' && challenges.length > 0) {
      i++;
      skip(/[ \t]/);
      let value: string;
      if (header[i] === '"') {
        i++;
        value = '';
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i++];
        }
        i++;
      } else {
        // RFC 7235 wants a token here; be lenient, as registries put URLs unquoted.
        const start = i;
        while (i < header.length && !/[\s,]/.test(header[i])) i++;
        value = header.slice(start, i);
      }
      challenges[challenges.length - 1].params[name.toLowerCase()] = value;
    } else {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
    }
  }
  return challenges;
}

/**
 * Whether a token realm may receive the credentials of the registry at
 * `registryHostname`. The distribution protocol sends them to the realm the
 * registry names, which for Docker Hub is another host (registry-1.docker.io
 * → auth.docker.io). We accept the registry's own host and hosts of the same
 * site (see sameSite), and require https except on loopback, so a registry
 * cannot point its challenge, or a redirect, at a third party and collect the
 * password.
 */
export function realmMayReceiveCredentials(registryHostname: string, realm: URL): boolean {
  const realmHost = bareHostname(realm.hostname);
  const registryHost = registryHostname.toLowerCase();
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopbackRegistry(realmHost) && isLoopbackRegistry(registryHost))) {
    return false;
  }
  return sameSite(registryHost, realmHost);
}

/**
 * Two hosts of one site: the same host, or the same registrable domain by the
 * Public Suffix List, private section included (`registry.gitlab.com` and
 * `gitlab.com` are one site; `acme.co.uk` and `evil.co.uk`, or
 * `a.github.io` and `b.github.io`, are not). IP addresses and single-label
 * names have no site: only the exact host matches.
 */
export function sameSite(hostA: string, hostB: string): boolean {
  const a = bareHostname(hostA);
  const b = bareHostname(hostB);
  if (a === b) return true;
  if (isIP(a) !== 0 || isIP(b) !== 0) return false;
  const siteA = registrableDomain(a);
  return siteA !== null && siteA === registrableDomain(b);
}

function bareHostname(host: string): string {
  return host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}
