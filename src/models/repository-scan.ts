/**
 * What the model repository holds on disk, without loading anything: its model directories, each one's
 * config.pbtxt, its version directories, and a fingerprint of each version's files (their paths, sizes and
 * modification times), by which polling notices a change and waits for files being written to settle. Directory
 * mistakes (a name that is not a model name or a version number, a symlink leading out of MODELS_DIR, a directory
 * that cannot be listed) are ModelLoadErrors on the scan, handled as load failures.
 */
import { readdir, stat } from 'node:fs/promises';
import { ModelLoadError, NAME, VERSION } from './model-file.js';
import { RepositoryFileError, RepositoryFiles } from './repository-files.js';
import { compareVersions } from './model-registry.js';

/** A model's configuration file, as Triton names it. */
export const CONFIG_FILE = 'config.pbtxt';
/** The largest config.pbtxt read (a configuration is a few KB). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
/** How deep and how many entries a version directory's fingerprint looks at (a model is a handful of files). */
const FINGERPRINT_DEPTH = 4;
const FINGERPRINT_ENTRIES = 10_000;

export interface VersionScan {
  readonly version: string;
  /** Its directory's paths, sizes and modification times ('' when it could not be listed). */
  readonly fingerprint: string;
  /** What is wrong with the directory itself (its name, a symlink leading out), or null. */
  readonly problem: ModelLoadError | null;
}

export interface ModelScan {
  readonly name: string;
  /** What is wrong with the model directory itself, or null. */
  readonly problem: ModelLoadError | null;
  /** config.pbtxt's size and modification time, or null when there is none. */
  readonly config: string | null;
  /** Version directories, by number (directories named otherwise come last, with their problem). */
  readonly versions: readonly VersionScan[];
}

const loadError = (files: RepositoryFiles, rel: string, problem: string) =>
  new ModelLoadError(rel, problem, files.shown(rel));

/** `rel`'s problem when it resolves outside the repository (a symlink, by mistake), else null. */
async function confinement(files: RepositoryFiles, rel: string): Promise<ModelLoadError | null> {
  try {
    await files.resolve(rel);
    return null;
  } catch (error) {
    if (error instanceof RepositoryFileError) return loadError(files, rel, error.message);
    throw error;
  }
}

/** Size and modification time of `rel` (following symlinks), or null when it is missing. */
async function statOf(files: RepositoryFiles, rel: string): Promise<string | null> {
  const stats = await stat(files.shown(rel)).catch(() => null);
  return stats === null ? null : `${stats.isFile() ? 'f' : 'o'}:${stats.size}:${stats.mtimeMs}`;
}

/** Every file under `rel` with its size and modification time, in a stable order. */
async function fingerprint(files: RepositoryFiles, rel: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const names = await readdir(files.shown(dir)).catch(() => null);
    if (names === null) {
      lines.push(`${dir} unreadable`);
      return;
    }
    for (const name of names.sort()) {
      if (lines.length >= FINGERPRINT_ENTRIES) return;
      const path = `${dir}/${name}`;
      const stats = await stat(files.shown(path)).catch(() => null);
      if (stats === null) lines.push(`${path} dangling`);
      else if (stats.isDirectory()) {
        lines.push(`${path}/ ${stats.mtimeMs}`);
        if (depth < FINGERPRINT_DEPTH) await walk(path, depth + 1);
      } else lines.push(`${path} ${stats.size} ${stats.mtimeMs}`);
    }
  };
  await walk(rel, 1);
  return lines.join('\n');
}

/** One model directory (`name`), or null when there is none (no longer) at that name. */
export async function scanModel(files: RepositoryFiles, name: string): Promise<ModelScan | null> {
  const modelDir = RepositoryFiles.path(name);
  if (name.startsWith('.') || !(await files.isDirectory(modelDir))) return null;
  const model = (problem: ModelLoadError): ModelScan => ({ name, problem, config: null, versions: [] });
  if (!NAME.test(name))
    return model(
      loadError(files, modelDir, 'is not a valid model name (letters, digits, _ . -; not starting with _ . -)'),
    );
  const outside = await confinement(files, modelDir);
  if (outside !== null) return model(outside);
  let entries: string[];
  try {
    entries = await readdir(files.shown(modelDir));
  } catch (error) {
    return model(loadError(files, modelDir, `cannot be listed (${(error as NodeJS.ErrnoException).code ?? 'error'})`));
  }
  const versions: VersionScan[] = [];
  for (const version of entries) {
    const versionDir = RepositoryFiles.path(name, version);
    if (version.startsWith('.') || !(await files.isDirectory(versionDir))) continue;
    if (!VERSION.test(version)) {
      const problem = 'is not a version number (a positive integer without leading zeros)';
      versions.push({ version, fingerprint: '', problem: loadError(files, versionDir, problem) });
      continue;
    }
    const problem = await confinement(files, versionDir);
    versions.push({ version, fingerprint: problem === null ? await fingerprint(files, versionDir) : '', problem });
  }
  versions.sort((a, b) => compareVersions(a.version, b.version));
  return { name, problem: null, config: await statOf(files, RepositoryFiles.path(name, CONFIG_FILE)), versions };
}

/** Every model directory of the repository, by name. */
export async function scanRepository(files: RepositoryFiles): Promise<ModelScan[]> {
  const scans: ModelScan[] = [];
  for (const name of (await readdir(files.real).catch(() => [] as string[])).sort()) {
    const scan = await scanModel(files, name);
    if (scan !== null) scans.push(scan);
  }
  return scans;
}

/**
 * The model file of a version directory: `default_model_filename` when the configuration names one, else
 * model.onnx or model.json (Triton's convention for ONNX; one or the other, never both). The path of a missing
 * file is returned as it is: reading it then says that it is missing.
 */
export async function modelFileOf(
  files: RepositoryFiles,
  name: string,
  version: string,
  defaultFilename: string | null,
): Promise<string> {
  if (defaultFilename !== null) return RepositoryFiles.path(name, version, defaultFilename);
  const onnxFile = RepositoryFiles.path(name, version, 'model.onnx');
  const jsonFile = RepositoryFiles.path(name, version, 'model.json');
  const [hasOnnx, hasJson] = [await files.exists(onnxFile), await files.exists(jsonFile)];
  if (hasOnnx && hasJson) {
    const versionDir = RepositoryFiles.path(name, version);
    throw loadError(files, versionDir, 'holds both model.json and model.onnx; keep one model file per version');
  }
  return hasOnnx ? onnxFile : jsonFile;
}
