import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type FitMetrics, ModelLoadError } from './artifact.js';

/**
 * A binary artifact for models whose parameters do not fit JSON (tens to hundreds of MB):
 *
 *   bytes 0–7   magic "MLBTENS1"
 *   bytes 8–11  header length H, uint32 little-endian
 *   H bytes     header, UTF-8 JSON (TensorArtifactHeader)
 *   the rest    every tensor's float32 values, little-endian, in the header's order
 *
 * The header carries a sha256 of the payload and one of itself, so a truncated, corrupt or
 * hand-edited file fails at load with a reason, never as a model that answers wrongly.
 */
export const TENSOR_MAGIC = 'MLBTENS1';
export const TENSOR_FORMAT = 'mlbench-tensor-model';
export const TENSOR_FORMAT_VERSION = 1;
/** A header beyond this is not ours; a file beyond MAX_ARTIFACT_BYTES is refused before reading. */
const MAX_HEADER_BYTES = 1 << 20;
export const MAX_ARTIFACT_BYTES = 4 * 2 ** 30 - 1;

export interface TensorSpec {
  name: string;
  shape: number[];
}

export interface TensorArtifactHeader {
  format: typeof TENSOR_FORMAT;
  formatVersion: typeof TENSOR_FORMAT_VERSION;
  family: string;
  name: string;
  version: string;
  createdAt: string;
  size: string;
  featureCount: number;
  /** Family-specific settings (knobs, activation, intercept): validated by the family. */
  params: Record<string, unknown>;
  tensors: TensorSpec[];
  trainer: string;
  training: Record<string, unknown>;
  metrics: { train: FitMetrics; holdout: FitMetrics; [k: string]: unknown };
  payloadBytes: number;
  payloadChecksum: string;
  /** sha256 over this header without this field. */
  checksum: string;
}

export interface TensorArtifact {
  header: TensorArtifactHeader;
  tensors: Map<string, Float32Array>;
}

const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function headerChecksum(h: Omit<TensorArtifactHeader, 'checksum'> & { checksum?: string }): string {
  const { checksum: _c, ...rest } = h;
  return `sha256:${createHash('sha256').update(JSON.stringify(rest)).digest('hex')}`;
}

/** Serialize: header (with both checksums filled in) and payload, ready to write. */
export function encodeTensorArtifact(
  header: Omit<
    TensorArtifactHeader,
    'format' | 'formatVersion' | 'tensors' | 'payloadBytes' | 'payloadChecksum' | 'checksum'
  >,
  tensors: [string, Float32Array, number[]][],
): Buffer[] {
  const hash = createHash('sha256');
  let payloadBytes = 0;
  const parts: Buffer[] = [];
  for (const [name, data, shape] of tensors) {
    if (elements(shape) !== data.length)
      throw new Error(`tensor ${name}: shape ${shape} does not hold ${data.length} values`);
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    hash.update(b);
    parts.push(b);
    payloadBytes += b.length;
  }
  const full: Omit<TensorArtifactHeader, 'checksum'> = {
    format: TENSOR_FORMAT,
    formatVersion: TENSOR_FORMAT_VERSION,
    ...header,
    tensors: tensors.map(([name, , shape]) => ({ name, shape })),
    payloadBytes,
    payloadChecksum: `sha256:${hash.digest('hex')}`,
  };
  const json = Buffer.from(JSON.stringify({ ...full, checksum: headerChecksum(full) }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(TENSOR_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  return [prefix, json, ...parts];
}

export async function isTensorArtifact(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const b = Buffer.alloc(8);
    const { bytesRead } = await fh.read(b, 0, 8, 0);
    return bytesRead === 8 && b.toString('latin1') === TENSOR_MAGIC;
  } finally {
    await fh.close();
  }
}

/**
 * Read and check a tensor artifact. Time is bounded by the file's size, which is checked
 * against the header before the payload is read: one sequential read and one sha256 pass.
 */
export async function readTensorArtifact(path: string): Promise<TensorArtifact> {
  const fail = (why: string): never => {
    throw new ModelLoadError(`${path}: ${why}`);
  };
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) =>
    fail(`cannot read model file (${err.code ?? err.message})`),
  );
  try {
    const { size } = await fh.stat();
    if (size > MAX_ARTIFACT_BYTES) fail(`${size} bytes is more than the ${MAX_ARTIFACT_BYTES} a model may have`);
    const prefix = Buffer.alloc(12);
    if ((await fh.read(prefix, 0, 12, 0)).bytesRead < 12) fail('truncated: shorter than the 12-byte prefix');
    if (prefix.toString('latin1', 0, 8) !== TENSOR_MAGIC)
      fail(`not an mlbench tensor model (no ${TENSOR_MAGIC} magic)`);
    const headerBytes = prefix.readUInt32LE(8);
    if (headerBytes > MAX_HEADER_BYTES || 12 + headerBytes > size)
      fail(`truncated or corrupt: header of ${headerBytes} bytes in a ${size}-byte file`);
    const hb = Buffer.alloc(headerBytes);
    await fh.read(hb, 0, headerBytes, 12);
    let header: TensorArtifactHeader;
    try {
      header = JSON.parse(hb.toString('utf8'));
    } catch (err) {
      return fail(`header is not valid JSON (corrupt?): ${(err as Error).message}`);
    }
    if (header.format !== TENSOR_FORMAT)
      fail(`format is ${JSON.stringify(header.format)}, expected "${TENSOR_FORMAT}"`);
    if (header.formatVersion !== TENSOR_FORMAT_VERSION)
      fail(
        `formatVersion ${JSON.stringify(header.formatVersion)} is not supported (expected ${TENSOR_FORMAT_VERSION})`,
      );
    if (header.checksum !== headerChecksum(header)) fail('header checksum does not match (file corrupt or edited)');
    if (!Array.isArray(header.tensors)) fail('"tensors" must be an array');
    let expected = 0;
    for (const t of header.tensors) {
      if (typeof t.name !== 'string' || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0))
        fail(`tensor ${JSON.stringify(t.name)}: shape must be positive integers`);
      expected += elements(t.shape) * 4;
    }
    if (expected !== header.payloadBytes)
      fail(`mismatched: tensors need ${expected} bytes, header says ${header.payloadBytes}`);
    const payloadAt = 12 + headerBytes;
    if (size - payloadAt < expected) fail(`truncated: ${size - payloadAt} of ${expected} payload bytes present`);
    if (size - payloadAt > expected) fail(`corrupt: ${size - payloadAt - expected} bytes after the payload`);
    // One allocation for every tensor; views into it, 4-byte aligned (offset 0 of its own buffer).
    const payload = Buffer.allocUnsafeSlow(expected);
    for (let at = 0; at < expected; ) {
      const { bytesRead } = await fh.read(payload, at, Math.min(expected - at, 64 << 20), payloadAt + at);
      if (bytesRead === 0) fail('truncated while reading');
      at += bytesRead;
    }
    const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    if (digest !== header.payloadChecksum) fail('payload checksum does not match (file corrupt or edited)');
    const tensors = new Map<string, Float32Array>();
    let offset = 0;
    for (const t of header.tensors) {
      const n = elements(t.shape);
      const view = new Float32Array(payload.buffer, payload.byteOffset + offset, n);
      for (let i = 0; i < n; i++) if (!Number.isFinite(view[i])) fail(`tensor ${t.name}: value ${i} is not finite`);
      tensors.set(t.name, view);
      offset += n * 4;
    }
    return { header, tensors };
  } finally {
    await fh.close();
  }
}
