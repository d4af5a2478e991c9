import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The files of a package folder, walked without following links: a package holds only regular
 * files and folders, and a link could make the zip or the check read a file outside it.
 */

export interface FolderFile {
  /** Path inside the package, `/`-separated. */
  path: string;
  /** Absolute path. */
  file: string;
  size: number;
}

export async function packageFolder(dir: string): Promise<{ files: FolderFile[]; irregular: string[] }> {
  const files: FolderFile[] = [];
  const irregular: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const d of await readdir(abs, { withFileTypes: true })) {
      const file = join(abs, d.name);
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(file, path);
      else if (d.isFile()) files.push({ path, file, size: (await lstat(file)).size });
      else irregular.push(path);
    }
  };
  await walk(dir, "");
  return { files, irregular };
}
