import { open } from 'node:fs/promises';
import { looksLikeSignature } from '../core/signatures/signature-format.js';

/**
 * Recognise video and image containers, and retrace signatures (docs/signature-format.md), by
 * their first bytes. This is a cheap gate before a job is created (a text file renamed `.mp4` is
 * refused at once); whether the media really decodes, or the signature is whole, is the engine's
 * call. The extension of the stored file comes from here, never from the client's file name.
 */
export interface SniffResult {
  /** `signature`: descriptors without media, searched or indexed as a reference without media. */
  kind: 'video' | 'image' | 'signature';
  /** Extension for the stored file (also picks the Content-Type when streaming). */
  ext: string;
  label: string;
}

export function sniffBytes(b: Buffer): SniffResult | null {
  if (looksLikeSignature(b)) return { kind: 'signature', ext: 'sig', label: 'retrace signature' };
  const at = (off: number, ascii: string) => b.length >= off + ascii.length && b.toString('latin1', off, off + ascii.length) === ascii;
  const bytes = (off: number, ...v: number[]) => b.length >= off + v.length && v.every((x, i) => b[off + i] === x);

  if (at(4, 'ftyp')) {
    const brand = b.toString('latin1', 8, 12);
    if (/^(avif|avis)/.test(brand)) return { kind: 'image', ext: 'avif', label: 'AVIF image' };
    if (/^(heic|heix|mif1|msf1)/.test(brand)) return { kind: 'image', ext: 'heic', label: 'HEIF image' };
    if (brand.startsWith('qt')) return { kind: 'video', ext: 'mov', label: 'QuickTime' };
    if (brand.startsWith('3g')) return { kind: 'video', ext: '3gp', label: '3GPP' };
    if (brand.startsWith('M4A') || brand.startsWith('M4B')) return null; // audio-only MPEG-4
    return { kind: 'video', ext: 'mp4', label: 'MPEG-4' };
  }
  // QuickTime files may start with other top-level atoms.
  if (at(4, 'moov') || at(4, 'mdat') || at(4, 'wide') || at(4, 'free') || at(4, 'skip')) return { kind: 'video', ext: 'mov', label: 'QuickTime' };
  if (bytes(0, 0x1a, 0x45, 0xdf, 0xa3)) {
    const head = b.toString('latin1', 0, Math.min(b.length, 64));
    return head.includes('webm') ? { kind: 'video', ext: 'webm', label: 'WebM' } : { kind: 'video', ext: 'mkv', label: 'Matroska' };
  }
  if (at(0, 'RIFF') && at(8, 'AVI ')) return { kind: 'video', ext: 'avi', label: 'AVI' };
  if (at(0, 'RIFF') && at(8, 'WEBP')) return { kind: 'image', ext: 'webp', label: 'WebP image' };
  if (at(0, 'FLV')) return { kind: 'video', ext: 'flv', label: 'Flash video' };
  if (bytes(0, 0x00, 0x00, 0x01, 0xba)) return { kind: 'video', ext: 'mpg', label: 'MPEG program stream' };
  if (b.length >= 377 && b[0] === 0x47 && b[188] === 0x47 && b[376] === 0x47) return { kind: 'video', ext: 'ts', label: 'MPEG transport stream' };
  if (bytes(0, 0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11)) return { kind: 'video', ext: 'wmv', label: 'ASF/WMV' };
  if (at(0, 'OggS')) {
    const head = b.toString('latin1', 0, Math.min(b.length, 256));
    return head.includes('theora') ? { kind: 'video', ext: 'ogv', label: 'Ogg Theora' } : null;
  }
  if (at(0, 'YUV4MPEG2')) return { kind: 'video', ext: 'y4m', label: 'YUV4MPEG2' };
  if (bytes(0, 0xff, 0xd8, 0xff)) return { kind: 'image', ext: 'jpg', label: 'JPEG image' };
  if (bytes(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { kind: 'image', ext: 'png', label: 'PNG image' };
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return { kind: 'image', ext: 'gif', label: 'GIF image' };
  if (at(0, 'BM') && b.length >= 14) return { kind: 'image', ext: 'bmp', label: 'BMP image' };
  if (bytes(0, 0x49, 0x49, 0x2a, 0x00) || bytes(0, 0x4d, 0x4d, 0x00, 0x2a)) return { kind: 'image', ext: 'tif', label: 'TIFF image' };
  return null;
}

export async function sniffFile(path: string): Promise<SniffResult | null> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return sniffBytes(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** File name extensions and MIME types accepted when an upload is created (before any bytes arrive). */
const MEDIA_EXTENSIONS = new Set([
  'mp4',
  'm4v',
  'mov',
  'qt',
  '3gp',
  '3g2',
  'mkv',
  'webm',
  'avi',
  'flv',
  'mpg',
  'mpeg',
  'm2v',
  'ts',
  'mts',
  'm2ts',
  'wmv',
  'asf',
  'ogv',
  'ogg',
  'y4m',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'bmp',
  'webp',
  'tif',
  'tiff',
  'avif',
  'heic',
  'heif',
  // A retrace signature (`retrace signatures make`).
  'sig',
]);

/**
 * Whether a declared file looks like media (or a signature, `.sig`): a known extension, or (no
 * extension) a video/image MIME type. A known non-media extension is refused even with a media
 * MIME type.
 */
export function looksLikeMedia(fileName: string, mimeType?: string): boolean {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(fileName);
  if (m) return MEDIA_EXTENSIONS.has(m[1].toLowerCase());
  if (mimeType) return /^(video|image)\//i.test(mimeType);
  return true; // no extension, no type: let the content decide at completion
}
