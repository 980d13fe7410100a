/** BEP 3 protocol identifier in the handshake. */
export const PROTOCOL_NAME = 'BitTorrent protocol';
export const HANDSHAKE_LENGTH = 68;
/** The block size every client requests (BEP 3 recommends 2^14). */
export const BLOCK_LENGTH = 16_384;
/** Largest request we serve; larger ones are a protocol violation (mainline closes at 128 KiB). */
export const MAX_REQUEST_LENGTH = 131_072;
/** Largest extension-protocol message we accept (ut_metadata piece: 16 KiB + dictionary). */
export const MAX_EXTENDED_MESSAGE_LENGTH = 1_048_576;
/** Bitfields beyond this describe a torrent of over 8 million pieces: refuse them. */
export const MAX_BITFIELD_LENGTH = 1_048_576;

/** Message ids: BEP 3, BEP 5 (port), BEP 6 (fast), BEP 10 (extended). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  extended: 20,
} as const;
export type MessageId = (typeof MessageId)[keyof typeof MessageId];

/** Reserved-bit positions in the handshake (byte index, mask). */
export const RESERVED_EXTENSION_PROTOCOL = { byte: 5, mask: 0x10 } as const; // BEP 10
export const RESERVED_FAST = { byte: 7, mask: 0x04 } as const; // BEP 6
export const RESERVED_DHT = { byte: 7, mask: 0x01 } as const; // BEP 5

/** Id of the extended handshake inside an extended message (BEP 10). */
export const EXTENDED_HANDSHAKE_ID = 0;
