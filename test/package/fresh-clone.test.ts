/**
 * The fresh-clone paths (I/O: child processes on the built tree): after the README's first
 * command (`npm ci && npm run synth`; npm ci's prepare script runs `npm run build`),
 * `npx cdk8s synth` reads cdk8s.yaml and works, and Pulumi.yaml's main loads under Pulumi
 * mocks as `pulumi up` would run it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

jest.setTimeout(120_000);

test('npm ci builds everything the fresh-clone paths run: the prepare build covers the Pulumi main, the cdk8s app and the CLI', () => {
  expect(PKG.scripts.prepare).toBe('npm run build');
  expect(PKG.scripts.build).toBe('tsc -p tsconfig.json');
  const config = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--showConfig'], { cwd: ROOT, encoding: 'utf8' })) as { files: string[] };
  const pulumiMain = (parse(readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8')) as { main: string }).main;
  const cdk8sApp = (parse(readFileSync(path.join(ROOT, 'cdk8s.yaml'), 'utf8')) as { app: string }).app;
  const sourceOf = (js: string) => `./${js.replace(/^lib\//, '').replace(/\.js$/, '.ts')}`;
  for (const built of [pulumiMain, cdk8sApp.replace(/^node /, ''), 'lib/runtime/cli.js']) {
    expect(config.files).toContain(sourceOf(built));
    expect(existsSync(path.join(ROOT, built))).toBe(true);
  }
  // README's pulumi up steps start with exactly that npm ci.
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const steps = /## `pulumi up`\n\n```sh\n([\s\S]*?)```/.exec(readme)![1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
  expect(steps).toEqual(['npm ci', 'pulumi login --local', 'pulumi stack init dev', 'pulumi config set event-mesh:channel kafka', 'pulumi up']);
});

test('npx cdk8s synth: the cdk8s CLI reads cdk8s.yaml and synthesizes the commerce example', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'cdk8s-synth-'));
  try {
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--output', out], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    const docs = parseAllDocuments(readFileSync(path.join(out, 'commerce.k8s.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs.find((d) => d.kind === 'Trigger')?.metadata.name).toBe('test-trigger');
    expect(docs.filter((d) => d.kind === 'CustomResourceDefinition').length).toBeGreaterThanOrEqual(6);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("Pulumi.yaml's main loads under Pulumi mocks in a plain node process and exports the stack outputs", () => {
  const main = path.join(ROOT, (parse(readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8')) as { main: string }).main);
  const script = `
    const pulumi = require('@pulumi/pulumi');
    const types = new Set();
    pulumi.runtime.setMocks({ newResource: (a) => { types.add(a.type); return { id: a.name + '-id', state: a.inputs }; }, call: (a) => a.inputs }, 'event-mesh', 'dev', false);
    pulumi.runtime.setAllConfig({ 'event-mesh:applications': JSON.stringify([{ name: 'commerce', namespaces: ['serverless'] }]) });
    const program = require(${JSON.stringify(main)});
    pulumi.all([program.adapterUrls, program.brokerIngressUrls]).apply(([a, b]) => setTimeout(() => {
      console.log(JSON.stringify({ channel: program.channel, adapterUrls: a, brokerIngressUrls: b, types: [...types] }));
    }, 100));
  `;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!) as { channel: string; adapterUrls: Record<string, string>; brokerIngressUrls: Record<string, string>; types: string[] };
  expect(result.channel).toBe('nats');
  expect(result.adapterUrls).toEqual({ commerce: 'https://commerce-adapter.kyma-integration.svc.cluster.local/events' });
  expect(result.brokerIngressUrls).toEqual({ 'serverless/default': 'http://event-mesh-broker-ingress.event-mesh-system.svc.cluster.local/serverless/default' });
  expect(result.types).toEqual(expect.arrayContaining(['event-mesh:index:EventMesh', 'kubernetes:apps/v1:StatefulSet']));
});
