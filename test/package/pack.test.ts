/**
 * The package as users get it (I/O: npm, tsc and node as child processes in temp dirs).
 * `npm pack` the built tree, install the tarball into a fresh project WITHOUT the Pulumi
 * packages, type-check and synthesize a chart with EventMesh + Trigger from it; then add the
 * Pulumi packages to that project and use `event-mesh/stacks` under Pulumi mocks.
 *
 * Needs lib/ built (npm test's pretest runs `npm run build`). Packages come from the npm
 * cache first (`--prefer-offline`), the registry otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { missingPulumiPeers, PULUMI_PEERS } from '../../stacks/peers';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  scripts: Record<string, string>;
};

jest.setTimeout(240_000);

let work: string;
let tarball: string;
let files: string[];

const missing = (id: string): never => {
  throw new Error(`Cannot find module '${id}'`);
};

/** Run a command; a failure throws with its stdout and stderr in the message. */
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'lib', 'index.js')) || !existsSync(path.join(ROOT, 'lib', 'stacks', 'index.js'))) {
    throw new Error('lib/ is not built: run npm run build (npm test does it in pretest)');
  }
  work = mkdtempSync(path.join(tmpdir(), 'event-mesh-pack-'));
  // --ignore-scripts: lib/ is already built; prepack would clear it under the other test files' feet.
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds lib/ (JS, .d.ts, maps), README, LICENSE and the CLI, nothing else', () => {
  expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'lib/index.js', 'lib/index.d.ts', 'lib/runtime/cli.js', 'lib/stacks/index.js', 'lib/constructs/index.d.ts', 'lib/constructs/sink.js.map']));
  for (const f of files) {
    expect(f).toMatch(/^(package\.json|README\.md|LICENSE|lib\/(index|constructs\/|stacks\/|runtime\/).*)$/);
    expect(f).not.toMatch(/(^|\/)(test|bench|\.ci|scripts|examples)\/|tsconfig|\.test\.|\.ts$(?<!\.d\.ts)/);
  }
  const js = files.filter((f) => f.endsWith('.js'));
  expect(js.length).toBeGreaterThan(50);
  for (const f of js) {
    expect(files).toContain(f.replace(/\.js$/, '.d.ts'));
    expect(files).toContain(`${f}.map`);
  }
  expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
});

test('Pulumi packages are optional peers (and dev dependencies), cloudevents a dev dependency, a prepare build', () => {
  expect(Object.keys(PKG.dependencies).filter((p) => p.startsWith('@pulumi/'))).toEqual([]);
  for (const p of Object.keys(PKG.devDependencies).filter((d) => d.startsWith('@pulumi/'))) {
    expect(PKG.peerDependencies[p]).toBeDefined();
    expect(PKG.peerDependenciesMeta[p]).toEqual({ optional: true });
    expect(PKG.devDependencies[p]).toBeDefined();
  }
  // The list event-mesh/stacks checks at import is the list of Pulumi peers.
  expect(missingPulumiPeers()).toEqual([]);
  expect(missingPulumiPeers((id) => (id === '@pulumi/azure-native' ? missing(id) : id))).toEqual(['@pulumi/azure-native']);
  expect([...PULUMI_PEERS].sort()).toEqual(Object.keys(PKG.peerDependencies).filter((p) => p.startsWith('@pulumi/')).sort());
  expect(PKG.dependencies.cloudevents).toBeUndefined();
  expect(PKG.devDependencies.cloudevents).toBeDefined();
  expect(PKG.scripts.prepare).toBe('npm run build');
});

test('installed without Pulumi: a chart with EventMesh + Trigger type-checks and synthesizes; the bin runs; event-mesh/stacks says what is missing', () => {
  const project = path.join(work, 'cdk8s-only');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cdk8s-only', version: '1.0.0', private: true }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
  const installed = readdirSync(path.join(project, 'node_modules'));
  expect(installed).toContain('event-mesh');
  expect(installed).not.toContain('@pulumi');
  expect(installed).not.toContain('cloudevents');

  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, skipLibCheck: false, types: [], outDir: 'out' }, files: ['main.ts'] }),
  );
  writeFileSync(
    path.join(project, 'main.ts'),
    [
      "import { App, Chart } from 'cdk8s';",
      "import { EventMesh, Sink, Trigger, type TriggerProps } from 'event-mesh';",
      "const app = new App({ outdir: 'dist' });",
      "const chart = new Chart(app, 'shop');",
      "const mesh = new EventMesh(chart, 'mesh', { applications: [{ name: 'commerce', namespaces: ['orders'] }] });",
      "const props: TriggerProps = { namespace: 'orders', filter: { type: 'order.created' }, subscriber: Sink.service('fulfilment') };",
      "new Trigger(chart, 'order-created', props);",
      'app.synth();',
      "const url: string = mesh.adapterUrls['commerce'];",
      'console.log(url);',
    ].join('\n'),
  );
  run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
  const out = run(process.execPath, ['out/main.js'], project);
  expect(out.trim()).toBe('https://commerce-adapter.kyma-integration.svc.cluster.local/events');
  const docs = parseAllDocuments(readFileSync(path.join(project, 'dist', 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
  expect(docs.find((d) => d.kind === 'Trigger')?.metadata).toMatchObject({ name: 'order-created', namespace: 'orders' });
  expect(docs.find((d) => d.kind === 'Broker')?.metadata).toMatchObject({ name: 'default', namespace: 'orders' });

  // A type error in the consumer's use of our types is caught: the .d.ts files are real.
  writeFileSync(path.join(project, 'bad.ts'), "import { Sink } from 'event-mesh';\nconst n: number = Sink.service('x');\nconsole.log(n);\n");
  writeFileSync(path.join(project, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', files: ['bad.ts'] }));
  expect(() => run(process.execPath, [TSC, '-p', 'tsconfig.bad.json', '--noEmit'], project)).toThrow(/Destination.*not assignable to type 'number'/s);

  expect(run(path.join(project, 'node_modules', '.bin', 'event-mesh'), ['--version'], project).trim()).toBe(PKG.version);
  expect(() => run(process.execPath, ['-e', "require('event-mesh/stacks')"], project)).toThrow(
    /event-mesh\/stacks needs @pulumi\/pulumi, @pulumi\/kubernetes, @pulumi\/azure-native, @pulumi\/gcp \(optional peer dependencies of event-mesh.*\): npm install @pulumi\/pulumi @pulumi\/kubernetes @pulumi\/azure-native @pulumi\/gcp/,
  );
});

test('the same project with the Pulumi packages added: event-mesh/stacks deploys the mesh under Pulumi mocks, type-checked', () => {
  // The project of the previous test, as a user adds Pulumi to it. The Pulumi packages are the
  // ones this checkout was tested with, linked: @pulumi/azure-native alone is hundreds of MB.
  const project = path.join(work, 'cdk8s-only');
  expect(existsSync(path.join(project, 'node_modules', 'event-mesh', 'package.json'))).toBe(true);
  mkdirSync(path.join(project, 'node_modules', '@pulumi'), { recursive: true });
  const pulumiPeers = Object.keys(PKG.peerDependencies).filter((p) => p.startsWith('@pulumi/'));
  expect(pulumiPeers).toEqual(expect.arrayContaining(['@pulumi/pulumi', '@pulumi/kubernetes']));
  for (const p of pulumiPeers) symlinkSync(path.join(ROOT, 'node_modules', p), path.join(project, 'node_modules', p), 'dir');
  writeFileSync(
    path.join(project, 'tsconfig.stack.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, skipLibCheck: true, types: [], outDir: 'out' }, files: ['stack.ts'] }),
  );
  writeFileSync(
    path.join(project, 'stack.ts'),
    [
      "import * as pulumi from '@pulumi/pulumi';",
      'const types: string[] = [];',
      'pulumi.runtime.setMocks({',
      '  newResource: (a) => { types.push(a.type); return { id: `${a.name}-id`, state: a.inputs }; },',
      '  call: (a) => a.inputs,',
      "}, 'project', 'stack', false);",
      'async function main(): Promise<void> {',
      "  const { EventMesh } = await import('event-mesh/stacks');",
      "  const mesh = new EventMesh('mesh', { applications: [{ name: 'commerce', namespaces: ['orders'] }] });",
      '  const urls = await new Promise<Record<string, string>>((resolve) => mesh.adapterUrls.apply(resolve));',
      '  await new Promise((r) => setTimeout(r, 200));',
      '  console.log(JSON.stringify({ urls, objects: mesh.objects.length, types: [...new Set(types)].sort() }));',
      '}',
      'main().catch((err) => { console.error(err); process.exit(1); });',
    ].join('\n'),
  );
  run(process.execPath, [TSC, '-p', 'tsconfig.stack.json'], project);
  const result = JSON.parse(run(process.execPath, ['out/stack.js'], project)) as { urls: Record<string, string>; objects: number; types: string[] };
  expect(result.urls).toEqual({ commerce: 'https://commerce-adapter.kyma-integration.svc.cluster.local/events' });
  expect(result.objects).toBeGreaterThan(20);
  expect(result.types).toEqual(expect.arrayContaining(['event-mesh:index:EventMesh', 'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition', 'kubernetes:apps/v1:Deployment']));
});
