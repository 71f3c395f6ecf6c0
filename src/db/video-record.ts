/** An indexed (or indexing) video as the store keeps it; the library's public `VideoRecord`. */
/** `indexing` until its frames are all stored; `failed` keeps the error. */
export type VideoStatus = 'indexing' | 'ready' | 'failed';

export interface VideoRecord {
  id: string;
  contentHash: string;
  path: string;
  title: string | null;
  durationSec: number;
  fps: number | null;
  width: number;
  height: number;
  codec: string;
  status: VideoStatus;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown>;
  frameCount: number;
  createdAt: string;
  updatedAt: string;
}
