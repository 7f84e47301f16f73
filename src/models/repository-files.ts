/**
 * The files of the model repository, read so that a mistake in MODELS_DIR cannot turn into damage: write
 * access to it is trusted, but a symlink to the wrong place, a multi-GB file copied in by mistake or a FIFO
 * must not make start-up read outside the repository, read without bound, or hang.
 *
 * - Every path is resolved (realpath) and must stay inside the repository's own real path. Symlinks that
 *   stay inside are followed (a version directory linking to another version's shards is a fair layout);
 *   one that resolves outside is refused, naming the path as it appears in the repository.
 * - A file is `stat`ed before it is opened: it must be a regular file (a FIFO or a device is refused
 *   without being opened, so it cannot block start-up) whose size is within the caller's bound (or
 *   exactly the size a weights manifest declares). It is then opened without blocking, checked again
 *   on the open handle, and read once, in full, into one buffer of that size.
 *
 * Paths handed out are repository-relative (`hello/1/model.json`, always with `/`), so that what clients
 * see never holds the absolute path of MODELS_DIR; `shown` gives the path as configured, for the
 * start-up line on stderr.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * The largest model.json read: 64 MiB. Generous (an rnn-serve/v1 file with explicit weights at the default
 * limits is about 60 MB of JSON at most; a TF.js model.json holds only the topology and manifest, a few
 * KB), and it keeps a huge file put there by mistake from being read whole.
 */
export const MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024;

/** A problem with one repository path; the loader turns it into a ModelLoadError. */
export class RepositoryFileError extends Error {}

/** Bytes, with MiB/GiB when that helps reading a large number. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${bytes} bytes (${(bytes / 1024 ** 3).toFixed(1)} GiB)`;
  if (bytes >= 1024 ** 2) return `${bytes} bytes (${(bytes / 1024 ** 2).toFixed(1)} MiB)`;
  return `${bytes} bytes`;
}

/** `rel` as seen from the repository's root: not empty, not absolute, no `..` segment. */
function isInside(rel: string): boolean {
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

const code = (error: unknown) => (error as NodeJS.ErrnoException).code;

/** What a failed system call means, without its message (which names the absolute path). */
function describeFailure(error: unknown): string {
  const c = code(error);
  if (c === 'ENOENT') return 'is missing';
  if (c === 'ENOTDIR') return 'is missing (a path segment is not a directory)';
  if (c === 'ELOOP') return 'is a symlink loop';
  if (c === 'EACCES' || c === 'EPERM') return 'cannot be read (permission denied)';
  return `cannot be read (${c ?? (error as Error).message})`;
}

/**
 * How large a file may be: at most `max` bytes (`limit` names the constant, for the message), or exactly
 * `exact` (`described` says where that size comes from: `the manifest declares`).
 */
export type FileSize = { max: number; limit: string } | { exact: number; described: string };

export class RepositoryFiles {
  private constructor(
    /** MODELS_DIR as configured. */
    readonly dir: string,
    /** Its real path: everything read must be under it. */
    readonly real: string,
  ) {}

  /** The repository at `dir`, or null when there is none (not a directory, or missing). */
  static async at(dir: string): Promise<RepositoryFiles | null> {
    const real = await realpath(dir).catch(() => null);
    if (real === null || !(await stat(real)).isDirectory()) return null;
    return new RepositoryFiles(dir, real);
  }

  /** A repository-relative path made of segments: `hello/1/model.json`. */
  static path(...segments: string[]): string {
    return segments.join('/');
  }

  /** `rel` as configured (MODELS_DIR joined with it): `models/hello/1/model.json` when MODELS_DIR=./models. */
  shown(rel: string): string {
    return join(this.dir, ...rel.split('/'));
  }

  /**
   * The real path of `rel`, checked to be inside the repository; a RepositoryFileError naming the reason
   * otherwise (missing, or resolving outside MODELS_DIR).
   */
  async resolve(rel: string): Promise<string> {
    const real = await realpath(this.shown(rel)).catch((error: unknown) => {
      throw new RepositoryFileError(describeFailure(error));
    });
    if (!isInside(relative(this.real, real)) && real !== this.real)
      throw new RepositoryFileError('is a symlink resolving outside MODELS_DIR (only symlinks within it are followed)');
    return real;
  }

  /**
   * The real path and size of file `rel`, inside the repository and a regular file (stat only: a FIFO
   * is refused without being opened).
   */
  async measure(rel: string): Promise<{ real: string; size: number }> {
    const real = await this.resolve(rel);
    const stats = await stat(real).catch((error: unknown) => {
      throw new RepositoryFileError(describeFailure(error));
    });
    if (!stats.isFile()) throw new RepositoryFileError('is not a regular file');
    return { real, size: stats.size };
  }

  /** Whether anything is at `rel` (following symlinks; a dangling one is nothing). */
  async exists(rel: string): Promise<boolean> {
    return (await stat(this.shown(rel)).catch(() => null)) !== null;
  }

  /** Whether `rel` is a directory (following symlinks); false when it is missing or dangling. */
  async isDirectory(rel: string): Promise<boolean> {
    return (await stat(this.shown(rel)).catch(() => null))?.isDirectory() ?? false;
  }

  /**
   * The whole of file `rel`, read once, its size checked before a byte is read (see FileSize).
   */
  async read(rel: string, size: FileSize): Promise<Buffer> {
    const real = await this.resolve(rel);
    const before = await stat(real).catch((error: unknown) => {
      throw new RepositoryFileError(describeFailure(error));
    });
    checkFile(before.isFile(), before.size, size);
    // O_NONBLOCK: should the file have become a FIFO since the stat, opening it does not wait for a writer.
    let handle: FileHandle;
    try {
      handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new RepositoryFileError(describeFailure(error));
    }
    try {
      const opened = await handle.stat();
      checkFile(opened.isFile(), opened.size, size);
      const buffer = Buffer.alloc(opened.size);
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      if (offset !== buffer.length)
        throw new RepositoryFileError(`changed while it was read (${offset} of ${buffer.length} bytes)`);
      return buffer;
    } catch (error) {
      if (error instanceof RepositoryFileError) throw error;
      throw new RepositoryFileError(describeFailure(error));
    } finally {
      await handle.close();
    }
  }
}

function checkFile(isFile: boolean, bytes: number, size: FileSize): void {
  if (!isFile) throw new RepositoryFileError('is not a regular file');
  if ('max' in size && bytes > size.max)
    throw new RepositoryFileError(`is ${formatBytes(bytes)}; the limit is ${formatBytes(size.max)} (${size.limit})`);
  if ('exact' in size && bytes !== size.exact)
    throw new RepositoryFileError(`is ${formatBytes(bytes)}; ${size.described} ${formatBytes(size.exact)}`);
}
