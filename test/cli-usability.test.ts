// The command line as a new user meets it (issue 14), through the real
// bin/dockopt: Ruff-style selection, messages that tell the net change,
// no silent no-ops, and the output details reviewers notice.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const CLEAN = 'FROM debian:bookworm-slim\nRUN echo one\n';
/** merge-runs and pkg-cleanup (safe), pkg-cleanup's --no-install-recommends (unsafe), and non-root once selected (unsafe). */
const APT = 'FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y curl\nCMD ["curl", "--version"]\n';
/** merge-runs joins the RUNs, then pkg-cleanup drops `apk update`: in the end, one line is gone and nothing was merged. */
const APK = 'FROM alpine:3.20\nRUN apk update\nRUN apk add --no-cache curl\n';

function dockopt(args: string[], options: { cwd?: string; input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    input: options.input,
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '', FORCE_COLOR: '', ...options.env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-usability-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const lines = (text: string) => text.split('\n').filter(Boolean);
const checked = (args: string[], cwd: string) => dockopt(['fix', '--check', ...args, '.'], { cwd }).stdout;

describe('1. selection: which rules (--select, --extend-select, --ignore) apart from how much risk (--unsafe-fixes)', () => {
  test('the default set: safe and mixed transforms, only their safe fixes; the unsafe fixes held back are counted in one line', () => {
    const dir = tree({ Dockerfile: APT });
    const result = dockopt(['fix', '.'], { cwd: dir });
    expect(result.stdout).not.toContain('--no-install-recommends');
    expect(lines(result.stderr).slice(-2)).toEqual(['1 file scanned, 1 would change, 2 fixes (1 unsafe not applied), 0 errors', '1 more fix available with --unsafe-fixes (pkg-cleanup 1)']);
  });

  test('--extend-select adds an unsafe transform, whose fixes wait for --unsafe-fixes; --unsafe-fixes applies them; --no-unsafe-fixes none', () => {
    const dir = tree({ Dockerfile: APT });
    expect(checked(['--extend-select', 'non-root'], dir)).toBe('Dockerfile: merge-runs:2, pkg-cleanup:2\n');
    const held = dockopt(['fix', '--extend-select', 'non-root', '.'], { cwd: dir });
    expect(lines(held.stderr).at(-1)).toBe('2 more fixes available with --unsafe-fixes (non-root 1, pkg-cleanup 1)');
    expect(checked(['--extend-select', 'non-root', '--unsafe-fixes'], dir)).toBe('Dockerfile: non-root:1, merge-runs:2, pkg-cleanup:2\n');
    expect(checked(['--extend-select', 'non-root', '--unsafe-fixes', '--no-unsafe-fixes'], dir)).toBe('Dockerfile: merge-runs:2, pkg-cleanup:2\n');
  });

  test('--select replaces the set, --ignore (or --skip) takes from it; --only is --select with consent for just those; --unsafe is the shorthand for everything offline', () => {
    const dir = tree({ Dockerfile: APT });
    expect(checked(['--select', 'merge-runs'], dir)).toBe('Dockerfile: merge-runs:2\n');
    expect(checked(['--ignore', 'merge-runs'], dir)).toBe('Dockerfile: pkg-cleanup:3\n');
    expect(checked(['--skip', 'merge-runs,pkg-cleanup'], dir)).toBe('');
    expect(checked(['--only', 'pkg-cleanup'], dir)).toBe('Dockerfile: pkg-cleanup:3\n');
    expect(checked(['--only', 'pkg-cleanup', '--no-unsafe-fixes'], dir)).toBe('Dockerfile: pkg-cleanup:3\n');
    expect(checked(['--unsafe'], dir)).toBe('Dockerfile: non-root:1, merge-runs:2, pkg-cleanup:2\n');
    expect(checked(['--unsafe', '--ignore', 'non-root'], dir)).toBe('Dockerfile: merge-runs:2, pkg-cleanup:2\n');
    expect(dockopt(['fix', '--only', 'merge-runs', '--select', 'pkg-cleanup', '.'], { cwd: dir }).code).toBe(2);
  });

  test('the same keys in a config file and its overrides; flags then adjust what the config selected', () => {
    const dir = tree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.dockopt.json': JSON.stringify({ $schema: './node_modules/dockopt/schema/dockopt.schema.json', extendSelect: ['non-root'], unsafeFixes: true, overrides: [{ files: ['legacy/**'], select: ['merge-runs'], unsafeFixes: false }] }),
      'app/Dockerfile': APT,
      'legacy/Dockerfile': APT,
    });
    expect(checked([], dir)).toBe('app/Dockerfile: non-root:1, merge-runs:2, pkg-cleanup:2\nlegacy/Dockerfile: merge-runs:2\n');
    expect(checked(['--ignore', 'non-root'], dir)).toBe('app/Dockerfile: merge-runs:2, pkg-cleanup:2\nlegacy/Dockerfile: merge-runs:2\n');
    expect(checked(['--no-unsafe-fixes', '--extend-select', 'pkg-cleanup'], dir)).toBe('app/Dockerfile: merge-runs:2, pkg-cleanup:2\nlegacy/Dockerfile: merge-runs:2, pkg-cleanup:2\n');
  });

  test('list: safe, unsafe or mixed, network, default on or off; --format json', () => {
    const text = dockopt(['list']).stdout;
    expect(text).toMatch(/^exec-form\s+mixed\s+no\s+on\s+/m);
    expect(text).toMatch(/^dockerignore\s+unsafe\s+no\s+off\s+/m);
    const json = JSON.parse(dockopt(['list', '--format', 'json']).stdout) as { id: string; fixes: string; network: boolean; default: boolean }[];
    expect(json.filter((row) => row.default).map((row) => row.id)).toEqual(['merge-runs', 'pkg-cleanup', 'cache-deps', 'exec-form']);
    expect(json.filter((row) => row.network).map((row) => row.id)).toEqual(['pin-base']);
  });
});

describe('2. messages that tell the truth about the net change', () => {
  test('a fix a later pass undid is not reported, in text, json, sarif and markdown', () => {
    const dir = tree({ Dockerfile: APK });
    const text = dockopt(['fix', '.'], { cwd: dir });
    expect(text.stdout).toBe('--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,3 +1,2 @@\n FROM alpine:3.20\n-RUN apk update\n RUN apk add --no-cache curl\n');
    expect(lines(text.stderr)).toEqual(['Dockerfile:2: pkg-cleanup: remove `apk update` (`apk add --no-cache` fetches a fresh index itself)', '1 file scanned, 1 would change, 1 fix, 0 errors']);
    const json = JSON.parse(dockopt(['fix', '--format', 'json', '.'], { cwd: dir }).stdout);
    expect(Object.keys(json.files[0].transforms)).toEqual(['pkg-cleanup']);
    expect(json.summary.fixes).toBe(1);
    const sarif = JSON.parse(dockopt(['fix', '--format', 'sarif', '.'], { cwd: dir }).stdout);
    expect(sarif.runs[0].results.map((result: { ruleId: string }) => result.ruleId)).toEqual(['pkg-cleanup']);
    const markdown = dockopt(['fix', '--format', 'markdown', '.'], { cwd: dir }).stdout;
    expect(markdown).toContain('`pkg-cleanup`');
    expect(markdown).not.toContain('merge-runs');
  });

  test("and in migrate's commit message", () => {
    const dir = tree({ Dockerfile: APK });
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' };
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '--all');
    git('-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'initial');
    const result = dockopt(['migrate', '--author', 'Bot <bot@example.com>', dir], { env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' } });
    expect(result.code).toBe(0);
    const message = git('log', '-1', '--format=%B');
    expect(message).toContain('pkg-cleanup');
    expect(message).not.toContain('merge-runs');
  });

  test('dry-run wording: fixes are said in the imperative, and files "would change"; after --write they "changed"', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const dry = dockopt(['fix', '.'], { cwd: dir });
    expect(dry.stderr).toContain('Dockerfile:2: merge-runs: 2 adjacent RUN instructions each add a layer; merge them into one\n');
    expect(dry.stderr).not.toMatch(/\bmerged\b/);
    expect(lines(dry.stderr).at(-1)).toBe('1 file scanned, 1 would change, 1 fix, 0 errors');
    expect(lines(dockopt(['fix', '--write', '.'], { cwd: dir }).stderr).at(-1)).toBe('1 file scanned, 1 changed, 1 fix, 0 errors');
  });

  test('messages are sorted by file and line; the summary counts files, fixes, unsafe fixes held back and errors (once per file)', () => {
    const dir = tree({ 'a/Dockerfile': APT, 'b/Dockerfile': 'FROM a\nFROOM b\nFROOM c\n', 'c/Dockerfile': MERGEABLE });
    const result = dockopt(['fix', '--extend-select', 'non-root', '--unsafe-fixes', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    const messages = lines(result.stderr).filter((line) => /^[abc]\/Dockerfile:\d+: /.test(line) && !/: note: /.test(line));
    expect(messages.map((line) => line.replace(/^([^:]+:\d+: [^:]+):.*$/, '$1'))).toEqual([
      'a/Dockerfile:1: non-root',
      'a/Dockerfile:2: merge-runs',
      'a/Dockerfile:2: pkg-cleanup',
      'a/Dockerfile:2: pkg-cleanup',
      'b/Dockerfile:2: error',
      'c/Dockerfile:2: merge-runs',
    ]);
    expect(lines(result.stderr).at(-1)).toBe('3 files scanned, 2 would change, 5 fixes, 1 error');
  });

  test('--statistics counts per transform instead of the diff', () => {
    const dir = tree({ 'a/Dockerfile': APT, 'b/Dockerfile': MERGEABLE });
    const result = dockopt(['fix', '--statistics', '.'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'transform    fixes  files  unsafe not applied  notes',
      'merge-runs       2      2                   0      0',
      'pkg-cleanup      1      1                   1      0',
    ]);
    expect(lines(result.stderr)).toEqual(['2 files scanned, 2 would change, 3 fixes (1 unsafe not applied), 0 errors', '1 more fix available with --unsafe-fixes (pkg-cleanup 1)']);
  });

  test('--check names each file with its reasons, then the summary; the exit codes are in --help', () => {
    const dir = tree({ Dockerfile: APT, 'ok/Dockerfile': CLEAN });
    const result = dockopt(['fix', '--check', '.'], { cwd: dir });
    expect(result).toMatchObject({ code: 1, stdout: 'Dockerfile: merge-runs:2, pkg-cleanup:2\n' });
    expect(lines(result.stderr)[0]).toBe('2 files scanned, 1 would change, 2 fixes (1 unsafe not applied), 0 errors');
    expect(dockopt(['fix', '--help']).stdout.replace(/\s+/g, ' ')).toContain('Exit codes: 0 nothing to change (or --write succeeded), 1 --check found files that would change, 2 an error');
  });

  test('notes about fixes left alone are shown by default, after every file, one line each with file:line and the transform', () => {
    const dir = tree({ 'a/Dockerfile': 'FROM debian:12\nRUN echo one\n# keep this in its own layer\nRUN echo two\nRUN apt-get install -y curl\n', 'b/Dockerfile': MERGEABLE });
    const result = dockopt(['fix', '.'], { cwd: dir });
    const all = lines(result.stderr);
    const notes = all.filter((line) => / note: /.test(line));
    expect(notes.length).toBeGreaterThan(0);
    for (const note of notes) expect(note).toMatch(/^a\/Dockerfile:\d+: [a-z-]+: note: /);
    // Every note comes after the last change line of every file, before the summary.
    const lastChange = all.findIndex((line) => line.startsWith('b/Dockerfile:2: merge-runs:'));
    expect(all.indexOf(notes[0])).toBeGreaterThan(lastChange);
    expect(all.at(-2)).toMatch(/files scanned/);
    expect(lines(dockopt(['fix', '-q', '.'], { cwd: dir }).stderr)).toEqual([]);
  });
});

describe('3. no silent no-ops', () => {
  test('--diff with --write, --write with stdin, and a switch given a value are errors that say why', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    expect(dockopt(['fix', '--diff', '--write', '.'], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining('--diff and --write cannot be used together') });
    expect(dockopt(['fix', '--write', '-'], { cwd: dir, input: MERGEABLE })).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('--write cannot be used with "-" (stdin)') });
    expect(dockopt(['fix', '--unsafe=maybe', '.'], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining('--unsafe is a switch: give it alone (or --no-unsafe), not "--unsafe=maybe"') });
    expect(dockopt(['fix', '--unsafe-fixes=true', '--check', '.'], { cwd: dir }).code).toBe(1);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(MERGEABLE);
  });

  test('an unknown id on the command line is exit 2 with a did-you-mean; in # dockopt-ignore it is a warning with one', () => {
    const dir = tree({ Dockerfile: 'FROM debian:12\n# dockopt-ignore merge-run\nRUN echo one\nRUN echo two\n' });
    for (const flag of ['--skip', '--ignore', '--select', '--extend-select', '--only']) {
      expect(dockopt(['fix', flag, 'merge-run', '.'], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown transform "merge-run" (did you mean "merge-runs"?)') });
    }
    const result = dockopt(['fix', '.'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Dockerfile:2: dockopt: note: # dockopt-ignore names unknown transform "merge-run" (did you mean "merge-runs"?), so it covers nothing\n');
  });

  test('select: [] or only: [] in a config file or an override is an error at its line', () => {
    const dir = tree({ '.dockopt.json': '{\n  "overrides": [\n    { "files": ["legacy/**"], "only": [] }\n  ]\n}\n', Dockerfile: MERGEABLE });
    const result = dockopt(['fix', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\.dockopt\.json:3:\d+: "only" names no transform: list the ones to run \(to leave files alone, use "exclude"/);
  });

  test('an unknown command suggests the right one', () => {
    expect(dockopt(['fox'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Did you mean fix?') });
  });

  test('a directory without Dockerfiles says so (exit 0); a path that does not exist is an error naming it (exit 2), not a finding at line 1', () => {
    const dir = tree({ 'docs/README.md': '# x\n' });
    const empty = dockopt(['fix', 'docs'], { cwd: dir });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('dockopt: no Dockerfiles found in docs');
    const missing = dockopt(['fix', 'nope'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual(['nope: error: no such file or directory', '0 files scanned, 0 would change, 0 fixes, 1 error']);
  });

  test('--exclude (repeatable) and a config file\'s exclude leave paths out of directory searches; .gitignore is honoured; a file named explicitly still runs', () => {
    const dir = tree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.gitignore': 'generated/\n',
      '.dockopt.json': JSON.stringify({ exclude: ['vendor/'] }),
      'app/Dockerfile': MERGEABLE,
      'legacy/Dockerfile': MERGEABLE,
      'old/Dockerfile.prod': MERGEABLE,
      'vendor/x/Dockerfile': MERGEABLE,
      'generated/Dockerfile': MERGEABLE,
    });
    expect(checked(['--exclude', 'legacy/', '--exclude', '*.prod'], dir)).toBe('app/Dockerfile: merge-runs:2\n');
    expect(dockopt(['fix', '--check', '--exclude', 'legacy/', 'legacy/Dockerfile', 'vendor/x/Dockerfile'], { cwd: dir }).stdout).toBe('legacy/Dockerfile: merge-runs:2\nvendor/x/Dockerfile: merge-runs:2\n');
  });
});

describe('4. output details reviewers notice', () => {
  test('diff headers and messages use paths relative to the current directory, as git diff does', () => {
    const dir = tree({ 'svc/Dockerfile': MERGEABLE });
    const result = dockopt(['fix', path.join(dir, 'svc', 'Dockerfile')], { cwd: dir });
    expect(result.stdout.split('\n').slice(0, 2)).toEqual(['--- a/svc/Dockerfile', '+++ b/svc/Dockerfile']);
    expect(result.stderr).toContain('svc/Dockerfile:2: merge-runs:');
  });

  test("a RUN keeps its continuation style and indentation, also when two transforms add to it", () => {
    const dir = tree({ Dockerfile: 'FROM debian:12\nRUN apt-get update \\\n  && apt-get install -y curl\nRUN echo done\n' });
    const result = dockopt(['fix', '--write', '.'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM debian:12\nRUN apt-get update \\\n  && apt-get install -y curl \\\n  && echo done \\\n  && rm -rf /var/lib/apt/lists/*\n');
    const trailing = tree({ Dockerfile: 'FROM node:20\nRUN npm ci && \\\n\tnpm run build\nRUN npm test\n' });
    dockopt(['fix', '--write', '.'], { cwd: trailing });
    expect(readFileSync(path.join(trailing, 'Dockerfile'), 'utf8')).toBe('FROM node:20\nRUN npm ci && \\\n\tnpm run build && \\\n\tnpm test && \\\n\tnpm cache clean --force\n');
  });

  test('colour: FORCE_COLOR on a pipe, NO_COLOR off, --color always/never decide', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const red = '\u001b[31m-RUN echo two';
    expect(dockopt(['fix', '.'], { cwd: dir }).stdout).not.toContain('\u001b[');
    expect(dockopt(['fix', '.'], { cwd: dir, env: { FORCE_COLOR: '1' } }).stdout).toContain(red);
    expect(dockopt(['fix', '.'], { cwd: dir, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }).stdout).not.toContain('\u001b[');
    expect(dockopt(['fix', '--color', 'always', '.'], { cwd: dir, env: { NO_COLOR: '1' } }).stdout).toContain(red);
    expect(dockopt(['fix', '--color=never', '.'], { cwd: dir, env: { FORCE_COLOR: '1' } }).stdout).not.toContain('\u001b[');
  });

  test('on a terminal the progress bar fits its width, says "would change", and each file is printed as it is done, not in one dump after the bar', () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 210; index++) files[`svc-${String(index).padStart(3, '0')}/Dockerfile`] = MERGEABLE;
    const dir = tree(files);
    // script(1) gives the command a terminal of 70 columns.
    const result = spawnSync('script', ['-qec', `stty cols 70; ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} fix .`, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' } });
    expect(result.status).toBe(0);
    const output = result.stdout;
    const draws = [...output.matchAll(/\r(\[[#.]+\][^\r\u001b]*)\u001b\[K/g)].map((match) => match[1]);
    expect(draws[0]).toBe(`[${'.'.repeat(29)}] 0/210 files, 0 would change, 0 errors`);
    for (const draw of draws) expect(draw.length).toBeLessThan(70);
    // The first diff comes before the bar's last drawing: the files are printed while the bar runs.
    expect(output.indexOf('--- a/svc-000/Dockerfile')).toBeLessThan(output.lastIndexOf(draws.at(-1)!));
    expect(output.trimEnd().endsWith('210 files scanned, 210 would change, 210 fixes, 0 errors')).toBe(true);
  });

  test('a .dockerignore is not counted as a scanned Dockerfile', () => {
    const dir = tree({ Dockerfile: MERGEABLE, '.git/HEAD': 'x\n' });
    const result = dockopt(['fix', '--unsafe', '.'], { cwd: dir });
    expect(lines(result.stderr).at(-1)).toBe('1 file scanned, 1 would change, 1 .dockerignore would change, 2 fixes, 0 errors');
    expect(existsSync(path.join(dir, '.dockerignore'))).toBe(false);
  });
});

describe('the README', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

  test('its quick start works as written: a dry run, review, then --write', () => {
    const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
    // The install line is what test/package-install.test.ts does; the steps after it run here.
    expect(blocks[0]).toContain('npm pack && npm install -g ./dockopt-*.tgz');
    const commands = blocks[1].split('\n').filter((line) => line.startsWith('dockopt '));
    expect(commands.map((command) => command.replace(/\s+#.*$/, ''))).toEqual(['dockopt fix .', 'dockopt fix --check .', 'dockopt fix --write .', 'dockopt fix --check .']);
    const dir = tree({ Dockerfile: APT });
    const codes = commands.map((command) => dockopt(command.replace(/\s+#.*$/, '').split(' ').slice(1), { cwd: dir }).code);
    expect(codes).toEqual([0, 1, 0, 0]);
  });

  test('documents the selection model, exit codes, the CI recipes and the migrate workflow', () => {
    for (const heading of ['## Quick start', '### Choosing transforms', '### Exit codes', '### GitHub Actions', '### GitLab CI', '### pre-commit', '### Migrating many repositories']) expect(readme).toContain(heading);
    for (const flag of ['--select', '--extend-select', '--ignore', '--unsafe-fixes', '--no-unsafe-fixes', '--only', '--unsafe', '--exclude', '--statistics', '--color']) expect(readme).toContain(`\`${flag}`);
  });
});
