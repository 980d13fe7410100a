/*
 * IP literals as bytes. The tracker keys endpoints and writes compact peer lists from raw address
 * bytes, so it parses literals itself instead of round-tripping through strings. IPv4-mapped IPv6
 * addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4 clients) become 4 bytes,
 * so the same host is one endpoint whichever socket family it arrived on.
 */

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
const IPV6_GROUPS = 8;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4Into(text: string, out: Buffer, at: number): boolean {
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      // Leading zeros are refused: `010` means 8 to some parsers and 10 to others.
      if (digits === 0 || parts === IPV4_BYTES) return false;
      out[at + parts++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return false;
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return false;
    } else {
      return false;
    }
  }
  return parts === IPV4_BYTES;
}

function parseIpv6(text: string): Buffer | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  const head = readGroups(halves[0] === '' ? [] : halves[0].split(':'), !compressed);
  const tail = readGroups(compressed && halves[1] !== '' ? halves[1].split(':') : [], true);
  if (head === undefined || tail === undefined) return undefined;
  if (compressed ? head.length + tail.length > IPV6_GROUPS - 1 : head.length !== IPV6_GROUPS)
    return undefined;
  const out = Buffer.alloc(IPV6_BYTES);
  for (let i = 0; i < head.length; i++) out.writeUInt16BE(head[i], i * 2);
  for (let i = 0; i < tail.length; i++) out.writeUInt16BE(tail[i], (IPV6_GROUPS - tail.length + i) * 2);
  return out;
}

/** 16-bit group values; a dotted quad may end the address and then counts as two groups. */
function readGroups(parts: string[], endsAddress: boolean): number[] | undefined {
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i];
    if (endsAddress && i === parts.length - 1 && s.includes('.')) {
      const quad = Buffer.alloc(IPV4_BYTES);
      if (!parseIpv4Into(s, quad, 0)) return undefined;
      groups.push((quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]);
    } else {
      if (!HEX_GROUP.test(s)) return undefined;
      groups.push(Number.parseInt(s, 16));
    }
  }
  return groups;
}

function isV4Mapped(b: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** The bytes of an IPv4 or IPv6 literal (4 or 16 bytes; mapped IPv4 becomes 4), or undefined. */
export function parseIp(text: string): Buffer | undefined {
  if (text.includes(':')) {
    const v6 = parseIpv6(text);
    if (v6 === undefined) return undefined;
    return isV4Mapped(v6) ? Buffer.from(v6.subarray(12)) : v6;
  }
  const v4 = Buffer.alloc(IPV4_BYTES);
  return parseIpv4Into(text, v4, 0) ? v4 : undefined;
}

/** The canonical text of an address: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === IPV4_BYTES) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < IPV6_GROUPS; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < IPV6_GROUPS && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestLen < 2) return groups.map(hex).join(':');
  const left = groups.slice(0, bestStart).map(hex).join(':');
  const right = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${left}::${right}`;
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatEndpoint(bytes: Uint8Array, port: number): string {
  return bytes.length === IPV4_BYTES ? `${formatIp(bytes)}:${port}` : `[${formatIp(bytes)}]:${port}`;
}

/** The compact form (BEP 23 / BEP 7): address bytes then the port, big-endian. */
export function compactEndpoint(bytes: Uint8Array, port: number): Buffer {
  const out = Buffer.allocUnsafe(bytes.length + 2);
  out.set(bytes, 0);
  out.writeUInt16BE(port, bytes.length);
  return out;
}

export { IPV4_BYTES, IPV6_BYTES };
