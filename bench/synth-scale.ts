/**
 * Synth scale, one size per process: `node synth-scale.js <applications>` builds one chart
 * with that many applications, 10 Triggers each, spread over 50 namespaces, synthesizes it
 * in memory (validations included, as `cdk8s synth` does) and prints one JSON line
 * { applications, triggers, objects, seconds, peakRssMb }. Does I/O (stdout, IPC).
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { EventMesh, Sink, Trigger } from '../constructs';

export const TRIGGERS_PER_APP = 10;
export const NAMESPACES = 50;

export interface SynthScaleResult {
  readonly applications: number;
  readonly triggers: number;
  readonly objects: number;
  readonly seconds: number;
  /** CPU time (user + system) of the process, a steadier figure than wall time on a loaded machine. */
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

/** Build and synthesize the chart of `applications` applications; returns the object count. */
export function synthScale(applications: number): number {
  const app = new App({ outdir: 'dist' });
  const chart = new Chart(app, 'scale');
  const namespaces = Math.min(NAMESPACES, applications);
  const mesh = new EventMesh(chart, 'mesh', {
    applications: Array.from({ length: applications }, (_, i) => ({
      name: `app-${i}`,
      namespaces: [`ns-${i % namespaces}`],
      events: [{ type: `app-${i}.thing.happened`, version: 'v1' }],
    })),
  });
  for (let i = 0; i < applications; i++) {
    for (let t = 0; t < TRIGGERS_PER_APP; t++) {
      new Trigger(chart, `app-${i}-t${t}`, {
        namespace: `ns-${i % namespaces}`,
        filter: { type: `app-${i}.thing.happened`, source: `app-${i}`, eventtypeversion: 'v1' },
        subscriber: Sink.service(`fn-${i}-${t}`),
        delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.5S' },
      });
    }
  }
  void mesh;
  app.synthYaml();
  return chart.node.findAll().filter((c) => ApiObject.isApiObject(c)).length;
}

if (require.main === module) {
  const applications = Number(process.argv[2] ?? 100);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const objects = synthScale(applications);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const result: SynthScaleResult = {
    applications,
    triggers: applications * TRIGGERS_PER_APP,
    objects,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (process.send) process.send(result);
  else console.log(JSON.stringify(result));
}
