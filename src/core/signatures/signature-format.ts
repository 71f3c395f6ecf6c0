/**
 * The portable signature of a video: what indexing it stores (each stored frame's time,
 * information score and descriptor vectors), plus what identifies it, with no pixels. Two
 * organisations can match their libraries by exchanging signatures instead of media. The byte
 * layout is documented in docs/signature-format.md; this module is its only reader and writer.
 *
 * All numbers little-endian:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `RTSG` |
 * | 4 | 2 | format version (u16), 1 |
 * | 6 | 2 | flags (u16), none defined: 0 |
 * | 8 | 4 | header length H (u32) |
 * | 12 | H | header: UTF-8 JSON (`SignatureHeader`) |
 * | 12+H | … | frames, `header.frameCount` records: time (f32 s), quality (f32), variants present (u8 bit mask), then per present variant, in variant order, `dimensions` × f16 |
 * | end−32 | 32 | SHA-256 of every byte before it |
 */
import { createHash } from 'node:crypto';
import { BadSignatureError } from '../errors/retrace-error.js';
import type { DescribedFrame } from '../library/descriptor-search.js';

export const SIGNATURE_MAGIC = 'RTSG';
export const SIGNATURE_VERSION = 1;
/** File extension `retrace signatures make` suggests. */
export const SIGNATURE_EXTENSION = '.sig';

/** The JSON header of a signature (format version 1). */
export interface SignatureHeader {
  /** A video, or a still image (one frame at time 0, searched under the rules of a picture). */
  kind: 'video' | 'image';
  /** The descriptor that made the vectors: a signature is only comparable with an index built by the same one. */
  descriptor: { id: string; dimensions: number };
  /** SHA-256 (hex) of the media file the signature was made from: the library's identity of a video. */
  contentHash: string;
  durationSec: number;
  width: number;
  height: number;
  fps: number | null;
  /** Seconds between sampled frames when it was made (the indexing interval). */
  intervalSec: number;
  frameCount: number;
  /** Title, when one was given. */
  title: string | null;
  /** The retrace that made it, for people. */
  createdBy: string;
}

/** A decoded signature. */
export interface VideoSignature extends SignatureHeader {
  version: number;
  frames: DescribedFrame[];
}

const FIXED = 12;
const DIGEST = 32;
/** Stored variants a signature can carry (bits of the mask). */
const MAX_VARIANTS = 8;

/** Encode a signature. */
export function encodeSignature(sig: Omit<VideoSignature, 'version' | 'frameCount'>): Buffer {
  const dims = sig.descriptor.dimensions;
  const header: SignatureHeader = {
    kind: sig.kind,
    descriptor: sig.descriptor,
    contentHash: sig.contentHash,
    durationSec: sig.durationSec,
    width: sig.width,
    height: sig.height,
    fps: sig.fps,
    intervalSec: sig.intervalSec,
    frameCount: sig.frames.length,
    title: sig.title,
    createdBy: sig.createdBy,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  let frameBytes = 0;
  for (const f of sig.frames) frameBytes += 9 + f.vectors.size * dims * 2;
  const buf = Buffer.alloc(FIXED + json.length + frameBytes + DIGEST);
  buf.write(SIGNATURE_MAGIC, 0, 'latin1');
  buf.writeUInt16LE(SIGNATURE_VERSION, 4);
  buf.writeUInt16LE(0, 6);
  buf.writeUInt32LE(json.length, 8);
  json.copy(buf, FIXED);
  let o = FIXED + json.length;
  for (const f of sig.frames) {
    buf.writeFloatLE(f.timestampSec, o);
    buf.writeFloatLE(f.quality, o + 4);
    const variants = [...f.vectors.keys()].sort((a, b) => a - b);
    let mask = 0;
    for (const v of variants) {
      if (!Number.isInteger(v) || v < 0 || v >= MAX_VARIANTS) throw new RangeError(`variant ${v} cannot be stored in a signature`);
      mask |= 1 << v;
    }
    buf.writeUInt8(mask, o + 8);
    o += 9;
    for (const v of variants) {
      const vec = f.vectors.get(v)!;
      if (vec.length !== dims) throw new RangeError(`vector of ${vec.length} values, descriptor has ${dims}`);
      for (let i = 0; i < dims; i++, o += 2) buf.writeUInt16LE(toHalf(vec[i]), o);
    }
  }
  createHash('sha256').update(buf.subarray(0, o)).digest().copy(buf, o);
  return buf;
}

/** Whether bytes start like a signature (its magic). */
export function looksLikeSignature(head: Uint8Array): boolean {
  return head.length >= 4 && Buffer.from(head.subarray(0, 4)).toString('latin1') === SIGNATURE_MAGIC;
}

/** Decode a signature; anything not exactly a valid signature is a BadSignatureError saying what is wrong. */
export function decodeSignature(buf: Uint8Array): VideoSignature {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!looksLikeSignature(b)) throw new BadSignatureError('Not a retrace signature (its first bytes are not "RTSG")');
  if (b.length < FIXED + DIGEST) throw new BadSignatureError(`Signature truncated: ${b.length} bytes`);
  const version = b.readUInt16LE(4);
  if (version !== SIGNATURE_VERSION) throw new BadSignatureError(`Signature format version ${version}; this retrace reads version ${SIGNATURE_VERSION}`);
  const body = b.subarray(0, b.length - DIGEST);
  const digest = createHash('sha256').update(body).digest();
  // Checked first: a damaged byte anywhere is reported as damage, not as whatever it turned into.
  if (!digest.equals(b.subarray(b.length - DIGEST))) throw new BadSignatureError('Signature damaged or truncated: its checksum does not match its contents');
  const headerLength = b.readUInt32LE(8);
  if (FIXED + headerLength > body.length) throw new BadSignatureError('Signature header runs past the end of the file');
  let header: SignatureHeader;
  try {
    header = JSON.parse(body.subarray(FIXED, FIXED + headerLength).toString('utf8')) as SignatureHeader;
  } catch {
    throw new BadSignatureError('Signature header is not valid JSON');
  }
  checkHeader(header);
  const dims = header.descriptor.dimensions;
  const frames: DescribedFrame[] = [];
  let o = FIXED + headerLength;
  for (let n = 0; n < header.frameCount; n++) {
    if (o + 9 > body.length) throw new BadSignatureError(`Signature truncated at frame ${n} of ${header.frameCount}`);
    const timestampSec = b.readFloatLE(o);
    const quality = b.readFloatLE(o + 4);
    const mask = b.readUInt8(o + 8);
    o += 9;
    const vectors = new Map<number, Float32Array>();
    for (let v = 0; v < MAX_VARIANTS; v++) {
      if (!(mask & (1 << v))) continue;
      if (o + dims * 2 > body.length) throw new BadSignatureError(`Signature truncated at frame ${n} of ${header.frameCount}`);
      const vec = new Float32Array(dims);
      for (let i = 0; i < dims; i++, o += 2) vec[i] = fromHalf(b.readUInt16LE(o));
      vectors.set(v, vec);
    }
    if (!Number.isFinite(timestampSec) || !Number.isFinite(quality)) throw new BadSignatureError(`Signature frame ${n} has no valid time or quality`);
    frames.push({ timestampSec, quality, vectors });
  }
  if (o !== body.length) throw new BadSignatureError(`Signature has ${body.length - o} bytes after its last frame`);
  return { ...header, version, frames };
}

function checkHeader(h: SignatureHeader): void {
  const bad = (what: string) => new BadSignatureError(`Signature header: ${what}`);
  if (typeof h !== 'object' || h === null) throw bad('not an object');
  if (h.kind !== 'video' && h.kind !== 'image') throw bad('kind is neither video nor image');
  if (typeof h.descriptor?.id !== 'string' || !Number.isInteger(h.descriptor.dimensions) || h.descriptor.dimensions <= 0) throw bad('no descriptor');
  if (typeof h.contentHash !== 'string' || !/^[0-9a-f]{64}$/.test(h.contentHash)) throw bad('no content hash');
  for (const k of ['durationSec', 'width', 'height', 'intervalSec', 'frameCount'] as const)
    if (typeof h[k] !== 'number' || !Number.isFinite(h[k]) || h[k] < 0) throw bad(`no valid ${k}`);
  if (!Number.isInteger(h.frameCount)) throw bad('no valid frameCount');
}

// IEEE 754 half precision: the store keeps vectors as halfvec, so nothing is lost that the index keeps.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Float to half-precision bits, rounding to nearest even. */
export function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa lands in the exponent, as it should (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Half-precision bits to a float. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
