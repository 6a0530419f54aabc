import dns from 'node:dns';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';

/**
 * Webhook targets must be public: a webhook URL must not make Custos call into its own network
 * (private ranges, loopback, link-local and the cloud metadata endpoints). Checked when an alert is
 * saved (literal addresses) and again when each connection is made (the resolved addresses), so a
 * name that resolves somewhere else later (DNS rebinding) is refused too.
 */
const blocked = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 (instance metadata)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments (192.0.0.192: Oracle metadata)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local, including fd00:ec2::254 (AWS metadata over IPv6)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) blocked.addSubnet(network, prefix, 'ipv6');

/** IPv4 carried in an IPv6 address (::ffff:a.b.c.d, NAT64 64:ff9b::/96), so it cannot dodge the IPv4 list. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:::ffff:|64:ff9b::)(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (match) {
    const hi = parseInt(match[1]!, 16), lo = parseInt(match[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return dotted?.[1];
}

/** Why an IP address may not be a webhook target, or undefined when it may. */
export function forbiddenAddress(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4) return forbiddenAddress(v4);
  }
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6') ? `${address} is a private, loopback, link-local or metadata address` : undefined;
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/** At save time: a literal address or `localhost` that may not be a target (names are checked at connect time). */
export function literalAddressProblem(hostname: string, allowHosts: ReadonlySet<string>): string | undefined {
  const host = bare(hostname);
  if (allowHosts.has(host)) return undefined;
  if (host === 'localhost' || host.endsWith('.localhost')) return `must not target ${host} (loopback)`;
  if (net.isIP(host)) {
    const problem = forbiddenAddress(host);
    return problem ? `must not target ${problem}` : undefined;
  }
  return undefined;
}

export class AddressRefused extends Error {
  readonly code = 'EADDRREFUSED';
}

/**
 * A dns lookup for the HTTP agent that refuses a name if any of its addresses is forbidden, so the
 * connection is made only to an address that was checked. Hosts on the allow-list pass unchecked.
 */
export function guardedLookup(allowHosts: ReadonlySet<string>): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (!allowHosts.has(bare(hostname))) {
        for (const { address } of list) {
          const problem = forbiddenAddress(address);
          if (problem) return callback(new AddressRefused(`webhook host ${hostname} refused: ${problem}`), '', 0);
        }
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/**
 * The agent webhooks are sent through: every connection's address comes from guardedLookup. Literal
 * IP hosts skip lookup in Node, so `checkTarget` refuses those before a request is made.
 */
export function guardedAgent(allowHosts: ReadonlySet<string>, ca?: string): https.Agent {
  return new https.Agent({ lookup: guardedLookup(allowHosts), keepAlive: false, ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}) });
}


/** Before a request: a literal IP target must be allowed (names are checked by the agent's lookup). */
export function checkTarget(url: URL, allowHosts: ReadonlySet<string>): void {
  const host = bare(url.hostname);
  if (allowHosts.has(host) || !net.isIP(host)) return;
  const problem = forbiddenAddress(host);
  if (problem) throw new AddressRefused(`webhook host ${host} refused: ${problem}`);
}
