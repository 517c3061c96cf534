import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Write a file so that readers see either the old content or the whole new one:
 * write a sibling temp file, fsync it, then rename over the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx');
  try {
    // Parts are written in turn: a 500 MB model is not copied into one buffer first.
    if (Array.isArray(data)) for (const part of data) await fh.write(part);
    else await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
