// Three rewrites where the Dockerfile says more than it means, each applied
// only where it is exact:
//  - a shell-form CMD/ENTRYPOINT whose command the shell would only split into
//    words becomes the JSON (exec) form, so the program runs as PID 1 and gets
//    the SIGTERM of `docker stop` instead of a shell that may not pass it on;
//  - the deprecated MAINTAINER becomes the org.opencontainers.image.authors label;
//  - ADD of local files or directories becomes COPY, so nothing is fetched or
//    unpacked by surprise.
// The command is read with tree-sitter-bash and decoded with the shell's own
// quoting rules; anything the shell would do beyond splitting words (variables,
// globs, operators, redirections, builtins, startup files) leaves it alone with
// a note. What runs the command also matters: the SHELL in effect, and the
// ENTRYPOINT that receives a CMD as its arguments, inherited from the base image
// when the Dockerfile sets none.
import path from 'node:path';
import type { InstructionInfo, DockerfileDocument, Stage } from '../../src/dockerfile/document.js';
import { propertiesOf, stageBase } from '../../src/image/base-image.js';
import { tryParseImageReference } from '../../src/image/reference.js';
import { argumentsStart, escapeRegExp, hasHeredoc, isExecForm, parseShell, shellScript, sourceSpan, type ShellNode, type ShellScript } from '../../src/shell/script.js';
import { defineTransform, Edit, type Finding, type Safety } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

export default defineTransform({
  meta: {
    id: 'exec-form',
    title: 'Use exec form, LABEL and COPY where they are exact',
    description:
      'Rewrites shell-form CMD/ENTRYPOINT without shell syntax in exec (JSON) form, MAINTAINER as the org.opencontainers.image.authors label, and ADD of local non-archive sources as COPY.',
    safety: 'safe',
    hasUnsafeFixes: true,
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  run(ctx) {
    const findings: Finding[] = [];
    for (const instruction of ctx.doc.instructions) {
      if (ctx.isIgnored(instruction.start)) continue;
      const finding = rewrite(ctx.doc, instruction);
      if (finding) findings.push(finding);
    }
    return findings;
  },
});

function rewrite(doc: DockerfileDocument, instruction: InstructionInfo): Finding | undefined {
  switch (instruction.keyword) {
    case 'CMD':
      return rewriteCmd(doc, instruction);
    case 'ENTRYPOINT':
      return rewriteEntrypoint(doc, instruction);
    case 'MAINTAINER':
      return rewriteMaintainer(doc, instruction);
    case 'ADD':
      return rewriteAdd(doc, instruction);
    default:
      return undefined;
  }
}

// ---- CMD and ENTRYPOINT ----------------------------------------------------------------------

function rewriteCmd(doc: DockerfileDocument, instruction: InstructionInfo): Finding | undefined {
  const script = shellScript(doc, instruction);
  if (!script) return undefined;
  const note = (reason: string): Finding => ({ offset: instruction.start, message: `CMD left in shell form: ${reason}` });
  const stage = doc.stages[instruction.stage];
  const chain = stageBase(doc, stage.index);
  const shell = shellInEffect(doc, chain.chain, instruction);
  const shellIssue = shellProblem(shell, bashEnvSet(chain.chain, instruction));
  if (shellIssue) return note(shellIssue);
  const command = literalCommand(script.script);
  if ('refused' in command) return note(command.refused);
  const split = splitWord(doc, script, command);
  if (split) return note(split);
  const entrypoint = entrypointInEffect(chain.chain, chain.reference, chain.unresolved);
  const argv = command.words.map((word) => word.value);
  if (entrypoint.kind === 'dockerfile') {
    const line = doc.lineOf(entrypoint.instruction.start);
    if (entrypoint.shellForm) return note(`the shell-form ENTRYPOINT on line ${line} ignores it`);
    return note(`it is the argument list of the ENTRYPOINT on line ${line}, which would receive ${quoteArgv(argv)} instead of ${quoteArgv([...shell.argv, script.script.trim()])}`);
  }
  if (entrypoint.kind === 'pass-through' && argv[0].startsWith('-')) {
    return note(`the entrypoint of ${entrypoint.image} would treat ${quoteArgv(argv.slice(0, 1))} as an option for its own program`);
  }
  const risks: string[] = [];
  if (entrypoint.kind === 'unknown') {
    risks.push(`${entrypoint.image} may have an ENTRYPOINT, which would receive ${quoteArgv(argv)} instead of ${quoteArgv([...shell.argv, script.script.trim()])}`);
  }
  const scriptRisk = shebangRisk(argv[0]);
  if (scriptRisk) risks.push(scriptRisk);
  const safety: Safety = risks.length > 0 ? 'unsafe' : 'safe';
  return {
    offset: instruction.start,
    message: `${purpose('CMD', command, shell)}; write it in exec form${risks.length > 0 ? ` (check: ${risks.join('; ')})` : ''}`,
    edits: execFormEdits(doc, script, command),
    safety,
  };
}

function rewriteEntrypoint(doc: DockerfileDocument, instruction: InstructionInfo): Finding | undefined {
  const script = shellScript(doc, instruction);
  if (!script) return undefined;
  const note = (reason: string): Finding => ({ offset: instruction.start, message: `ENTRYPOINT left in shell form: ${reason}` });
  const stage = doc.stages[instruction.stage];
  const chain = stageBase(doc, stage.index).chain;
  const shell = shellInEffect(doc, chain, instruction);
  const shellIssue = shellProblem(shell, bashEnvSet(chain, instruction));
  if (shellIssue) return note(shellIssue);
  const command = literalCommand(script.script);
  if ('refused' in command) return note(command.refused);
  const split = splitWord(doc, script, command);
  if (split) return note(split);
  const cmd = cmdReaching(doc, stage);
  if (cmd) return note(`the CMD on line ${doc.lineOf(cmd.start)} would become its arguments (the shell form ignores them)`);
  const risks = ['in exec form it receives the arguments of `docker run IMAGE args`, which the shell form ignored'];
  const scriptRisk = shebangRisk(command.words[0].value);
  if (scriptRisk) risks.push(scriptRisk);
  return {
    offset: instruction.start,
    message: `${purpose('ENTRYPOINT', command, shell)}; write it in exec form (check: ${risks.join('; ')})`,
    edits: execFormEdits(doc, script, command),
    safety: 'unsafe',
  };
}

function purpose(keyword: string, command: LiteralCommand, shell: ShellInEffect): string {
  const program = `\`${command.words[0].value}\``;
  if (command.exec) return `shell-form ${keyword} starts \`${shell.argv.join(' ')}\` only to exec ${program}`;
  return `shell-form ${keyword} runs ${program} under \`${shell.argv.join(' ')}\`, which may keep docker stop's SIGTERM from it`;
}

function quoteArgv(argv: readonly string[]): string {
  return `\`${JSON.stringify(argv)}\``;
}

/** The kernel runs a script by its `#!` line; without one only a shell falls back to running it itself. */
function shebangRisk(program: string): string | undefined {
  if (!/\.(sh|bash)$/i.test(program)) return undefined;
  return `${program} must start with a #! line: the shell ran it without one, exec form cannot`;
}

/** A word continued over two lines would lose the line break (and any comment line) inside it. */
function splitWord(doc: DockerfileDocument, script: ShellScript, command: LiteralCommand): string | undefined {
  for (const word of command.words) {
    const span = sourceSpan(script, word.start, word.end);
    if (/[\r\n]/.test(doc.text.slice(span.start, span.end))) return `the word \`${word.value}\` is continued over two lines`;
  }
  return undefined;
}

/**
 * Edits turning the command into a JSON array in place: each word is replaced
 * by its JSON string (with the `[`, `,` or `]` next to it), so the blanks,
 * continuations and comment lines between words stay where they are.
 */
function execFormEdits(doc: DockerfileDocument, script: ShellScript, command: LiteralCommand): Edit[] {
  const edits: Edit[] = [];
  const words = command.words;
  let openAt = sourceSpan(script, words[0].start, words[0].end).start;
  if (command.exec) {
    const execSpan = sourceSpan(script, command.exec.start, command.exec.end);
    // `exec node` on one line loses `exec ` entirely; before a continuation, `exec` and the blanks after it go.
    if (/[\r\n]/.test(doc.text.slice(execSpan.start, openAt))) {
      const blanks = /^[ \t]*/.exec(doc.text.slice(execSpan.end))![0];
      edits.push(Edit.remove(execSpan.start, execSpan.end + blanks.length));
    } else {
      openAt = execSpan.start;
    }
  }
  words.forEach((word, index) => {
    const span = sourceSpan(script, word.start, word.end);
    const open = index === 0 ? '[' : '';
    const close = index === words.length - 1 ? ']' : ',';
    edits.push(Edit.replace(index === 0 ? openAt : span.start, span.end, `${open}${JSON.stringify(word.value)}${close}`));
  });
  return edits;
}

// ---- the command, word by word -------------------------------------------------------------

interface LiteralWord {
  /** Script indices of the word as written. */
  readonly start: number;
  readonly end: number;
  /** The argument the program receives. */
  readonly value: string;
}

interface LiteralCommand {
  /** The argv, without a leading `exec`. */
  readonly words: readonly LiteralWord[];
  /** Script indices of a leading `exec`. */
  readonly exec?: { readonly start: number; readonly end: number };
}

/** Shell builtins and keywords: in exec form the name would run a different program, or none. */
const SHELL_BUILTINS = new Set(
  (
    '. : [ [[ ]] ! { } alias bg bind break builtin caller case cd command compgen complete compopt continue coproc declare dirs disown do done ' +
    'echo elif else enable esac eval exit export false fc fg fi for function getopts hash help history if in jobs kill let local logout mapfile ' +
    'popd printf pushd pwd read readarray readonly return select set shift shopt source suspend test then time times trap true type typeset ' +
    'ulimit umask unalias unset until wait while'
  ).split(' '),
);

/** Node types with a name users recognise, for the note. */
const SHELL_SYNTAX: Readonly<Record<string, string>> = {
  list: '`&&`/`||`',
  pipeline: 'a pipe',
  redirected_statement: 'a redirection',
  file_redirect: 'a redirection',
  heredoc_redirect: 'a heredoc',
  herestring_redirect: 'a here-string',
  variable_assignment: 'a variable assignment',
  simple_expansion: 'variable expansion',
  expansion: 'variable expansion',
  command_substitution: 'command substitution',
  process_substitution: 'process substitution',
  arithmetic_expansion: 'arithmetic expansion',
  ansi_c_string: "$'…' quoting",
  translated_string: '$"…" quoting',
  subshell: 'a subshell',
  compound_statement: 'a { …; } group',
  negated_command: '`!`',
  comment: 'a shell comment, which exec form cannot keep',
};

/** Nodes a literal word can be; literalValue decides whether it really is one. */
const WORD_NODES = new Set(['command_name', 'word', 'number', 'raw_string', 'string', 'concatenation']);

export function literalCommand(script: string): LiteralCommand | { refused: string } {
  const refused = (reason: string) => ({ refused: reason });
  if (script.trimStart().startsWith('[')) return refused('it looks like exec form but is not a JSON array of double-quoted strings, so it runs as a shell command');
  const tree = parseShell(script);
  try {
    const root = tree.rootNode;
    if (root.hasError) return refused('it does not parse as a shell command');
    const syntax = root.descendantsOfType(Object.keys(SHELL_SYNTAX)).find((node) => node !== null);
    if (syntax) return refused(`it uses shell syntax (${SHELL_SYNTAX[syntax.type]})`);
    const statements = root.namedChildren.filter((node): node is ShellNode => node !== null);
    if (statements.length !== 1) return refused('it is more than one command');
    if (statements[0].type !== 'command') return refused(`it uses shell syntax (${statements[0].type.replace(/_/g, ' ')})`);
    const command = statements[0];
    // Anything outside the command (`;`, `&`) is shell syntax too.
    if (script.slice(0, command.startIndex).trim() !== '' || script.slice(command.endIndex).trim() !== '') return refused('it uses shell syntax (`;` or `&`)');
    // Every piece of the command must be a word: tree-sitter leaves some characters (a lone `$`) as unnamed tokens.
    const parts = command.children.filter((node): node is ShellNode => node !== null);
    const words: LiteralWord[] = [];
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index];
      if (!WORD_NODES.has(part.type)) return refused(`it uses shell syntax (\`${part.text}\`)`);
      if (index > 0 && !/^[ \t]+$/.test(script.slice(parts[index - 1].endIndex, part.startIndex))) return refused('its words are not separated by blanks only');
      const decoded = literalValue(part.text);
      if ('refused' in decoded) return decoded;
      words.push({ start: part.startIndex, end: part.endIndex, value: decoded.value });
    }
    let argv = words;
    let exec: LiteralCommand['exec'];
    if (argv[0]?.value === 'exec') {
      exec = { start: argv[0].start, end: argv[0].end };
      argv = argv.slice(1);
      if (argv.length === 0 || argv[0].value.startsWith('-')) return refused('`exec` with options or without a command');
    } else if (argv.length > 0 && SHELL_BUILTINS.has(argv[0].value)) {
      return refused(`\`${argv[0].value}\` is a shell builtin or keyword; without the shell another program (or none) would run`);
    }
    if (argv.length === 0 || argv[0].value === '') return refused('it has no command name');
    return { words: argv, ...(exec && { exec }) };
  } finally {
    tree.delete();
  }
}

/** Characters a shell takes literally outside quotes (bash's brace expansion and `~` excluded). */
const LITERAL_CHAR = /^[A-Za-z0-9_\-.,/:=+@%^\u0080-\uffff]$/;

/** The value of one shell word after quote removal, when it involves no expansion at all. */
export function literalValue(text: string): { value: string } | { refused: string } {
  let value = '';
  let index = 0;
  const refuse = (char: string) => ({ refused: `it uses shell syntax (${describeChar(char)})` });
  while (index < text.length) {
    const char = text[index];
    if (char === "'") {
      const close = text.indexOf("'", index + 1);
      if (close < 0) return { refused: 'it has an unterminated quote' };
      value += text.slice(index + 1, close);
      index = close + 1;
    } else if (char === '"') {
      index++;
      for (;;) {
        if (index >= text.length) return { refused: 'it has an unterminated quote' };
        const inner = text[index];
        if (inner === '"') break;
        if (inner === '$' || inner === '`') return refuse(inner);
        // Inside double quotes a backslash escapes only $ ` " \ (and newline); before anything else it stays.
        if (inner === '\\' && index + 1 < text.length && '$`"\\'.includes(text[index + 1])) {
          value += text[index + 1];
          index += 2;
        } else {
          value += inner;
          index++;
        }
      }
      index++;
    } else if (char === '\\') {
      if (index + 1 >= text.length || /[\r\n]/.test(text[index + 1])) return { refused: 'it ends in a backslash' };
      value += text[index + 1];
      index += 2;
    } else if (LITERAL_CHAR.test(char)) {
      value += char;
      index++;
    } else {
      return refuse(char);
    }
  }
  return { value };
}

function describeChar(char: string): string {
  if (char === '$') return 'variable expansion';
  if (char === '`') return 'command substitution';
  if ('*?['.includes(char)) return `the glob \`${char}\``;
  if (char === '~') return 'tilde expansion';
  if ('{}'.includes(char)) return 'brace expansion';
  return `\`${char}\``;
}

// ---- what runs the command ----------------------------------------------------------------

interface ShellInEffect {
  readonly argv: readonly string[];
  /** Where it came from, for notes. */
  readonly source: string;
  /** The SHELL is not a JSON array of strings. */
  readonly unreadable?: boolean;
}

const DEFAULT_SHELL: ShellInEffect = { argv: ['/bin/sh', '-c'], source: 'the default shell' };

/** The SHELL a shell-form instruction runs with: the last SHELL before it in its stage or the stages it is built on. */
function shellInEffect(doc: DockerfileDocument, chain: readonly Stage[], instruction: InstructionInfo): ShellInEffect {
  for (let index = chain.length - 1; index >= 0; index--) {
    const stage = chain[index];
    const before = stage.instructions.filter((candidate) => candidate.keyword === 'SHELL' && candidate.start < instruction.start);
    const last = before[before.length - 1];
    if (last) {
      const content = last.node.getArgumentsContent() ?? '';
      const argv = isExecForm(content) ? (JSON.parse(content.trim()) as string[]) : undefined;
      const source = `SHELL on line ${doc.lineOf(last.start)}`;
      return argv && argv.length > 0 ? { argv, source } : { argv: [content], source, unreadable: true };
    }
  }
  const from = chain[0].from;
  const fromText = doc.text.slice(from.start, from.end);
  if (/windows|servercore|nanoserver/i.test(fromText)) return { argv: ['cmd', '/S', '/C'], source: 'a Windows base image' };
  return DEFAULT_SHELL;
}

const POSIX_SHELLS = new Set(['sh', 'bash', 'dash', 'ash']);
const SHELL_OPTION_NAMES = new Set(['errexit', 'nounset', 'pipefail', 'noglob']);

/** Why the shell does more than split words before running a simple command, or undefined. */
function shellProblem(shell: ShellInEffect, bashEnv: boolean): string | undefined {
  if (shell.unreadable) return `the ${shell.source} is not a JSON array dockopt understands`;
  const name = path.posix.basename(shell.argv[0].replace(/\\/g, '/')).replace(/\.exe$/i, '').toLowerCase();
  if (!POSIX_SHELLS.has(name)) return `it runs under ${shell.source} (\`${shell.argv.join(' ')}\`), which is not a POSIX shell`;
  const flags = shell.argv.slice(1);
  // -x/-v print the command, -l/-i read startup files, anything else is not known to be harmless.
  for (let index = 0; index < flags.length; index++) {
    const flag = flags[index];
    const optionName = index > 0 && /^-[a-z]*o$/.test(flags[index - 1]);
    if (optionName ? SHELL_OPTION_NAMES.has(flag) : /^-[eufoc]+$/.test(flag) || flag === '--noprofile' || flag === '--norc') continue;
    return `the ${shell.source} runs \`${shell.argv.join(' ')}\`, whose \`${flag}\` does more than run the command`;
  }
  if (!/^-[a-z]*c$/.test(flags[flags.length - 1] ?? '')) return `the ${shell.source} does not end in -c`;
  if (name === 'bash' && bashEnv) return 'BASH_ENV is set, so bash reads that file before running the command';
  return undefined;
}

/** Whether an ENV before the instruction, in its stage or those it is built on, sets BASH_ENV (which bash -c sources). */
function bashEnvSet(chain: readonly Stage[], instruction: InstructionInfo): boolean {
  return chain.some((stage) =>
    stage.instructions.some((candidate) => candidate.keyword === 'ENV' && candidate.start < instruction.start && propertiesOf(candidate).some((property) => property.name === 'BASH_ENV')),
  );
}

type EntrypointInEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'dockerfile'; readonly instruction: InstructionInfo; readonly shellForm: boolean }
  /** An official image whose entrypoint execs its arguments unless the first one starts with `-`. */
  | { readonly kind: 'pass-through'; readonly image: string }
  | { readonly kind: 'unknown'; readonly image: string };

/** Official images without an ENTRYPOINT. */
const NO_ENTRYPOINT = new Set(['alpine', 'busybox', 'debian', 'ubuntu', 'fedora', 'centos', 'python', 'ruby', 'golang', 'rust', 'perl', 'gcc']);
/** Official images whose entrypoint script runs `exec "$@"` unless $1 starts with `-` (node also when $1 is not a command, which the shell form could not run either). */
const PASS_THROUGH_ENTRYPOINT = new Set(['node', 'php']);

/** The ENTRYPOINT a stage's CMD is handed to: set by the stage or those it is built on, else the base image's. */
function entrypointInEffect(chain: readonly Stage[], reference: string | undefined, unresolved: string | undefined): EntrypointInEffect {
  for (let index = chain.length - 1; index >= 0; index--) {
    const entrypoints = chain[index].instructions.filter((candidate) => candidate.keyword === 'ENTRYPOINT');
    const last = entrypoints[entrypoints.length - 1];
    if (!last) continue;
    const content = last.node.getArgumentsContent() ?? '';
    // `ENTRYPOINT []` clears it.
    if (isExecForm(content) && (JSON.parse(content.trim()) as string[]).length === 0) return { kind: 'none' };
    return { kind: 'dockerfile', instruction: last, shellForm: !isExecForm(content) };
  }
  if (reference === undefined) return { kind: 'unknown', image: `the base image \`${unresolved ?? ''}\`` };
  if (reference.toLowerCase() === 'scratch') return { kind: 'none' };
  const image = tryParseImageReference(reference);
  const official = image && image.registry === 'docker.io' && image.repository.startsWith('library/') ? image.repository.slice('library/'.length) : undefined;
  if (official && NO_ENTRYPOINT.has(official)) return { kind: 'none' };
  if (official && PASS_THROUGH_ENTRYPOINT.has(official)) return { kind: 'pass-through', image: `the official ${official} image` };
  return { kind: 'unknown', image: `the base image \`${reference}\`` };
}

/** A CMD that an ENTRYPOINT of this stage would receive: in the stage itself, or in a later stage built on it that sets no ENTRYPOINT. */
function cmdReaching(doc: DockerfileDocument, stage: Stage): InstructionInfo | undefined {
  const own = stage.instructions.find((candidate) => candidate.keyword === 'CMD');
  if (own) return own;
  for (const later of doc.stages.slice(stage.index + 1)) {
    const chain = stageBase(doc, later.index).chain;
    const position = chain.indexOf(stage);
    if (position < 0) continue;
    const between = chain.slice(position + 1);
    if (between.some((candidate) => candidate.instructions.some((info) => info.keyword === 'ENTRYPOINT'))) continue;
    const cmd = between.flatMap((candidate) => candidate.instructions).find((info) => info.keyword === 'CMD');
    if (cmd) return cmd;
  }
  return undefined;
}

// ---- MAINTAINER --------------------------------------------------------------------------------

const AUTHORS_LABEL = 'org.opencontainers.image.authors';

function rewriteMaintainer(doc: DockerfileDocument, instruction: InstructionInfo): Finding | undefined {
  const start = argumentsStart(doc, instruction);
  if (start === undefined) return undefined;
  const raw = doc.text.slice(start, instruction.end);
  if (/[\r\n]/.test(raw)) return { offset: instruction.start, message: 'MAINTAINER continued over several lines left alone: rewrite it as a LABEL by hand' };
  const author = raw.trim();
  // dockerfile-utils (which checks every fix) misreads a quoted LABEL value that starts with a quote character.
  if (/^["']/.test(author)) return { offset: instruction.start, message: 'MAINTAINER starting with a quote left alone: rewrite it as a LABEL by hand' };
  const stage = doc.stages[instruction.stage];
  const labelled = stage.instructions.some((candidate) => candidate.keyword === 'LABEL' && propertiesOf(candidate).some((property) => property.name === AUTHORS_LABEL));
  if (labelled) {
    return {
      offset: instruction.start,
      message: `MAINTAINER is deprecated and this stage already sets the ${AUTHORS_LABEL} label; remove MAINTAINER (the image config's Author field goes)`,
      edits: [removeLine(doc, instruction)],
      safety: 'unsafe',
    };
  }
  const keyword = keywordText(doc, instruction) === 'maintainer' ? 'label' : 'LABEL';
  const value = author.replace(new RegExp(`["$]|${escapeRegExp(doc.escape)}`, 'g'), (char) => `${doc.escape}${char}`);
  return {
    offset: instruction.start,
    message: `MAINTAINER is deprecated; write it as the ${AUTHORS_LABEL} label (the image config's Author field becomes a label)`,
    edits: [Edit.replace(instruction.start, instruction.end, `${keyword} ${AUTHORS_LABEL}="${value}"`)],
    safety: 'unsafe',
  };
}

/** The edit removing an instruction's whole line with its line break (the one before it on a last line without one). */
function removeLine(doc: DockerfileDocument, instruction: InstructionInfo): Edit {
  const lineStart = doc.lineStart(instruction.start);
  const lineEnd = doc.lineEnd(instruction.end);
  const breakAfter = /^(\r\n|\r|\n)?/.exec(doc.text.slice(lineEnd, lineEnd + 2))![0];
  if (breakAfter !== '' || lineStart === 0) return Edit.remove(lineStart, lineEnd + breakAfter.length);
  const breakBefore = doc.text.slice(lineStart - 2, lineStart) === '\r\n' ? 2 : 1;
  return Edit.remove(lineStart - breakBefore, lineEnd);
}

function keywordText(doc: DockerfileDocument, instruction: InstructionInfo): string {
  const span = doc.span(instruction.node.getInstructionRange());
  return doc.text.slice(span.start, span.end);
}

// ---- ADD ---------------------------------------------------------------------------------------

/** Flags COPY takes with the same meaning. --checksum, --keep-git-dir and --unpack are about fetching and unpacking. */
const COPY_FLAGS = new Set(['chown', 'chmod', 'link', 'exclude']);
const REMOTE_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/)/i;
const ARCHIVE_EXTENSION = /\.(?:tar|gz|tgz|bz2|tbz2?|xz|txz|zst|tzst|lz4|lzma|z)$/i;
/** Extensions of text, source and non-tar formats: a file named so is not an archive ADD would unpack. */
const NON_ARCHIVE_EXTENSIONS = new Set(
  (
    'js mjs cjs ts mts cts jsx tsx json jsonc yaml yml toml ini cfg conf config env properties xml html htm css scss sass less md txt csv sql ' +
    'py rb php pl pm go mod sum rs java kt kts scala groovy gradle c h cc cpp hpp cs swift lua r sh bash ps1 lock pem crt key ' +
    'svg png jpg jpeg gif ico webp woff woff2 ttf jar war ear'
  ).split(' '),
);
const NON_ARCHIVE_NAMES = new Set(['Dockerfile', 'Makefile', 'Gemfile', 'Procfile', 'Pipfile', 'Rakefile', 'LICENSE', '.npmrc', '.yarnrc']);

function rewriteAdd(doc: DockerfileDocument, instruction: InstructionInfo): Finding | undefined {
  if (hasHeredoc(instruction)) return undefined;
  const note = (reason: string): Finding => ({ offset: instruction.start, message: `ADD left alone: ${reason}` });
  const flags = (instruction.node as unknown as { getFlags(): { getName(): string }[] }).getFlags().map((flag) => flag.getName());
  if (flags.some((flag) => !COPY_FLAGS.has(flag))) return undefined;
  const paths = addPaths(doc, instruction);
  if (!paths) return undefined;
  const sources = paths.slice(0, -1);
  if (sources.length === 0) return undefined;
  for (const source of sources) {
    if (REMOTE_SOURCE.test(source) || ARCHIVE_EXTENSION.test(source)) return undefined;
    const doubt = archiveDoubt(source, doc.escape);
    if (doubt) return note(doubt);
  }
  const span = doc.span(instruction.node.getInstructionRange());
  const keyword = keywordText(doc, instruction) === 'add' ? 'copy' : 'COPY';
  return {
    offset: instruction.start,
    message: `ADD of local ${sources.length > 1 ? 'sources' : `\`${sources[0]}\``}, which is not an archive or URL, does what COPY does; write it as COPY`,
    edits: [Edit.replace(span.start, span.end, keyword)],
  };
}

/** Sources and destination as written (JSON or blank-separated), or undefined for a layout left alone. */
function addPaths(doc: DockerfileDocument, instruction: InstructionInfo): string[] | undefined {
  const start = argumentsStart(doc, instruction);
  if (start === undefined) return undefined;
  const text = doc.text.slice(start, instruction.end);
  if (/[\r\n]/.test(text)) return undefined;
  if (text.trimStart().startsWith('[')) return isExecForm(text) ? (JSON.parse(text.trim()) as string[]) : undefined;
  return instruction.node.getArguments().map((argument) => {
    const span = doc.span(argument.getRange());
    return doc.text.slice(span.start, span.end);
  });
}

/** Why a local source might be a tar archive ADD would unpack, or undefined when it is clearly not one. */
function archiveDoubt(source: string, escape: string): string | undefined {
  if (source.includes('$')) return `\`${source}\` uses a variable, so dockopt cannot tell whether it is a tar archive ADD would unpack`;
  if (/["']/.test(source) || source.includes(escape)) return 'a source is quoted or escaped';
  const glob = /[*?[]/;
  if (source === '.' || source.endsWith('/') || source.endsWith('/.')) {
    return glob.test(source) ? `\`${source}\` is a pattern that may match archives` : undefined;
  }
  const base = path.posix.basename(source);
  const extension = path.posix.extname(base).slice(1).toLowerCase();
  if (NON_ARCHIVE_NAMES.has(base) || (extension !== '' && !glob.test(extension) && NON_ARCHIVE_EXTENSIONS.has(extension))) return undefined;
  if (glob.test(base)) return `\`${source}\` may match a tar archive, which ADD would unpack`;
  return `dockopt cannot tell whether \`${source}\` is a directory or a tar archive ADD would unpack (use COPY if it is not an archive, or write a directory with a trailing /)`;
}
