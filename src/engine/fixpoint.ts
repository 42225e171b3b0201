// The engine: text in, text out. It runs the transforms over a Dockerfile,
// applies their edits (always over the text they were computed on), re-parses
// and repeats until nothing changes, ESLint-style. It never touches files.
import { diffLines } from 'diff';
import MagicString from 'magic-string';
import { DockerfileDocument, findParseProblems, type ParseProblem } from '../dockerfile/document.js';
import { initShell, parseShell, shellScript } from '../shell/script.js';
import { didYouMean } from './suggest.js';
import type { Edit, Finding, Safety, Transform, TransformContext, TransformOptions } from './transform.js';

export const MAX_PASSES = 10;

export interface EngineOptions {
  /** Transforms to run, in pipeline order. */
  readonly transforms: readonly Transform[];
  /** Ids whose unsafe fixes may be applied (all with --unsafe-fixes, or those named with --only). */
  readonly unsafeAllowed?: ReadonlySet<string> | 'all';
  /** Every transform id there is (selected or not), to warn about a `# dockopt-ignore` that names none of them; unset: no check. */
  readonly knownIds?: readonly string[];
  readonly options?: TransformOptions;
  /** Extra services handed to transforms through the context (e.g. the image resolver). */
  readonly services?: Readonly<Record<string, unknown>>;
  /** Time budget for one Dockerfile, in milliseconds (default: none); past it the file fails with DockerfileTimeout. */
  readonly timeoutMs?: number;
}

export interface Change {
  readonly transform: string;
  /** 1-based line in the original file. */
  readonly line: number;
  readonly message: string;
  readonly safety: Safety;
}

export interface Note {
  /** '' for what the engine itself says (a `# dockopt-ignore` naming no transform). */
  readonly transform: string;
  readonly line: number;
  readonly message: string;
  readonly severity: 'note' | 'error';
  /** True for a fix that was found but not applied because it is unsafe (--unsafe-fixes applies it). */
  readonly unsafeFixSkipped?: boolean;
}

export interface FixResult {
  readonly input: string;
  readonly output: string;
  readonly changed: boolean;
  readonly changes: readonly Change[];
  /** Things left alone and why, unsafe fixes not applied, lookups that failed (severity error). */
  readonly notes: readonly Note[];
}

/** The input cannot be processed at all; the file must be left untouched. */
export class DockerfileError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly problems: readonly ParseProblem[] = [],
  ) {
    super(message);
    this.name = 'DockerfileError';
  }
}

/** The file took longer than its time budget; it is left untouched. */
export class DockerfileTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`gave up after ${formatSeconds(timeoutMs)}: the file took longer than its time budget (--timeout); it is left untouched`);
    this.name = 'DockerfileTimeout';
  }
}

function formatSeconds(ms: number): string {
  // 10 s, 0.25 s, 0.001 s: as given, without float noise.
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

/**
 * The time one file has spent computing, checked between transforms and
 * passes: its work stops once the budget is spent. Only its own time counts:
 * while it awaits a transform's promise (a registry lookup, or just the
 * microtask in which other files of the batch run on this thread), the clock
 * is paused, so one slow file does not use up the budgets of the files
 * interleaved with it.
 */
class Deadline {
  private spent = 0;
  private since: number | undefined = performance.now();

  constructor(private readonly budgetMs: number | undefined) {}

  /** Before awaiting something that is not this file's own work. */
  pause(): void {
    if (this.since !== undefined) this.spent += performance.now() - this.since;
    this.since = undefined;
  }

  resume(): void {
    this.since ??= performance.now();
  }

  check(): void {
    if (this.budgetMs === undefined || !Number.isFinite(this.budgetMs)) return;
    const spent = this.spent + (this.since === undefined ? 0 : performance.now() - this.since);
    if (spent > this.budgetMs) throw new DockerfileTimeout(this.budgetMs);
  }
}

interface Candidate {
  readonly transform: Transform;
  readonly finding: Finding;
  readonly edits: readonly Edit[];
  readonly safety: Safety;
}

const IGNORE_FILE = /^#[ \t]*dockopt-ignore-file[ \t]*$/;
const IGNORE_NEXT = /^#[ \t]*dockopt-ignore(?:[ \t]+([a-z0-9, \t-]+))?[ \t]*$/;

export async function fixDockerfile(input: string, engine: EngineOptions): Promise<FixResult> {
  await initShell();
  const deadline = new Deadline(engine.timeoutMs);
  const problems = findParseProblems(input);
  if (problems.length > 0) {
    const first = problems[0];
    throw new DockerfileError(`${first.line}:${first.column}: ${first.message}`, first.line, problems);
  }
  const firstDoc = new DockerfileDocument(input);
  if (isFileIgnored(firstDoc)) return { input, output: input, changed: false, changes: [], notes: [] };
  const directiveNotes = unknownIgnoredIds(firstDoc, engine.knownIds);
  const inputScripts = runScripts(firstDoc);
  deadline.check();
  // Most fixes are valid, so the passes run without validating each intermediate
  // text and only the result is checked. If it fails (or the optimistic run
  // fails at all), the pipeline runs again checking every pass, which pins the
  // rejection on the fixes that caused it and keeps the others.
  const withDirectiveNotes = (result: FixResult): FixResult => (directiveNotes.length === 0 ? result : { ...result, notes: [...directiveNotes, ...result.notes] });
  try {
    const optimistic = await runPipeline(input, firstDoc, engine, inputScripts, false, deadline);
    if (!optimistic.changed || checkOutput(optimistic.output, inputScripts).invalid === undefined) return withDirectiveNotes(optimistic);
  } catch (error) {
    if (error instanceof DockerfileTimeout) throw error;
    // Fall through to the careful run, which reports the problem precisely.
  }
  deadline.check();
  return withDirectiveNotes(await runPipeline(input, firstDoc, engine, inputScripts, true, deadline));
}

async function runPipeline(
  input: string,
  firstDoc: DockerfileDocument,
  engine: EngineOptions,
  inputScripts: ReadonlySet<string>,
  careful: boolean,
  deadline: Deadline,
): Promise<FixResult> {
  const history = new EditHistory(input);
  const changes: Change[] = [];
  const done = (current: string, notes: readonly PendingNote[]): FixResult => ({
    input,
    output: current,
    changed: current !== input,
    changes: history.netChanges(changes, current),
    notes: [...rejectionNotes, ...notes.map(toNote)],
  });
  const rejectionNotes: Note[] = [];
  const rejected = new Set<string>();
  const toNote = (note: PendingNote): Note => ({
    transform: note.transform,
    line: history.originalLine(note.offset),
    message: note.message,
    severity: note.severity,
    ...(note.unsafeFixSkipped && { unsafeFixSkipped: true }),
  });
  const reject = (candidates: readonly Candidate[], reason: string) => {
    for (const candidate of candidates) rejected.add(signature(candidate));
    rejectionNotes.push(
      toNote({
        transform: candidates.map((candidate) => candidate.transform.meta.id).join(','),
        offset: candidates[0].finding.offset,
        message: `fix rejected, it would make the Dockerfile invalid (${reason}): ${candidates.map((c) => c.finding.message).join('; ')}`,
        severity: 'error',
      }),
    );
  };
  let current = input;
  let doc = firstDoc;
  for (let pass = 1; ; pass++) {
    deadline.check();
    const { candidates, notes } = await runTransforms(doc, engine, deadline);
    const wanted = candidates.filter((candidate) => !rejected.has(signature(candidate)));
    if (wanted.length === 0) return done(current, notes);
    if (pass > MAX_PASSES) {
      // A cycle is usually two transforms undoing each other: name everyone still editing lately.
      const recent = changes.slice(-4 * wanted.length).map((change) => change.transform);
      const ids = [...new Set([...recent, ...wanted.map((candidate) => candidate.transform.meta.id)])].sort().join(', ');
      throw new DockerfileError(`no fixpoint after ${MAX_PASSES} passes: ${ids} keep rewriting the result (a cycle)`, history.originalLine(wanted[0].finding.offset));
    }
    let accepted = withoutOverlaps(wanted, doc);
    let next = applyEdits(current, accepted.flatMap((candidate) => candidate.edits));
    let checked = careful ? checkOutput(next, inputScripts) : { doc: new DockerfileDocument(next), invalid: undefined };
    if (checked.invalid !== undefined) {
      // Find the culprits one by one so that the good fixes of this pass still land.
      const good: Candidate[] = [];
      for (const candidate of accepted) {
        deadline.check();
        const reason = checkOutput(applyEdits(current, candidate.edits), inputScripts).invalid;
        if (reason === undefined) good.push(candidate);
        else reject([candidate], reason);
      }
      next = applyEdits(current, good.flatMap((candidate) => candidate.edits));
      checked = checkOutput(next, inputScripts);
      if (checked.invalid !== undefined) {
        reject(good, checked.invalid);
        continue;
      }
      accepted = good;
    }
    const made = accepted.map((candidate) => ({
      transform: candidate.transform.meta.id,
      line: history.originalLine(candidate.finding.offset),
      message: candidate.finding.message,
      safety: candidate.safety,
    }));
    history.record(accepted.map((candidate, index) => ({ edits: candidate.edits, change: changes.length + index })));
    changes.push(...made);
    current = next;
    doc = checked.doc;
  }
}

interface PendingNote {
  readonly transform: string;
  readonly offset: number;
  readonly message: string;
  readonly severity: 'note' | 'error';
  readonly unsafeFixSkipped?: boolean;
}

async function runTransforms(doc: DockerfileDocument, engine: EngineOptions, deadline: Deadline): Promise<{ candidates: Candidate[]; notes: PendingNote[] }> {
  const ignores = ignoreDirectives(doc);
  const candidates: Candidate[] = [];
  const notes: PendingNote[] = [];
  const busy = new Set<string>();
  for (const transform of engine.transforms) {
    const id = transform.meta.id;
    if (transform.meta.runsAfter?.some((other) => busy.has(other))) continue;
    const context: TransformContext & Record<string, unknown> = {
      ...engine.services,
      doc,
      options: engine.options ?? {},
      isIgnored: (instructionStart: number) => isIgnoredFor(ignores, instructionStart, id),
    };
    deadline.check();
    let findings: readonly Finding[];
    try {
      // The transform's synchronous work counts; waiting for its promise does not.
      const pending = transform.run(context);
      deadline.pause();
      try {
        findings = await pending;
      } finally {
        deadline.resume();
      }
    } catch (error) {
      if (error instanceof DockerfileTimeout) throw error;
      deadline.check();
      notes.push({ transform: id, offset: 0, message: `internal error, transform skipped: ${(error as Error).message}`, severity: 'error' });
      continue;
    }
    deadline.check();
    for (const finding of findings) {
      const safety = finding.safety ?? transform.meta.safety;
      const edits = finding.edits ?? [];
      const offset = finding.offset;
      if (edits.length === 0) {
        notes.push({ transform: id, offset, message: finding.message, severity: finding.severity ?? 'note' });
        continue;
      }
      if (edits.some((edit) => touchesIgnored(ignores, edit, id))) continue;
      if (safety === 'unsafe' && !unsafeAllowed(engine, id)) {
        notes.push({ transform: id, offset, message: `${finding.message} (unsafe fix not applied: --unsafe-fixes applies it)`, severity: 'note', unsafeFixSkipped: true });
        continue;
      }
      candidates.push({ transform, finding, edits, safety });
      busy.add(id);
    }
  }
  return { candidates, notes };
}

function unsafeAllowed(engine: EngineOptions, id: string): boolean {
  return engine.unsafeAllowed === 'all' || (engine.unsafeAllowed?.has(id) ?? false);
}

// ---- inline opt-outs ---------------------------------------------------------

interface IgnoreDirective {
  readonly start: number;
  readonly end: number;
  /** Where the comment itself is, for warnings about it. */
  readonly commentStart: number;
  /** undefined = every transform. */
  readonly ids?: ReadonlySet<string>;
}

function isFileIgnored(doc: DockerfileDocument): boolean {
  const firstInstruction = doc.instructions[0]?.start ?? doc.text.length;
  return doc.ast.getComments().some((comment) => {
    const span = doc.span(comment.getRange());
    return span.start < firstInstruction && IGNORE_FILE.test(doc.text.slice(span.start, span.end).trim());
  });
}

/** `# dockopt-ignore [ids]` in the comment block directly above an instruction covers that instruction. */
function ignoreDirectives(doc: DockerfileDocument): IgnoreDirective[] {
  const commentsByLine = new Map<number, { text: string; start: number }>();
  for (const comment of doc.ast.getComments()) {
    const span = doc.span(comment.getRange());
    commentsByLine.set(comment.getRange().start.line, { text: doc.text.slice(span.start, span.end).trim(), start: span.start });
  }
  const directives: IgnoreDirective[] = [];
  for (const instruction of doc.instructions) {
    let line = instruction.node.getRange().start.line - 1;
    while (commentsByLine.has(line)) {
      const comment = commentsByLine.get(line)!;
      const match = IGNORE_NEXT.exec(comment.text);
      if (match) {
        const ids = match[1]?.split(/[\s,]+/).filter(Boolean);
        directives.push({ start: instruction.start, end: instruction.end, commentStart: comment.start, ids: ids && ids.length > 0 ? new Set(ids) : undefined });
      }
      line--;
    }
  }
  return directives;
}

/** A `# dockopt-ignore` id that is no transform's covers nothing: say so, with the likely intended id. */
function unknownIgnoredIds(doc: DockerfileDocument, knownIds: readonly string[] | undefined): Note[] {
  if (knownIds === undefined) return [];
  const notes: Note[] = [];
  for (const directive of ignoreDirectives(doc)) {
    for (const id of directive.ids ?? []) {
      if (knownIds.includes(id)) continue;
      notes.push({ transform: '', line: doc.lineOf(directive.commentStart), message: `# dockopt-ignore names unknown transform "${id}"${didYouMean(id, knownIds)}, so it covers nothing`, severity: 'note' });
    }
  }
  return notes;
}

function isIgnoredFor(directives: readonly IgnoreDirective[], instructionStart: number, id: string): boolean {
  return directives.some((directive) => directive.start === instructionStart && (!directive.ids || directive.ids.has(id)));
}

function touchesIgnored(directives: readonly IgnoreDirective[], edit: Edit, id: string): boolean {
  return directives.some(
    (directive) => (!directive.ids || directive.ids.has(id)) && edit.start <= directive.end && edit.end >= directive.start,
  );
}

// ---- edits -------------------------------------------------------------------

function sortEdits(edits: readonly Edit[]): Edit[] {
  return [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * Two fixes collide when their edits overlap or merely touch (as in ESLint):
 * an edit at the boundary of another's replacement was computed for text that
 * replacement changes. merge-runs replacing the gap before a RUN and
 * pkg-cleanup inserting `apt-get update &&` at that RUN's start would
 * otherwise both land, and the update would be doubled.
 */
function collides(a: Edit, b: Edit): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Within one fix, edits may touch but must not overlap (two inserts at one point have no order). */
function overlaps(a: Edit, b: Edit): boolean {
  if (a.start === a.end && b.start === b.end) return a.start === b.start;
  if (a.start === a.end) return a.start > b.start && a.start < b.end;
  if (b.start === b.end) return b.start > a.start && b.start < a.end;
  return a.start < b.end && b.start < a.end;
}

/**
 * First come, first served in pipeline order; a fix that collides waits for
 * the next pass. Fixes of two transforms also collide when they edit the same
 * instruction: each read that instruction's layout (operator style,
 * indentation) as it was, so the later one waits to see the earlier one's
 * result (merge-runs joins two RUNs with leading `&&`; pkg-cleanup's cleanup,
 * appended in the next pass, then continues in that style).
 */
function withoutOverlaps(candidates: readonly Candidate[], doc: DockerfileDocument): Candidate[] {
  const taken = new TakenEdits();
  const editedBy = new Map<number, string>();
  const accepted: Candidate[] = [];
  for (const candidate of candidates) {
    const own = candidate.edits;
    if (hasSelfOverlap(own)) continue;
    if (own.some((edit) => taken.collides(edit))) continue;
    const id = candidate.transform.meta.id;
    const instructions = instructionsTouched(doc, own);
    if (instructions.some((index) => editedBy.has(index) && editedBy.get(index) !== id)) continue;
    for (const edit of own) taken.add(edit);
    for (const index of instructions) if (!editedBy.has(index)) editedBy.set(index, id);
    accepted.push(candidate);
  }
  return accepted;
}

/** Whether two of one fix's edits overlap: sorted once, then each compared with the furthest range before it (not every pair). */
function hasSelfOverlap(edits: readonly Edit[]): boolean {
  if (edits.length < 2) return false;
  if (edits.length === 2) return overlaps(edits[0], edits[1]);
  let maxEnd = Number.NEGATIVE_INFINITY;
  let lastPoint: number | undefined;
  for (const edit of sortEdits(edits)) {
    if (edit.start === edit.end) {
      // Ranges before it start at or before it; one that ends after it holds it. Two inserts at one point have no order.
      if (maxEnd > edit.start || lastPoint === edit.start) return true;
      lastPoint = edit.start;
    } else {
      if (maxEnd > edit.start) return true;
      maxEnd = Math.max(maxEnd, edit.end);
    }
  }
  return false;
}

/** The edits taken so far in a pass, bucketed by position so that a collision check looks only at its neighbourhood. */
class TakenEdits {
  private static readonly BUCKET = 256;
  private readonly buckets = new Map<number, Edit[]>();

  collides(edit: Edit): boolean {
    for (let bucket = Math.floor(edit.start / TakenEdits.BUCKET); bucket <= Math.floor(edit.end / TakenEdits.BUCKET); bucket++) {
      if (this.buckets.get(bucket)?.some((other) => collides(edit, other))) return true;
    }
    return false;
  }

  add(edit: Edit): void {
    for (let bucket = Math.floor(edit.start / TakenEdits.BUCKET); bucket <= Math.floor(edit.end / TakenEdits.BUCKET); bucket++) {
      let list = this.buckets.get(bucket);
      if (list === undefined) this.buckets.set(bucket, (list = []));
      list.push(edit);
    }
  }
}

/**
 * Indexes of the instructions an edit falls in or touches (an edit at an
 * instruction's end touches it), in order. Instructions are in text order and
 * do not overlap, so each edit finds its first one by binary search.
 */
function instructionsTouched(doc: DockerfileDocument, edits: readonly Edit[]): number[] {
  const instructions = doc.instructions;
  const touched = new Set<number>();
  for (const edit of edits) {
    // The first instruction that ends at or after the edit's start.
    let low = 0;
    let high = instructions.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (instructions[middle].end < edit.start) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < instructions.length && instructions[index].start <= edit.end; index++) touched.add(index);
  }
  return [...touched].sort((a, b) => a - b);
}

export function applyEdits(text: string, edits: readonly Edit[]): string {
  const result = new MagicString(text);
  for (const edit of sortEdits(edits)) {
    if (edit.start === edit.end) result.appendLeft(edit.start, edit.text);
    else if (edit.text === '') result.remove(edit.start, edit.end);
    else result.overwrite(edit.start, edit.end, edit.text);
  }
  return result.toString();
}

function signature(candidate: Candidate): string {
  return `${candidate.transform.meta.id}\0${candidate.finding.message}\0${candidate.edits.map((edit) => edit.text).join('\0')}`;
}

// ---- validity ----------------------------------------------------------------

/** The shell commands of the input's RUNs: an output RUN identical to one of them needs no new check. */
function runScripts(doc: DockerfileDocument): Set<string> {
  const scripts = new Set<string>();
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'RUN') continue;
    const script = shellScript(doc, instruction);
    if (script) scripts.add(script.script);
  }
  return scripts;
}

function shellHasErrors(script: string): boolean {
  const tree = parseShell(script);
  const hasError = tree.rootNode.hasError;
  tree.delete();
  return hasError;
}

/** The parsed output, and why it is not acceptable (undefined when it is). */
function checkOutput(text: string, unchangedScripts: ReadonlySet<string>): { doc: DockerfileDocument; invalid?: string } {
  const doc = new DockerfileDocument(text);
  const problems = findParseProblems(text);
  if (problems.length > 0) return { doc, invalid: `line ${problems[0].line}: ${problems[0].message}` };
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'RUN') continue;
    const script = shellScript(doc, instruction);
    // A RUN the input already had is not the fix's doing, whether or not tree-sitter parses it.
    if (script && !unchangedScripts.has(script.script) && shellHasErrors(script.script)) {
      return { doc, invalid: `line ${doc.lineOf(instruction.start)}: the RUN command would not parse as shell` };
    }
  }
  return { doc };
}

// ---- positions back to the original, and the net change -------------------

/**
 * The edits applied so far: where each character of the current text came
 * from (an offset of the input, or the change that wrote it), so that every
 * position is reported as a line of the input, and a change is reported only
 * when it is still part of the final text.
 */
class EditHistory {
  /** Per character of the current text: its input offset (>= 0), or -(k + 1) when change k wrote it. */
  private origin: Int32Array;
  /** Per character of the current text (and one past its end): the input offset it stands at. */
  private anchor: Int32Array;
  /** Per input character: the change that removed it, or -1 while it is still there. */
  private readonly removedBy: Int32Array;
  private length: number;

  constructor(private readonly input: string) {
    this.length = input.length;
    this.origin = Int32Array.from({ length: input.length }, (_, index) => index);
    this.anchor = Int32Array.from({ length: input.length + 1 }, (_, index) => index);
    this.removedBy = new Int32Array(input.length).fill(-1);
  }

  /** One pass: the edits of each accepted change, over the current text. */
  record(fixes: readonly { readonly edits: readonly Edit[]; readonly change: number }[]): void {
    const edits = sortEdits(fixes.flatMap((fix) => fix.edits.map((edit) => ({ ...edit, change: fix.change }))));
    const grown = this.length + edits.reduce((sum, edit) => sum + edit.text.length - (edit.end - edit.start), 0);
    const origin = new Int32Array(grown);
    const anchor = new Int32Array(grown + 1);
    let from = 0;
    let to = 0;
    const keep = (until: number) => {
      for (; from < until; from++, to++) {
        origin[to] = this.origin[from];
        anchor[to] = this.anchor[from];
      }
    };
    for (const edit of edits as (Edit & { change: number })[]) {
      keep(edit.start);
      const at = this.anchor[edit.start];
      for (; from < edit.end; from++) if (this.origin[from] >= 0) this.removedBy[this.origin[from]] = edit.change;
      for (let index = 0; index < edit.text.length; index++, to++) {
        origin[to] = -(edit.change + 1);
        anchor[to] = at;
      }
    }
    keep(this.length);
    anchor[to] = this.anchor[this.length];
    this.origin = origin;
    this.anchor = anchor;
    this.length = grown;
  }

  /** Input offsets where a line starts (after \n, and after a \r not followed by \n), built on first use. */
  private lineStarts: number[] | undefined;

  /** 1-based line in the original input of an offset in the current text. */
  originalLine(offset: number): number {
    const original = Math.min(this.anchor[Math.max(0, Math.min(offset, this.length))], this.input.length);
    if (this.lineStarts === undefined) {
      this.lineStarts = [0];
      for (let i = 0; i < this.input.length; i++) {
        const char = this.input[i];
        if (char === '\n' || (char === '\r' && this.input[i + 1] !== '\n')) this.lineStarts.push(i + 1);
      }
    }
    // The line breaks before `original` are the line starts at or below it, the first excepted: binary search, not a walk of the input per call.
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.lineStarts[middle] <= original) low = middle + 1;
      else high = middle - 1;
    }
    return Math.max(1, high + 1);
  }

  /**
   * The changes that are part of the final text, once each: a change counts
   * when a line the final diff adds holds a character it wrote, or a line the
   * diff removes lost a character to it. A fix that a later pass undid or
   * rewrote away (RUNs merged, then split again) is not reported; a
   * transform that reported the same fix at the same line in several passes
   * is reported once.
   */
  netChanges(changes: readonly Change[], output: string): Change[] {
    if (changes.length === 0) return [];
    const live = new Set<number>();
    let inputOffset = 0;
    let outputOffset = 0;
    for (const part of diffLines(this.input, output)) {
      const size = part.value.length;
      if (part.added) {
        for (let index = outputOffset; index < outputOffset + size; index++) if (this.origin[index] < 0) live.add(-this.origin[index] - 1);
        outputOffset += size;
      } else if (part.removed) {
        for (let index = inputOffset; index < inputOffset + size; index++) if (this.removedBy[index] >= 0) live.add(this.removedBy[index]);
        inputOffset += size;
      } else {
        inputOffset += size;
        outputOffset += size;
      }
    }
    const reported = new Map<string, Change>();
    for (const [index, change] of changes.entries()) {
      if (!live.has(index)) continue;
      const key = `${change.transform}\0${change.line}\0${change.message}`;
      const earlier = reported.get(key);
      reported.set(key, earlier && earlier.safety === 'unsafe' ? earlier : change);
    }
    return [...reported.values()];
  }
}
