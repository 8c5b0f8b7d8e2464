/**
 * Synthesize a cdk8s chart in memory — validations included — and return its objects as
 * plain JSON, exactly what `cdk8s synth` would write for the same constructs. Pure apart
 * from CPU: writes nothing. The Pulumi component and the controller both deploy what this
 * returns, so neither keeps a second copy of the wiring.
 */
import { App, Chart } from 'cdk8s';

/** A Kubernetes object as `chart.toJson()` renders it. */
export interface SynthesizedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

export interface InMemorySynth<T> {
  /** Whatever `build` returned (e.g. the construct, for its properties). */
  readonly built: T;
  /** The chart's objects in the order cdk8s renders them (dependencies first). */
  readonly objects: SynthesizedObject[];
}

/**
 * Builds `App` → `Chart(chartId)` → `build(chart)`, then runs what `app.synth()` runs before
 * writing files — every construct's `node.validate()` and the dependency ordering — via
 * `app.synthYaml()`, which writes nothing. Constructor checks and validation errors are thrown
 * as they are, for the caller to report.
 */
export function synthesizeInMemory<T>(chartId: string, build: (chart: Chart) => T): InMemorySynth<T> {
  const app = new App({ outdir: 'dist' });
  const chart = new Chart(app, chartId);
  const built = build(chart);
  app.synthYaml(); // validate + resolve dependencies; throws "Validation failed with the following errors: ..."
  // Deep copy through JSON: the same value a manifest file holds (no undefined, no class instances).
  const objects = JSON.parse(JSON.stringify(chart.toJson())) as SynthesizedObject[];
  return { built, objects };
}
