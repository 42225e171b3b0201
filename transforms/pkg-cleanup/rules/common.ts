// Small pieces every package-manager rule of pkg-cleanup uses: where to put
// a flag, how to put a command before another one, how to drop a cleanup
// command, and the notes that explain why something was left alone.
import { sourceOffset, type ShellNode } from '../../../src/shell/script.js';
import { Edit, type Safety } from '../../../src/engine/transform.js';
import { type Invocation, type Option, optionsOf } from '../invocations.js';
import { offsetAfter, operandRemovalSpan } from '../../../src/shell/layout.js';
import { addNote, addStep, type Plan } from '../plan.js';
import type { Call, Located, RunContext } from '../run-context.js';
import { runsUnconditionally, type Level } from '../../../src/shell/structure.js';

/** Dockerfile offset just after a shell node (same line, even before a continuation). */
export function after(context: RunContext, node: ShellNode): number {
  return offsetAfter(context.script, node.endIndex);
}

/** Dockerfile offset of the first character of a shell node. */
export function at(context: RunContext, node: ShellNode): number {
  return sourceOffset(context.script, node.startIndex);
}

/** How a call is written, for messages: `apt-get install`, `python3 -m pip install`. */
export function spelled(call: Call): string {
  const { invocation } = call;
  return invocation.subcommand ? `${invocation.program} ${invocation.subcommand}` : invocation.program;
}

/** The node after which a flag for the subcommand goes: the subcommand, or the last word of `group install`. */
export function subcommandEnd(invocation: Invocation, words = 1): ShellNode {
  return invocation.args[invocation.subcommandIndex + words - 1].node;
}

/**
 * Where to insert a second flag right after the subcommand so that it reads
 * `install -y --no-install-recommends`: after the options that directly
 * follow the subcommand and satisfy `isCompanion`.
 */
export function afterCompanions(invocation: Invocation, words: number, isCompanion: (option: Option) => boolean): ShellNode {
  const options = optionsOf(invocation);
  let last = subcommandEnd(invocation, words);
  for (let i = invocation.subcommandIndex + words; i < invocation.args.length; i++) {
    const own = options.filter((option) => option.index === i);
    if (own.length === 0 || !own.every(isCompanion)) break;
    last = invocation.args[i].node;
  }
  return last;
}

export function insertFlag(plan: Plan, context: RunContext, safety: Safety, action: string, node: ShellNode, flag: string): boolean {
  return addStep(plan, safety, action, Edit.insert(after(context, node), ` ${flag}`));
}

/** True when the call runs whenever the RUN gets to its end, so a cleanup using the same tool can follow. */
export function someUnconditional(calls: readonly Located[]): boolean {
  return calls.some((call) => runsUnconditionally(call.levels));
}

/**
 * The script position where `cmd && ` can be put in front of the call: the call's
 * own chain, or the chain that holds the loop around it (one update before a
 * loop, not one per iteration). Undefined with the reason when the operand
 * follows `||`, is negated, or runs in the background.
 */
export function prefixTarget(levels: readonly Level[]): { start: number } | { reason: string } {
  let index = 0;
  while (levels[index].kind === 'loop' && index + 1 < levels.length) index++;
  const level = levels[index];
  const link = level.links[level.index];
  if (link.before === '||') return { reason: 'it runs only when the command before `||` fails' };
  if (link.after === '&') return { reason: 'it runs in the background' };
  if (link.negated) return { reason: 'it is negated with `!`' };
  return { start: link.start };
}

/** Removes a whole cleanup command from its chain when that keeps the chain's meaning, else notes why not. */
export function removeCommand(plan: Plan, context: RunContext, located: Located, action: string, whyKeep: string): boolean {
  const level = located.levels[0];
  const link = level.links[level.index];
  if (!link.bare || !link.node.equals(located.node)) {
    addNote(plan, at(context, located.node), `\`${located.node.text}\` left in place: ${whyKeep} (it is part of a pipeline or has redirections)`);
    return false;
  }
  const span = operandRemovalSpan(context.doc, context.script, level.links, level.index);
  if (!span) {
    addNote(plan, at(context, located.node), `\`${located.node.text}\` left in place: ${whyKeep} (removing it would change the \`&&\`/\`||\` logic around it or drop a comment)`);
    return false;
  }
  return addStep(plan, 'safe', action, Edit.remove(span.start, span.end));
}

/** Removes one option word (with the blank before it), e.g. `--no-cache-dir` under --cache-mounts. */
export function removeArgument(plan: Plan, context: RunContext, node: ShellNode, action: string): boolean {
  const previous = node.previousSibling;
  if (!previous) return false;
  const start = after(context, previous);
  const end = after(context, node);
  const text = context.doc.text.slice(start, end);
  if (/(?:\r\n|\r|\n)[ \t]*#/.test(text)) return false;
  return addStep(plan, 'safe', action, Edit.remove(start, end));
}
