// Splits a single-stage build into a named build stage and a runtime stage that
// gets only what the program needs. The user's instructions stay where they
// are: the FROM gains `AS build`, and the runtime stage is inserted before the
// descriptive instructions at the end (EXPOSE, CMD…), which so become part of
// it. Descriptive instructions from the middle of the build move down; ENV,
// the ARGs they use and the working directory are repeated.
import path from 'node:path';
import type { DockerfileDocument } from '../../src/dockerfile/document.js';
import { planSplit, type SplitPlan } from './split.js';
import { readStage, isWithin, type StageModel } from './stage.js';
import { isRefusal } from './ecosystems/types.js';
import { defineTransform, Edit, type Finding } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

const posix = path.posix;

/** Name given to the build stage when the FROM has none. */
const BUILD_STAGE = 'build';

export default defineTransform({
  meta: {
    id: 'multi-stage',
    title: 'Split the build into build and runtime stages',
    description:
      'Recognises single-stage Go, Rust, Java, Node.js, Python and C/C++ builds and moves the toolchain, build-only packages and sources into a build stage; the runtime stage starts from a slimmer image of the same family and copies only what the program runs.',
    safety: 'unsafe',
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  run(ctx) {
    const { doc } = ctx;
    // A multi-stage file has been split already (by the user or by this transform).
    if (doc.stages.length !== 1) return [];
    if (doc.instructions.some((instruction) => ctx.isIgnored(instruction.start))) return [];
    const model = readStage(doc, doc.stages[0]);
    const plan = planSplit(model, ctx.options);
    if (plan === undefined) return [];
    if (isRefusal(plan)) return [{ offset: plan.offset, message: `Not split into build and runtime stages: ${plan.reason}` } satisfies Finding];
    return [{ offset: model.stage.from.start, message: describe(plan), edits: splitEdits(model, plan) } satisfies Finding];
  },
});

function describe(plan: SplitPlan): string {
  const behind = plan.leftBehind.length === 0 ? '' : `; ${plan.leftBehind.join(', ')} stay${plan.leftBehind.length === 1 ? 's' : ''} in the build stage`;
  const reason = plan.runtimeReason === undefined ? '' : ` (${plan.runtimeReason})`;
  const libraries = plan.runtimeLibraries.length === 0 ? '' : `; it installs ${plan.runtimeLibraries.join(', ')} for the -dev packages the build linked against`;
  const users = plan.userRuns.length === 0 ? '' : '; it creates the build\'s users again';
  return `Split the ${plan.ecosystem} build into a build stage and a runtime stage on ${plan.runtime.reference}${reason} that gets ${plan.summary}${behind}${libraries}${users}`;
}

function splitEdits(model: StageModel, plan: SplitPlan): Edit[] {
  const { doc } = model;
  const eol = doc.eol;
  const from = model.stage.from;
  const edits: Edit[] = [];

  const fromArgs = from.node.getArguments();
  let stageName = BUILD_STAGE;
  if (model.stage.name !== undefined) stageName = fromArgs[2].getValue();
  else edits.push(Edit.insert(doc.offsetAt(fromArgs[0].getRange().end), ` AS ${BUILD_STAGE}`));

  // Descriptive instructions from the middle of the build move, with the comments above them.
  const removals = mergeSpans(plan.moved.map((instruction) => ({ start: doc.commentBlockStart(instruction), end: doc.nextLineStart(instruction.end) })));
  for (const span of removals) edits.push(Edit.remove(span.start, withBlankLineCleanup(doc, span)));

  for (const insertion of plan.buildInsertions ?? []) {
    if (!insertion.before) continue;
    // Rewrite the span up to the instruction's keyword (unchanged) rather than inserting at its line
    // start: an edit of that instruction in the same pass (merging it into the RUN above, say) then
    // collides with this one and waits for the next pass instead of splicing into the new lines.
    const at = doc.commentBlockStart(insertion.before);
    const keywordEnd = doc.offsetAt(insertion.before.node.getInstructionRange().end);
    const indent = doc.indentationAt(insertion.before.start);
    const added = insertion.lines.map((line) => `${indent}${line}${eol}`).join('');
    edits.push(Edit.replace(at, keywordEnd, added + doc.text.slice(at, keywordEnd)));
  }

  const platform = (from.node as unknown as { getPlatformFlag(): { getValue(): string | null } | null }).getPlatformFlag()?.getValue();
  const lines = [`FROM ${platform ? `--platform=${platform} ` : ''}${plan.runtime.reference}`];
  for (const instruction of plan.repeated) lines.push(doc.text.slice(instruction.start, instruction.end));
  lines.push(...(plan.env ?? []));
  if (plan.workdir !== '/') lines.push(`WORKDIR ${plan.workdir}`);
  if (plan.packageInstall) lines.push(plan.packageInstall);
  for (const instruction of plan.userRuns) lines.push(doc.text.slice(instruction.start, instruction.end));
  for (const step of plan.setup ?? []) lines.push('run' in step ? `RUN ${step.run}` : `COPY --from=${stageName} ${step.copyFromBuild.join(' ')} ./`);
  for (const artifact of plan.artifacts) lines.push(`COPY --from=${stageName} ${artifact.source} ${copyDestination(plan.workdir, artifact.destination)}`);
  if (plan.user) lines.push(doc.text.slice(plan.user.start, plan.user.end));
  for (const instruction of plan.moved) lines.push(doc.text.slice(doc.commentBlockStart(instruction), doc.lineEnd(instruction.end)));

  const buildEndLines = (plan.buildInsertions ?? []).filter((insertion) => !insertion.before).flatMap((insertion) => insertion.lines);
  const lastBuildStep = model.body[model.body.length - 1] ?? from;
  const buildEnd = doc.nextLineStart(lastBuildStep.end);
  const runtimeAt = model.tail.length > 0 ? doc.commentBlockStart(model.tail[0]) : doc.text.length;
  const endsWithBreak = /\r?\n$/.test(doc.text);
  const atEnd = runtimeAt === doc.text.length;
  const lineBreakFirst = atEnd && !endsWithBreak ? eol : '';

  let buildText = buildEndLines.map((line) => `${line}${eol}`).join('');
  if (buildText !== '' && buildEnd !== runtimeAt) {
    edits.push(Edit.insert(buildEnd, (buildEnd === doc.text.length && !endsWithBreak ? eol : '') + buildText));
    buildText = '';
  }
  const blankBefore = buildText === '' && precededByBlankLine(doc, runtimeAt) ? '' : eol;
  const runtimeText = lines.join(eol) + (atEnd && !endsWithBreak ? '' : eol);
  edits.push(Edit.insert(runtimeAt, lineBreakFirst + buildText + blankBefore + runtimeText));
  return edits;
}

/** `./dist` for a destination inside the working directory, the absolute path otherwise. */
function copyDestination(workdir: string, destination: string): string {
  if (workdir === '/' || !isWithin(destination, workdir)) return destination;
  return destination === workdir ? '.' : `./${posix.relative(workdir, destination)}`;
}

function isBlankLineAt(doc: DockerfileDocument, lineStart: number): boolean {
  return lineStart < doc.text.length && /^[ \t]*$/.test(doc.text.slice(lineStart, doc.lineEnd(lineStart)));
}

function precededByBlankLine(doc: DockerfileDocument, offset: number): boolean {
  if (offset === 0) return true;
  if (offset === doc.text.length && !/\r?\n$/.test(doc.text)) return false;
  return isBlankLineAt(doc, doc.lineStart(offset - 1));
}

function mergeSpans(spans: { start: number; end: number }[]): { start: number; end: number }[] {
  const merged: { start: number; end: number }[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && last.end >= span.start) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/** Removing lines between two blank lines would leave a double blank line: take one of them along. */
function withBlankLineCleanup(doc: DockerfileDocument, span: { start: number; end: number }): number {
  const blankBefore = span.start > 0 && isBlankLineAt(doc, doc.lineStart(span.start - 1));
  return blankBefore && isBlankLineAt(doc, span.end) ? doc.nextLineStart(span.end) : span.end;
}
