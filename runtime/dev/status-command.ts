/**
 * `event-mesh status [dir]` (I/O: reads the directory, prints): the controller's reconcile
 * run against the manifests, as `event-mesh dev` runs it (each application's adapter counts
 * as running, as dev would run it), printed as a `kubectl get`-like table of READY and
 * REASON, followed by the message of each object that is not ready.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { CliConfig } from '../cli';
import { readManifests } from '../dispatcher/routing/manifests';
import { discoverApplications } from './discovery';
import { DEV_READ_OPTIONS, devContext, missingDirMessage } from './context';
import { devObjectSet } from './object-set';
import { statusRows, statusTable } from './status-table';

/** Prints the table; the exit code is 0 (1 when the directory is missing). */
export async function runStatus(dirArg: string, cfg: Pick<CliConfig, 'systemNamespace' | 'clusterDomain'>, out: (line: string) => void, err: (line: string) => void = out): Promise<number> {
  const dir = path.resolve(dirArg);
  if (!existsSync(dir)) {
    err(`error: event-mesh status: ${missingDirMessage(dir)}`);
    return 1;
  }
  const set = await readManifests(dir, DEV_READ_OPTIONS);
  for (const p of set.problems) err(`warning: ${p}`);
  const ctx = devContext(cfg);
  const apps = discoverApplications(devObjectSet(set.objects, ctx).objects);
  const result = devObjectSet(set.objects, ctx, { runningAdapters: new Set(apps.map((a) => a.name)) });
  const rows = statusRows(result.desired);
  if (rows.length === 0) {
    out(`no HTTPSource, Broker, Trigger or Subscription in ${dir}`);
    return 0;
  }
  for (const line of statusTable(rows)) out(line);
  const notReady = rows.filter((r) => r.ready !== 'True' && r.message);
  if (notReady.length > 0) {
    out('');
    for (const r of notReady) out(`${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: ${r.message}`);
  }
  return 0;
}
