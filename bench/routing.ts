/**
 * The benchmark's wiring comes from the same construct users deploy: application `bench`
 * bound to namespace `bench`, one Trigger on its events delivering to the local sink.
 * The synthesized manifests go where the dispatcher reads routing from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { App, Chart } from 'cdk8s';
import { EventMesh } from '../constructs';

/** Deliveries in flight at once for the bench's Trigger (and the minimal pipeline's consumer). */
export const BENCH_MAX_IN_FLIGHT = 256;

export function writeBenchRouting(dir: string, sinkUrl: string): void {
  const app = new App({ outdir: dir });
  const chart = new Chart(app, 'bench');
  new EventMesh(chart, 'Mesh', {
    applications: [{ name: 'bench', namespaces: ['bench'] }],
    triggers: [
      {
        name: 'bench-sink',
        namespace: 'bench',
        filter: { type: 'bench.event', source: 'bench' },
        subscriber: { uri: sinkUrl },
        delivery: { ordering: 'parallel', maxInFlight: BENCH_MAX_IN_FLIGHT },
      },
    ],
  });
  fs.writeFileSync(path.join(dir, 'bench.yaml'), app.synthYaml());
}
