import type { BencodeDict, Encodable } from '../../bencode/index.js';
import type { ProtocolError } from '../errors.js';

/** What an extension sees of the connection it runs on. */
export interface ExtensionPeer {
  readonly id: string;
  /** Remote address (host) of the connection. */
  readonly host: string;
  /** Sends a message of the named extension; false (nothing sent) when the remote did not negotiate it. */
  send(name: string, payload: Uint8Array): boolean;
  /** The remote advertised the named extension in its extended handshake. */
  supports(name: string): boolean;
  /** The remote misbehaved in this extension: log, account and close the connection. */
  fail(err: ProtocolError): void;
}

/**
 * A named BEP 10 extension. Its messages are only ever sent to peers whose extended handshake
 * lists its name in `m`, so ordinary clients never receive them.
 */
export interface WireExtension {
  /** The key in the `m` dictionary, e.g. `ut_metadata`, `lt_donthave`. */
  readonly name: string;
  /** Extra top-level keys for our extended handshake (e.g. `metadata_size`). */
  handshakeFields?(): Record<string, Encodable | undefined>;
  /** The remote's extended handshake arrived; called whether or not it supports this extension. */
  onHandshake?(peer: ExtensionPeer, handshake: BencodeDict): void;
  /** A message of this extension arrived. `payload` is valid only during the call. */
  onMessage(peer: ExtensionPeer, payload: Buffer): void;
  /** The connection closed. */
  onClose?(peer: ExtensionPeer): void;
}
