// pkg-cleanup: every package install leaves nothing behind in its layer.
// It reads each RUN as shell (tree-sitter-bash), finds the package-manager
// calls it can be sure about, and adds flags in place, an `apt-get update`
// where an install would read stale lists, and the cleanup as a new
// continued line at the end of the RUN. With --cache-mounts it moves the
// caches into BuildKit cache mounts instead. Whatever it cannot be sure
// about becomes a note.
import type { DockerfileDocument, InstructionInfo } from '../../src/dockerfile/document.js';
import { mountFlag, syntaxDirectiveEdit } from './cache-mounts.js';
import { hiddenCalls, packageManagersIn, unreachableRunNote } from './hidden.js';
import { continuationText, flagLinesText, layoutOf, offsetAfter } from '../../src/shell/layout.js';
import { addNote, addStep, emptyPlan, findingOf, type Plan } from './plan.js';
import { planApk } from './rules/apk.js';
import { planApt } from './rules/apt.js';
import { planGem, planNpm, planPip, planYarn } from './rules/language.js';
import { planRpm } from './rules/rpm.js';
import { createRunContext, type RunContext } from './run-context.js';
import { commandArguments, commandName, foreignShell, parseShell, shellScript, sourceOffset, type ShellNode, type ShellScript } from '../../src/shell/script.js';
import { Edit, defineTransform, type Finding, type TransformContext } from '../../src/engine/transform.js';
import { literalValue } from '../../src/shell/structure.js';
import { readmeDocs } from '../../src/engine/docs.js';

export default defineTransform({
  meta: {
    id: 'pkg-cleanup',
    title: 'Leave no package-manager cache in the layer',
    description:
      'Makes apt-get, apk, yum/dnf/microdnf, zypper, pip, npm, yarn and gem installs non-interactive and cache-free within their own RUN, or moves the caches into BuildKit cache mounts with --cache-mounts.',
    safety: 'safe',
    hasUnsafeFixes: true,
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  run(ctx: TransformContext): Finding[] {
    const findings: Finding[] = [];
    for (const instruction of ctx.doc.instructions) {
      if (instruction.keyword !== 'RUN' || ctx.isIgnored(instruction.start)) continue;
      findings.push(...cleanRun(ctx, instruction));
    }
    return findings;
  },
});

const MENTIONS_A_TOOL = /apt|apk|yum|dnf|zypper|pip|python|npm|yarn|gem/;

function cleanRun(ctx: TransformContext, instruction: InstructionInfo): Finding[] {
  const { doc } = ctx;
  const script = shellScript(doc, instruction);
  if (!script) {
    const note = unreachableRunNote(doc, instruction);
    return note ? [{ offset: instruction.start, message: note }] : [];
  }
  // Every call pkg-cleanup can see or report spells a tool's name in the text, so a RUN
  // without any of them needs no parse (most RUNs in a large migration).
  if (!MENTIONS_A_TOOL.test(script.script)) return [];
  const tree = parseShell(script.script);
  try {
    return planRun(ctx, instruction, script, tree.rootNode);
  } finally {
    tree.delete();
  }
}

function planRun(ctx: TransformContext, instruction: InstructionInfo, script: ShellScript, root: ShellNode): Finding[] {
  const { doc } = ctx;
  const tools = packageManagersIn(root);
  if (tools.length === 0) return [];
  if (root.hasError) {
    return [{ offset: instruction.start, message: `RUN calls ${tools.join(', ')} but its shell command does not parse: left alone` }];
  }
  const shell = foreignShell(doc, instruction);
  if (shell !== undefined) {
    return [{ offset: instruction.start, message: `RUN calls ${tools.join(', ')} under SHELL ${shell}: left alone, pkg-cleanup only understands POSIX shells` }];
  }
  const context = createRunContext(doc, instruction, script, root, ctx.options);
  const plan = emptyPlan();
  for (const hidden of hiddenCalls(root)) addNote(plan, sourceOffset(script, hidden.index), hidden.message);
  planApt(context, plan);
  planApk(context, plan);
  planRpm(context, plan);
  planPip(context, plan);
  planNpm(context, plan);
  planYarn(context, plan);
  planGem(context, plan);
  planAppends(context, plan);
  planMounts(context, plan, doc);
  return [
    findingOf(instruction.start, 'safe', plan.safe.actions, plan.safe.edits),
    findingOf(instruction.start, 'unsafe', plan.unsafe.actions, plan.unsafe.edits),
    ...plan.notes.map((note): Finding => ({ offset: note.offset, message: note.message })),
  ].filter((finding): finding is Finding => finding !== undefined);
}

/** Why nothing can be appended to the RUN, or undefined when `&& cleanup` after its last statement always runs last. */
function whyNotAppendable(context: RunContext): string | undefined {
  const last = context.topLinks[context.topLinks.length - 1];
  if (!last) return 'the RUN has no command';
  if (last.after === '&') return 'the RUN ends with a background job';
  if (context.root.lastChild?.type === 'comment') return 'the RUN ends with a shell comment';
  for (const command of context.commands) {
    const name = commandName(command.node);
    const args = commandArguments(command.node).map((arg) => literalValue(arg));
    if (name === 'exec' && args.length > 0) return 'the RUN replaces its shell with `exec`';
    if ((name === 'exit' || name === 'return') && (args.length === 0 || args[0] === undefined || args[0] === '0')) return `the RUN can stop early with \`${command.node.text}\``;
  }
  return undefined;
}

/** Joins the planned cleanups to the end of the RUN, on new continued lines in the RUN's style. */
function planAppends(context: RunContext, plan: Plan): void {
  for (const safety of ['safe', 'unsafe'] as const) {
    const part = plan[safety];
    if (part.append.length === 0) continue;
    const reason = whyNotAppendable(context);
    if (reason) {
      addNote(plan, context.instruction.start, `\`${part.append.join(' && ')}\` not added: ${reason}`);
      continue;
    }
    const last = context.topLinks[context.topLinks.length - 1];
    const at = offsetAfter(context.script, last.end);
    const layout = layoutOf(context.doc, context.script, context.topLinks);
    const edit = Edit.insert(at, continuationText(context.doc, layout, part.append));
    const [first, ...rest] = part.appendActions;
    if (addStep(plan, safety, first, edit)) part.actions.push(...rest.filter((action) => !part.actions.includes(action)));
  }
}

/** --cache-mounts: one `--mount=type=cache,…` line per cache, before the command. */
function planMounts(context: RunContext, plan: Plan, doc: DockerfileDocument): void {
  if (plan.mounts.length === 0) return;
  const layout = layoutOf(doc, context.script, context.topLinks);
  const flags = plan.mounts.map((mount) => mountFlag(mount.target, mount.locked));
  const edits = [Edit.insert(context.script.start, flagLinesText(doc, layout, flags))];
  const directive = syntaxDirectiveEdit(doc);
  if (directive) edits.push(directive);
  const tools = [...new Set(plan.mounts.map((mount) => mount.tool))].join(', ');
  addStep(plan, 'safe', `cache mounts for ${tools} (${plan.mounts.map((mount) => mount.target).join(', ')}) keep the caches out of the layer and reuse them across builds${directive ? '; add `# syntax=docker/dockerfile:1` for RUN --mount' : ''}`, ...edits);
}
