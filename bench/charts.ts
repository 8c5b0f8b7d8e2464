/**
 * SVG charts of the benchmark figures, drawn with Vega-Lite (a devDependency, loaded with
 * import() only when the bench runs). Pure apart from the dynamic import.
 */

// TypeScript compiles import() to require() under CommonJS; Vega is ESM only.
const esm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;

export interface Point {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

export interface LineChart {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly points: readonly Point[];
  readonly logX?: boolean;
}

/** Compile a Vega-Lite spec (with the common title, size and background) and render it as SVG. */
async function render(title: string, rest: Record<string, unknown>): Promise<string> {
  const vl = await esm('vega-lite');
  const vega = await esm('vega');
  const spec = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 460, height: 240, background: 'white', ...rest }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  return svg;
}

/** A line chart with points, one line per series. */
export function lineChartSvg(chart: LineChart): Promise<string> {
  return render(chart.title, {
    data: { values: chart.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: chart.xTitle, scale: chart.logX ? { type: 'log' } : {} },
      y: { field: 'y', type: 'quantitative', title: chart.yTitle, scale: { zero: true } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
}

export interface BarChart {
  readonly title: string;
  readonly yTitle: string;
  readonly bars: readonly { readonly label: string; readonly value: number }[];
}

/** A bar chart, one bar per label, in the given order. */
export function barChartSvg(chart: BarChart): Promise<string> {
  return render(chart.title, {
    data: { values: chart.bars.map((b) => ({ ...b })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'label', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: chart.yTitle },
    },
  });
}
