import { isUtf8 } from 'node:buffer';
import type { BencodeDict, BencodeValue } from './decode.js';
import { BencodeMissingKeyError, BencodeTypeError, BencodeUtf8Error } from './errors.js';

/*
 * Typed readers for decoded values. Each takes `where`, the key path of the value (for example
 * `info.files[3].length`), so a wrong type surfaces as an error that says exactly which field.
 */

function typeName(v: BencodeValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return 'an integer';
  if (Buffer.isBuffer(v)) return 'a byte string';
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

export function isDict(v: BencodeValue | undefined): v is BencodeDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export function asDict(v: BencodeValue | undefined, where: string): BencodeDict {
  if (!isDict(v)) throw new BencodeTypeError(`expected a dictionary, found ${typeName(v)}`, where);
  return v;
}

export function asList(v: BencodeValue | undefined, where: string): BencodeValue[] {
  if (!Array.isArray(v)) throw new BencodeTypeError(`expected a list, found ${typeName(v)}`, where);
  return v;
}

export function asBuffer(v: BencodeValue | undefined, where: string): Buffer {
  if (!Buffer.isBuffer(v)) throw new BencodeTypeError(`expected a byte string, found ${typeName(v)}`, where);
  return v;
}

/** A byte string read as strict UTF-8 (invalid sequences are an error, not U+FFFD). */
export function asString(v: BencodeValue | undefined, where: string): string {
  const bytes = asBuffer(v, where);
  if (!isUtf8(bytes)) throw new BencodeUtf8Error(where);
  return bytes.toString('utf8');
}

export function asInt(v: BencodeValue | undefined, where: string): number {
  if (typeof v !== 'number') throw new BencodeTypeError(`expected an integer, found ${typeName(v)}`, where);
  return v;
}

/** The value under `key`, or undefined; never reads inherited properties. */
export function dictGet(dict: BencodeDict, key: string): BencodeValue | undefined {
  return Object.hasOwn(dict, key) ? dict[key] : undefined;
}

/** The value under `key`; throws `BencodeMissingKeyError` naming `where.key` when absent. */
export function dictRequire(dict: BencodeDict, key: string, where: string): BencodeValue {
  const v = dictGet(dict, key);
  if (v === undefined) throw new BencodeMissingKeyError(keyPath(where, key));
  return v;
}

/** Joins a parent path and a key: `keyPath('info', 'name')` is `info.name`. */
export function keyPath(where: string, key: string | number): string {
  if (typeof key === 'number') return `${where}[${key}]`;
  return where === '' ? key : `${where}.${key}`;
}
