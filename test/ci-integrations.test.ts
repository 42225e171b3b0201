// action.yml and .pre-commit-hooks.yaml as GitHub Actions and pre-commit run
// them: the action's shell steps run with the environment the runner gives
// them (inputs substituted into `env:`, GITHUB_ACTION_PATH, GITHUB_OUTPUT),
// and each hook's entry runs on the files its patterns select.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const CLEAN = 'FROM debian:bookworm-slim\nRUN echo one\n';

interface ActionStep {
  readonly name: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, string>;
}
interface Action {
  readonly inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  readonly outputs: Record<string, { description: string; value: string }>;
  readonly runs: { using: string; steps: ActionStep[] };
}
const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as Action;
const hooks = parse(readFileSync(path.join(root, '.pre-commit-hooks.yaml'), 'utf8')) as { id: string; entry: string; language: string; files: string; exclude?: string }[];

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-ci-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Runs one shell step of the action as the runner would: `${{ … }}` in env resolved, bash, the runner's variables set. */
function runStep(step: ActionStep, inputs: Record<string, string>, outputs: Record<string, string>, cwd: string) {
  const expression = (value: string) =>
    value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_match, name: string) => {
      if (name.startsWith('inputs.')) return inputs[name.slice('inputs.'.length)] ?? action.inputs[name.slice('inputs.'.length)].default ?? '';
      if (name.startsWith('steps.check.outputs.')) return outputs[name.slice('steps.check.outputs.'.length)] ?? '';
      throw new Error(`unexpected expression ${name} in action.yml`);
    });
  const outputFile = path.join(cwd, '.github-output');
  writeFileSync(outputFile, '');
  const env: Record<string, string> = { ...process.env, NODE_OPTIONS: '', GITHUB_ACTION_PATH: root, GITHUB_OUTPUT: outputFile } as Record<string, string>;
  for (const [key, value] of Object.entries(step.env ?? {})) env[key] = expression(value);
  const result = spawnSync('bash', ['-e', '-c', step.run!], { cwd, env, encoding: 'utf8' });
  for (const line of readFileSync(outputFile, 'utf8').split('\n').filter(Boolean)) {
    const [key, ...value] = line.split('=');
    outputs[key] = value.join('=');
  }
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const step = (name: string) => action.runs.steps.find((candidate) => candidate.name === name)!;

describe('action.yml', () => {
  test('a composite action whose every input and output is documented', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(['paths', 'args', 'sarif-file', 'upload', 'category', 'fail-on-changes']);
    for (const [name, input] of Object.entries(action.inputs)) expect([name, input.description.length > 20]).toEqual([name, true]);
    for (const output of Object.values(action.outputs)) expect(output.description.length).toBeGreaterThan(10);
    const upload = action.runs.steps.find((candidate) => candidate.uses?.startsWith('github/codeql-action/upload-sarif@'));
    expect(upload).toMatchObject({ if: "inputs.upload == 'true'", with: { sarif_file: '${{ inputs.sarif-file }}', category: '${{ inputs.category }}' } });
    // The build step builds this checkout; the test run has built it already.
    expect(step('Build dockopt').run).toContain('npm run build');
  });

  test('the check step writes a SARIF log of what would change and its exit code; the last step decides the outcome', () => {
    const repo = tree({ 'svc/Dockerfile': MERGEABLE, 'web/Dockerfile': CLEAN, 'legacy/Dockerfile': MERGEABLE });
    const outputs: Record<string, string> = {};
    const check = runStep(step('dockopt fix --check --format sarif'), { paths: 'svc web .', args: '--exclude legacy/' }, outputs, repo);
    expect(check.code).toBe(0);
    expect(outputs['exit-code']).toBe('1');
    const log = JSON.parse(readFileSync(path.join(repo, 'dockopt.sarif'), 'utf8'));
    expect(log.version).toBe('2.1.0');
    // Both inputs are lists: three paths, and an option with its value (legacy/ is left out of the search of `.`).
    expect(log.runs[0].results.map((result: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => [result.ruleId, result.locations[0].physicalLocation.artifactLocation.uri])).toEqual([['merge-runs', 'svc/Dockerfile']]);
    expect(runStep(step('Exit code'), {}, outputs, repo).code).toBe(0);
    expect(runStep(step('Exit code'), { 'fail-on-changes': 'true' }, outputs, repo).code).toBe(1);
  });

  test('an error fails the step with an annotation; a clean tree gives exit code 0', () => {
    const broken = tree({ Dockerfile: 'FROM a\nFROOM b\n' });
    const outputs: Record<string, string> = {};
    const check = runStep(step('dockopt fix --check --format sarif'), {}, outputs, broken);
    expect(outputs['exit-code']).toBe('2');
    expect(check.stdout).toContain('::error::dockopt could not process some files');
    expect(runStep(step('Exit code'), {}, outputs, broken).code).toBe(2);
    const clean: Record<string, string> = {};
    runStep(step('dockopt fix --check --format sarif'), {}, clean, tree({ Dockerfile: CLEAN }));
    expect(clean['exit-code']).toBe('0');
  });
});

describe('.pre-commit-hooks.yaml', () => {
  const names = ['Dockerfile', 'svc/Dockerfile', 'Dockerfile.prod', 'api/app.Dockerfile', 'web.dockerfile', 'Containerfile', 'Containerfile.dev', 'README.md', 'Dockerfile.dockerignore', 'src/main.go'];
  const selected = (hook: (typeof hooks)[number]) => names.filter((name) => new RegExp(hook.files).test(name) && !(hook.exclude && new RegExp(hook.exclude).test(name)));

  test('two node hooks, dockopt-check and dockopt-fix, that select Dockerfiles and nothing else', () => {
    expect(hooks.map((hook) => [hook.id, hook.language])).toEqual([
      ['dockopt-check', 'node'],
      ['dockopt-fix', 'node'],
    ]);
    for (const hook of hooks) expect(selected(hook)).toEqual(['Dockerfile', 'svc/Dockerfile', 'Dockerfile.prod', 'api/app.Dockerfile', 'web.dockerfile', 'Containerfile', 'Containerfile.dev']);
  });

  test.each([
    ['dockopt-check', 1, MERGEABLE],
    ['dockopt-fix', 0, 'FROM debian:bookworm-slim\nRUN echo one \\\n    && echo two\n'],
  ])('%s: its entry on the staged files exits %d and leaves %j', (id, code, content) => {
    const hook = hooks.find((candidate) => candidate.id === id)!;
    const repo = tree({ Dockerfile: MERGEABLE, 'README.md': '# x\n' });
    const [command, ...args] = hook.entry.split(' ');
    expect(command).toBe('dockopt');
    const result = spawnSync(process.execPath, [path.join(root, 'bin', 'dockopt'), ...args, 'Dockerfile'], { cwd: repo, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(result.status).toBe(code);
    expect(readFileSync(path.join(repo, 'Dockerfile'), 'utf8')).toBe(content);
  });
});
