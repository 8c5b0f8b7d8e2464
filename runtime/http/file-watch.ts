/**
 * Watches a few small mounted files (certificates, keys, CA bundles, token lists) and
 * calls back with their new contents when any of them changes. Catches both a Kubernetes
 * Secret update (the `..data` symlink swapped atomically, so every file changes at once)
 * and a plain file replacement. Does I/O: fs.watch on the files' directories for speed,
 * plus a poll that compares contents, so a missed or coalesced event is caught too.
 *
 * The callback returns false when the contents are not usable yet (a certificate written
 * before its key): the watcher then tries again on the next event or poll.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

export interface FileWatchOptions {
  /** How often the contents are compared even without a file event, in ms. @default 1000 */
  readonly pollMs?: number;
  /** Told about unreadable files (the old contents stay in use). */
  readonly onError?: (err: Error) => void;
}

export interface FileWatch {
  /** Check now (also runs on every file event and poll). */
  check(): void;
  close(): void;
}

/** Read every file; throws an error naming the file that cannot be read. */
export function readAll(files: readonly string[]): Buffer[] {
  return files.map((f) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  });
}

function fingerprint(contents: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const c of contents) h.update(createHash('sha256').update(c).digest());
  return h.digest('hex');
}

/**
 * Watch `files`, whose current contents are `initial` (as loaded at start). `onChange`
 * gets the new contents, in the order of `files`, whenever they differ from the last
 * accepted ones.
 */
export function watchFiles(files: readonly string[], initial: readonly Buffer[], onChange: (contents: Buffer[]) => boolean, options: FileWatchOptions = {}): FileWatch {
  let accepted = fingerprint(initial);
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;
  const check = () => {
    if (closed) return;
    let contents: Buffer[];
    try {
      contents = readAll(files);
    } catch (e) {
      // Mid-swap, or the Secret is gone: keep what we have and look again later.
      options.onError?.(e as Error);
      return;
    }
    const next = fingerprint(contents);
    if (next === accepted) return;
    if (onChange(contents)) accepted = next;
  };
  const soon = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(check, 25);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => path.dirname(path.resolve(f))))) {
    try {
      const w = watch(dir, { persistent: false }, soon);
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // No inotify (or too many watches): the poll still finds every change.
    }
  }
  const poll = setInterval(check, options.pollMs ?? 1000);
  poll.unref();
  return {
    check,
    close: () => {
      closed = true;
      clearInterval(poll);
      clearTimeout(debounce);
      for (const w of watchers) w.close();
    },
  };
}
