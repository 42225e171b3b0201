// Parsing a Dockerfile into something transforms can edit by offset.
// dockerfile-ast gives LSP positions (line + UTF-16 character); we convert them
// with the same TextDocument implementation it uses, so CRLF, lone CR, BOM and
// astral characters map exactly.
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { TextDocument } from 'vscode-languageserver-textdocument';

export interface Position {
  readonly line: number;
  readonly character: number;
}
export interface Range {
  readonly start: Position;
  readonly end: Position;
}
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface InstructionInfo {
  /** Upper-case keyword, e.g. RUN. */
  readonly keyword: string;
  readonly node: Instruction;
  /** Offsets of the whole instruction, keyword to last argument character (heredoc bodies included). */
  readonly start: number;
  readonly end: number;
  /** Index into DockerfileDocument.stages; -1 for ARGs before the first FROM. */
  readonly stage: number;
}

export interface Stage {
  readonly index: number;
  readonly from: InstructionInfo;
  /** The `AS name`, lower-cased as BuildKit compares it, or undefined. */
  readonly name?: string;
  /** Instructions after FROM, up to the next FROM. */
  readonly instructions: readonly InstructionInfo[];
}

export interface ParseProblem {
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export class DockerfileDocument {
  readonly ast: Dockerfile;
  readonly eol: '\n' | '\r\n';
  readonly escape: string;
  readonly instructions: readonly InstructionInfo[];
  readonly stages: readonly Stage[];
  private readonly textDocument: TextDocument;

  constructor(readonly text: string) {
    this.textDocument = TextDocument.create('file:///Dockerfile', 'dockerfile', 0, text);
    this.ast = DockerfileParser.parse(text);
    this.eol = detectEol(text);
    this.escape = this.ast.getEscapeCharacter();
    const instructions: InstructionInfo[] = [];
    const stages: { index: number; from: InstructionInfo; name?: string; instructions: InstructionInfo[] }[] = [];
    for (const node of this.ast.getInstructions()) {
      const keyword = node.getKeyword().toUpperCase();
      const span = this.span(node.getRange());
      const info: InstructionInfo = { keyword, node, start: span.start, end: span.end, stage: keyword === 'FROM' ? stages.length : stages.length - 1 };
      instructions.push(info);
      if (keyword === 'FROM') {
        const args = node.getArguments();
        const name = args.length >= 3 && args[1].getValue().toUpperCase() === 'AS' ? args[2].getValue().toLowerCase() : undefined;
        stages.push({ index: stages.length, from: info, name, instructions: [] });
      } else if (stages.length > 0) {
        stages[stages.length - 1].instructions.push(info);
      }
    }
    this.instructions = instructions;
    this.stages = stages;
  }

  offsetAt(position: Position): number {
    return this.textDocument.offsetAt(position);
  }

  positionAt(offset: number): Position {
    return this.textDocument.positionAt(offset);
  }

  span(range: Range): Span {
    return { start: this.offsetAt(range.start), end: this.offsetAt(range.end) };
  }

  /** 1-based line number of an offset. */
  lineOf(offset: number): number {
    return this.positionAt(offset).line + 1;
  }

  /** Offset where the line containing offset starts. */
  lineStart(offset: number): number {
    return this.offsetAt({ line: this.positionAt(offset).line, character: 0 });
  }

  /** Offset of the line break (or end of text) of the line containing offset. */
  lineEnd(offset: number): number {
    const line = this.positionAt(offset).line;
    const next = this.offsetAt({ line: line + 1, character: 0 });
    if (next >= this.text.length && !/[\r\n]$/.test(this.text)) return this.text.length;
    let end = next;
    if (this.text[end - 1] === '\n') end--;
    if (this.text[end - 1] === '\r') end--;
    return end;
  }

  /** The whitespace at the start of the line containing offset. */
  indentationAt(offset: number): string {
    const start = this.lineStart(offset);
    return /^[ \t]*/.exec(this.text.slice(start))![0];
  }

  /** Start of the comment lines directly above an instruction (no blank line between), else of its own line: where an instruction "with its comments" begins. */
  commentBlockStart(instruction: InstructionInfo): number {
    const previous = this.instructions.filter((other) => other.end <= instruction.start).pop();
    const floor = previous === undefined ? -1 : this.lineOf(previous.end) - 1;
    let line = this.lineOf(instruction.start) - 1;
    while (line - 1 > floor) {
      const start = this.offsetAt({ line: line - 1, character: 0 });
      if (!/^[ \t]*#/.test(this.text.slice(start, this.lineEnd(start)))) break;
      line--;
    }
    return this.offsetAt({ line, character: 0 });
  }

  /** Offset where the line after the one containing offset starts (or the end of the text). */
  nextLineStart(offset: number): number {
    const end = this.lineEnd(offset);
    if (this.text.startsWith('\r\n', end)) return end + 2;
    return end < this.text.length ? end + 1 : end;
  }

  /** The stage an offset lies in (by its FROM), or undefined before the first FROM. */
  stageAt(offset: number): Stage | undefined {
    let found: Stage | undefined;
    for (const stage of this.stages) if (stage.from.start <= offset) found = stage;
    return found;
  }
}

export function detectEol(text: string): '\n' | '\r\n' {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  return crlf > lf ? '\r\n' : '\n';
}

// Lint-style checks are not parse errors: only what would make a build fail to parse counts.
const SYNTAX_ONLY: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.IGNORE,
  directiveCasing: ValidationSeverity.IGNORE,
  emptyContinuationLine: ValidationSeverity.IGNORE,
  instructionCasing: ValidationSeverity.IGNORE,
  instructionCmdMultiple: ValidationSeverity.IGNORE,
  instructionEntrypointMultiple: ValidationSeverity.IGNORE,
  instructionHealthcheckMultiple: ValidationSeverity.IGNORE,
  instructionJSONInSingleQuotes: ValidationSeverity.IGNORE,
  instructionWorkdirRelative: ValidationSeverity.IGNORE,
};

const LSP_ERROR = 1;

/** Problems that would make `docker build` reject the file, with 1-based positions. */
export function findParseProblems(text: string): ParseProblem[] {
  // In the validator's order (the first one is what a file is reported with), then the heredocs it misses.
  return [...validated(text), ...unterminatedHeredocs(text)];
}

function validated(text: string): ParseProblem[] {
  let diagnostics;
  try {
    diagnostics = validate(text, SYNTAX_ONLY);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // dockerfile-ast 0.7 recurses forever resolving a variable in a file without FROM whose
    // first instruction does not start its line (after a byte-order mark, say): that file
    // has the problem validation would have named.
    const parsed = DockerfileParser.parse(text);
    const first = parsed.getInstructions()[0];
    if (first && parsed.getFROMs().length === 0) return [{ line: first.getRange().start.line + 1, column: first.getRange().start.character + 1, message: 'No source image provided with `FROM`' }];
    return [{ line: 1, column: 1, message: 'the file cannot be parsed: the parser ran out of stack' }];
  }
  return diagnostics
    .filter((diagnostic) => diagnostic.severity === LSP_ERROR)
    .map((diagnostic) => ({
      line: diagnostic.range.start.line + 1,
      column: diagnostic.range.start.character + 1,
      message: typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value,
    }));
}

/**
 * A here-document whose delimiter line never comes: BuildKit refuses the
 * file, while dockerfile-ast reads the heredoc to the end of the file (so a
 * fix appended after it would land inside it, pass after pass).
 */
function unterminatedHeredocs(text: string): ParseProblem[] {
  if (!text.includes('<<')) return [];
  const problems: ParseProblem[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    // RUN, COPY and ADD (and ONBUILD around them) list their heredocs; the base class hides the method.
    const withHeredocs = instruction as unknown as { getHeredocs?: () => { getName(): string; getStartRange(): Range; getDelimiterRange(): Range | null }[] };
    for (const heredoc of withHeredocs.getHeredocs?.() ?? []) {
      // `<< EOF` (with a space) is no Dockerfile heredoc; dockerfile-ast gives it an empty name.
      if (heredoc.getName() === '' || heredoc.getDelimiterRange() !== null) continue;
      const start = heredoc.getStartRange().start;
      problems.push({ line: start.line + 1, column: start.character + 1, message: `unterminated heredoc: no line "${heredoc.getName()}" ends the here-document that starts here` });
    }
  }
  return problems;
}

/**
 * The instructions with one keyword (SHELL, USER, ENV…) among
 * instructionsBefore(doc, instruction), in the same order. Transforms ask
 * this for every RUN: filtering instructionsBefore each time is quadratic in
 * a long file, so each stage's instructions of a keyword are listed once per
 * document.
 */
export function keywordBefore(doc: DockerfileDocument, instruction: InstructionInfo, keyword: string): InstructionInfo[] {
  let index = keywordIndexes.get(doc);
  if (index === undefined) keywordIndexes.set(doc, (index = { parents: stageParents(doc), byKeyword: new Map() }));
  let byStage = index.byKeyword.get(keyword);
  if (byStage === undefined) index.byKeyword.set(keyword, (byStage = doc.stages.map((stage) => stage.instructions.filter((other) => other.keyword === keyword))));
  const chain: InstructionInfo[][] = [];
  let stage: Stage | undefined = doc.stages[instruction.stage];
  let limit = instruction.start;
  const seen = new Set<number>();
  while (stage && !seen.has(stage.index)) {
    seen.add(stage.index);
    const own = byStage[stage.index];
    chain.unshift(limit === Number.POSITIVE_INFINITY ? own : own.filter((other) => other.start < limit));
    stage = index.parents[stage.index];
    limit = Number.POSITIVE_INFINITY;
  }
  return chain.flat();
}

const keywordIndexes = new WeakMap<DockerfileDocument, { parents: (Stage | undefined)[]; byKeyword: Map<string, InstructionInfo[][]> }>();

/** For each stage, the earlier stage its FROM names (the first of that name), as instructionsBefore finds it. */
function stageParents(doc: DockerfileDocument): (Stage | undefined)[] {
  // Keyed like instructionsBefore compares: a FROM without an image (undefined) matches an unnamed stage.
  const firstByName = new Map<string | undefined, Stage>();
  return doc.stages.map((stage) => {
    const base = stage.from.node.getArguments()[0]?.getValue().toLowerCase();
    const parent = firstByName.get(base);
    if (!firstByName.has(stage.name)) firstByName.set(stage.name, stage);
    return parent;
  });
}

/** Instructions that run before `instruction` in its stage and in the stages that stage is built FROM. */
export function instructionsBefore(doc: DockerfileDocument, instruction: InstructionInfo): InstructionInfo[] {
  const chain: InstructionInfo[][] = [];
  let stage = doc.stages[instruction.stage];
  let limit = instruction.start;
  const seen = new Set<number>();
  while (stage && !seen.has(stage.index)) {
    seen.add(stage.index);
    chain.unshift(stage.instructions.filter((other) => other.start < limit));
    const base = stage.from.node.getArguments()[0]?.getValue().toLowerCase();
    const parent = doc.stages.find((candidate) => candidate.index < stage!.index && candidate.name === base);
    if (!parent) break;
    stage = parent;
    limit = Number.POSITIVE_INFINITY;
  }
  return chain.flat();
}
