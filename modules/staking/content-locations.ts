// Where an operator's content can be fetched (MsgSetContentLocations): validation of the list.
// Checked by patterns, not by a URL parser, so every node accepts exactly the same strings.

import { stakingErrors } from './errors.ts';

export const MAX_CONTENT_LOCATIONS = 4;
export const MAX_CONTENT_LOCATION_LENGTH = 256;

/** http(s)://host[:port][/path]: a DNS name, IPv4 or bracketed IPv6 host; a path of URL-safe characters; no query, no fragment, no credentials. */
const GATEWAY = /^https?:\/\/(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~%/-]*)?$/;
/** A Kubo peer: a multiaddr of /protocol/value segments ending /p2p/<peer id> (base58btc or a base32 CID). */
const PEER = /^(?:\/[a-z0-9-]+\/[A-Za-z0-9._:-]+)*\/p2p\/(?:[1-9A-HJ-NP-Za-km-z]{46,60}|b[a-z2-7]{50,70})$/;

/** What kind of location a valid string is. */
export function contentLocationKind(location: string): 'gateway' | 'peer' | undefined {
  if (GATEWAY.test(location)) {
    const port = /:([0-9]+)(?:\/|$)/.exec(location.replace(/^https?:\/\/\[[^\]]*\]/, 'h://x'))?.[1];
    return port !== undefined && (Number(port) < 1 || Number(port) > 65535) ? undefined : 'gateway';
  }
  return PEER.test(location) ? 'peer' : undefined;
}

/** At most MAX_CONTENT_LOCATIONS distinct valid strings of at most MAX_CONTENT_LOCATION_LENGTH bytes. */
export function validateContentLocations(locations: readonly string[]): void {
  if (locations.length > MAX_CONTENT_LOCATIONS) {
    throw stakingErrors.invalidContentLocation(`${locations.length} locations: at most ${MAX_CONTENT_LOCATIONS}`);
  }
  const seen = new Set<string>();
  for (const [i, location] of locations.entries()) {
    if (Buffer.byteLength(location, 'utf8') > MAX_CONTENT_LOCATION_LENGTH) {
      throw stakingErrors.invalidContentLocation(`location ${i} is longer than ${MAX_CONTENT_LOCATION_LENGTH} bytes`);
    }
    if (contentLocationKind(location) === undefined) {
      throw stakingErrors.invalidContentLocation(`location ${i} ${JSON.stringify(location)} is neither an http(s)://host[:port][/path] gateway nor a multiaddr ending /p2p/<peer id>`);
    }
    if (seen.has(location)) throw stakingErrors.invalidContentLocation(`location ${i} ${JSON.stringify(location)} is listed twice`);
    seen.add(location);
  }
}
