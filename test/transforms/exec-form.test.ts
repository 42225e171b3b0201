import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { DockerfileDocument } from '../../src/dockerfile/document.js';
import { initShell } from '../../src/shell/script.js';
import transform, { literalCommand } from '../../transforms/exec-form/index.js';
import { defineFixtureTests, runTransform } from '../helpers/fixtures.js';

defineFixtureTests(transform);

test('the docs example is exactly what the transform produces', async () => {
  const result = await runTransform(transform, transform.meta.docs.example.before);
  expect(result.output).toBe(transform.meta.docs.example.after);
});

describe('literalCommand', () => {
  beforeAll(() => initShell());

  test.each([
    ['node server.js', ['node', 'server.js']],
    [`node 'a b' "c d" e\\ f --x="y"z ''`, ['node', 'a b', 'c d', 'e f', '--x=yz', '']],
    [`app "a\\"b" "c\\\\d" "e\\nf" 'g\\h'`, ['app', 'a"b', 'c\\d', 'e\\nf', 'g\\h']],
    ['exec node a', ['node', 'a']],
    ['exec echo hi', ['echo', 'hi']],
  ])('%s is the argv %j', (script, argv) => {
    const command = literalCommand(script);
    expect('words' in command && command.words.map((word) => word.value)).toEqual(argv);
  });

  test.each([
    ['node $PORT', 'variable expansion'],
    ['node "${A}"', 'variable expansion'],
    ['node *.js', 'glob'],
    ['node a && b', '`&&`/`||`'],
    ['node a > log', 'redirection'],
    ['A=1 node', 'variable assignment'],
    ['node ~/a', 'tilde'],
    ['node {a,b}', 'brace'],
    ['node a &', '`&`'],
    ['echo hi', 'builtin'],
    ['exec', 'without a command'],
    ["['node']", 'not a JSON array'],
  ])('%s is refused (%s)', (script, reason) => {
    const command = literalCommand(script);
    expect('refused' in command && command.refused).toContain(reason);
  });
});

// ---- the program must receive the argv the shell gave it ----------------------------------------
//
// A program that prints its arguments is put on PATH under the name the CMD
// runs. The shell form is run as the image would run it (`/bin/sh -c TEXT`,
// or the SHELL given), the exec form by execve of the JSON array, and the two
// argument lists must be identical.

describe('the exec form passes the program the arguments the shell did', () => {
  let bin: string;

  beforeAll(async () => {
    await initShell();
    bin = mkdtempSync(path.join(tmpdir(), 'exec-form-'));
    const printer = path.join(bin, 'printargs');
    writeFileSync(printer, '#!/bin/sh\nfor arg in "$@"; do printf \'%s\\0\' "$arg"; done\n');
    chmodSync(printer, 0o755);
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const environment = () => ({ PATH: bin, LC_ALL: 'C' });

  function shellArgs(shell: readonly string[], script: string): string[] | undefined {
    const run = spawnSync(shell[0], [...shell.slice(1), script], { env: environment(), encoding: 'utf8', timeout: 5000 });
    return run.status === 0 ? run.stdout.split('\0').slice(0, -1) : undefined;
  }

  function execArgs(argv: readonly string[]): string[] | undefined {
    const program = argv[0].includes('/') ? argv[0] : path.join(bin, argv[0]);
    const run = spawnSync(program, argv.slice(1), { env: environment(), encoding: 'utf8', timeout: 5000 });
    return run.status === 0 ? run.stdout.split('\0').slice(0, -1) : undefined;
  }

  /** The CMD of the rewritten Dockerfile, when it is exec form now. */
  function execFormCmd(output: string): string[] | undefined {
    const doc = new DockerfileDocument(output);
    const cmd = doc.instructions.find((instruction) => instruction.keyword === 'CMD')!;
    const content = (cmd.node.getArgumentsContent() ?? '').trim();
    return content.startsWith('[') ? (JSON.parse(content) as string[]) : undefined;
  }

  const dockerfile = (script: string, shell?: readonly string[]) =>
    ['FROM debian:bookworm-slim', ...(shell ? [`SHELL ${JSON.stringify(shell)}`] : []), `CMD ${script}`, ''].join('\n');

  test.each([
    ['printargs server.js --port 8000'],
    [`printargs 'two words' "double \\"quoted\\"" back\\ slash "\\n and \\\\" '' --opt="a b"c`],
    ['exec printargs --flag=1 -- tail'],
    [`printargs "dollar \\$ and backtick \\\`" 'single $HOME' é,ü:=+@%^`],
  ])('%s', async (script) => {
    const result = await runTransform(transform, dockerfile(script));
    const argv = execFormCmd(result.output);
    expect(argv).toBeDefined();
    const expected = shellArgs(['/bin/sh', '-c'], script);
    expect(expected).toBeDefined();
    expect(execArgs(argv!)).toEqual(expected);
  });

  // Words of awkward characters, written with every kind of quoting, or raw
  // (where the characters may be shell syntax the transform has to refuse).
  const CHARS = ['a', 'b', '-', '=', '.', '/', ' ', '\t', '"', "'", '\\', '$', '`', '*', '?', '[', ']', '~', '{', '}', ',', '#', ';', '&', '|', '<', '>', '(', ')', '!', 'é', '%', 'n'];
  const word = fc.array(fc.constantFrom(...CHARS), { maxLength: 6 }).map((chars) => chars.join(''));
  const quoted = (text: string, style: string): string => {
    if (style === 'raw') return text;
    if (style === 'single' && !text.includes("'")) return `'${text}'`;
    if (style === 'double') return `"${text.replace(/[\\"$`]/g, '\\$&')}"`;
    if (text === '') return "''";
    return text.replace(/[^A-Za-z0-9]/g, '\\$&');
  };
  const rendered = fc.tuple(word, fc.constantFrom('raw', 'single', 'double', 'backslash')).map(([text, style]) => quoted(text, style));

  test('random words keep their meaning, or the CMD is left alone', async () => {
    let converted = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rendered, { minLength: 1, maxLength: 4 }), fc.constantFrom(undefined, ['/bin/bash', '-c'], ['/bin/sh', '-e', '-c']), async (words, shell) => {
        const script = ['printargs', ...words].join(' ');
        fc.pre(!/\\$|^\s|\s$/.test(script));
        runs++;
        const result = await runTransform(transform, dockerfile(script, shell));
        const argv = execFormCmd(result.output);
        if (!argv) return;
        converted++;
        expect({ script, argv: execArgs(argv) }).toEqual({ script, argv: shellArgs(shell ?? ['/bin/sh', '-c'], script) });
      }),
      { numRuns: 200 },
    );
    // The property says nothing if the transform refuses everything.
    expect(converted).toBeGreaterThan(runs / 4);
  });
});
