// apt-get and apt: scripts use apt-get, installs are non-interactive and
// skip recommended packages, read lists fetched in the same RUN, and the
// RUN ends by removing those lists.
import { commandArguments, commandName, sourceOffset } from '../../../src/shell/script.js';
import { Edit } from '../../../src/engine/transform.js';
import { covers } from '../cache-mounts.js';
import { isFalse, optionsOf, settingValue, type Invocation } from '../invocations.js';
import { addAppend, addMount, addNote, addStep, type Plan } from '../plan.js';
import { callsOf, endOfLast, isMounted, removals, removedAfter, type Call, type Located, type RunContext } from '../run-context.js';
import { literalValue } from '../../../src/shell/structure.js';
import { after, afterCompanions, at, insertFlag, prefixTarget, removeCommand, someUnconditional, subcommandEnd } from './common.js';

/** apt subcommands that apt-get has with the same meaning. */
const SAME_IN_APT_GET = new Set(['update', 'install', 'remove', 'purge', 'autoremove', 'auto-remove', 'clean', 'autoclean', 'auto-clean', 'build-dep', 'source', 'download', 'changelog', 'check']);
/** `apt upgrade` also installs new dependencies, `apt-get upgrade` does not: same name, different command. */
const UPGRADES = new Set(['upgrade', 'dist-upgrade', 'full-upgrade']);
/** Subcommands that read the package lists (so they need a fresh `apt-get update` before them). */
const LIST_READERS = new Set(['install', 'reinstall', 'build-dep', 'satisfy', 'source', 'download', 'upgrade', 'dist-upgrade', 'full-upgrade']);
const CLEANERS = new Set(['clean', 'autoclean', 'auto-clean']);
/** Subcommands that work from the installed packages' status alone, not from the lists. */
const STATUS_ONLY = new Set(['remove', 'purge', 'autoremove', 'auto-remove', 'autopurge', ...CLEANERS]);

const APT_LISTS = '/var/lib/apt/lists';
const APT_ARCHIVES = '/var/cache/apt';

function assumesYes(invocation: Invocation): boolean {
  const answered = optionsOf(invocation).some((option) => ['-y', '--yes', '--assume-yes', '--assume-no', '--trivial-only'].includes(option.name));
  const configured = settingValue(invocation, ['-o', '--option'], 'APT::Get::Assume-Yes');
  return answered || (configured !== undefined && !isFalse(configured));
}

function decidesRecommends(invocation: Invocation): boolean {
  const options = optionsOf(invocation);
  return options.some((option) => option.name === '--no-install-recommends' || option.name === '--install-recommends') || settingValue(invocation, ['-o', '--option'], 'APT::Install-Recommends') !== undefined;
}

/** `add-apt-repository` refreshes the lists itself unless told not to (-n / --no-update). */
function updatingRepositoryAdds(context: RunContext): Located[] {
  return context.commands.filter((command) => {
    if (commandName(command.node) !== 'add-apt-repository') return false;
    return !commandArguments(command.node).some((arg) => ['-n', '--no-update'].includes(literalValue(arg) ?? ''));
  });
}

export function planApt(context: RunContext, plan: Plan): void {
  const calls = callsOf(context, 'apt-get', 'apt');
  if (calls.length === 0) return;
  const rewrittenInstalls: Call[] = [];
  for (const call of calls) {
    const { invocation } = call;
    const sub = invocation.subcommand;
    const where = at(context, call.node);
    if (sub === undefined) {
      addNote(plan, where, `\`${call.node.text}\` left alone: its subcommand is not a literal word`);
      continue;
    }
    if (invocation.tool === 'apt') {
      if (SAME_IN_APT_GET.has(sub)) {
        // Only a plain word can take the `-get` suffix in place; a quoted `"apt"` stays as written.
        if (invocation.nameNode.firstChild?.type === 'word') {
          addStep(plan, 'safe', `\`apt ${sub}\` → \`apt-get ${sub}\` (apt's command line is not stable for scripts)`, Edit.insert(after(context, invocation.nameNode), '-get'));
          if (sub === 'install') rewrittenInstalls.push(call);
        }
      } else if (UPGRADES.has(sub)) {
        addNote(plan, where, `\`apt ${sub}\` left alone: apt-get has no exact equivalent (apt's upgrade also installs new dependencies); upgrading inside a build is better done by updating the base image`);
      } else {
        addNote(plan, where, `\`apt ${sub}\` left alone: apt-get has no \`${sub}\`, and apt's output is not meant for scripts`);
      }
    } else if (UPGRADES.has(sub)) {
      addNote(plan, where, `\`apt-get ${sub}\` left alone: upgrading inside a build makes it unreproducible; prefer a newer base image`);
    }
    if (sub === 'install') {
      if (!assumesYes(invocation)) {
        insertFlag(plan, context, 'safe', 'apt-get install gets -y (a build cannot answer prompts)', subcommandEnd(invocation), '-y');
      }
      if (!decidesRecommends(invocation)) {
        const yes = (option: { name: string }) => ['-y', '--yes', '--assume-yes', '-q', '--quiet'].includes(option.name);
        insertFlag(plan, context, 'unsafe', 'apt-get install gets --no-install-recommends (recommended packages are no longer installed: check that the image still works)', afterCompanions(invocation, 1, yes), '--no-install-recommends');
      }
    }
  }
  const updates = [...calls.filter((call) => call.invocation.subcommand === 'update'), ...updatingRepositoryAdds(context)];
  // Without a fetch in this RUN there are no lists of its own to remove, only those of a lower layer.
  if (planUpdate(context, plan, calls, updates)) planListCleanup(context, plan, calls, updates, rewrittenInstalls);
}

/** Plans the `apt-get update`; true when the RUN fetches package lists (its own update, or the one added). */
function planUpdate(context: RunContext, plan: Plan, calls: readonly Call[], updates: readonly Located[]): boolean {
  // Upgrades are left alone: an update in front of one would make it upgrade more than it did.
  const installs = calls.filter((call) => LIST_READERS.has(call.invocation.subcommand ?? '') && !UPGRADES.has(call.invocation.subcommand ?? ''));
  if (installs.length === 0) return updates.length > 0;
  const first = installs[0];
  if (updates.some((update) => update.node.startIndex < first.node.startIndex)) return true;
  const target = prefixTarget(first.levels);
  if ('reason' in target) {
    addNote(plan, at(context, first.node), `\`apt-get update\` not added before \`${first.node.text}\`: ${target.reason}; add the update yourself`);
    return updates.length > 0;
  }
  const action = `add \`apt-get update\` before ${first.invocation.program} ${first.invocation.subcommand} (lists from an earlier layer are stale or already removed)`;
  return addStep(plan, 'safe', action, Edit.insert(sourceOffset(context.script, target.start), 'apt-get update && ')) || updates.length > 0;
}

function planListCleanup(context: RunContext, plan: Plan, calls: readonly Call[], updates: readonly Located[], rewrittenInstalls: readonly Call[]): void {
  // What reads the lists: apt/apt-get calls other than update, removals and cleaning, and apt-cache.
  const readers: Located[] = [
    ...calls.filter((call) => call.invocation.subcommand !== 'update' && !STATUS_ONLY.has(call.invocation.subcommand ?? '')),
    ...context.commands.filter((command) => commandName(command.node) === 'apt-cache'),
  ];
  if (readers.length === 0) {
    addNote(
      plan,
      at(context, updates[0]?.node ?? calls[0].node),
      '`apt-get update` without an install in the same RUN leaves the package lists (tens of MB) in this layer and goes stale for later RUNs; merge it into the RUN that installs (pkg-cleanup gives every install its own update)',
    );
    return;
  }
  if (context.options.cacheMounts) {
    planAptCacheMounts(context, plan, calls);
    return;
  }
  if (!isMounted(context, [APT_LISTS]) && !removedAfter(context, [APT_LISTS], endOfLast([...updates, ...readers]))) {
    addAppend(plan, 'safe', `rm -rf ${APT_LISTS}/*`, `add \`rm -rf ${APT_LISTS}/*\` at the end of the RUN (the package lists stay in the layer otherwise)`);
  }
  // apt deletes the .deb files it downloaded (Binary::apt::APT::Keep-Downloaded-Packages "false"); apt-get keeps them,
  // so a rewritten `apt install` keeps that behaviour with an `apt-get clean`.
  if (rewrittenInstalls.length > 0 && !isMounted(context, [APT_ARCHIVES]) && someUnconditional(rewrittenInstalls)) {
    const cleaned = calls.some((call) => CLEANERS.has(call.invocation.subcommand ?? '') && call.node.startIndex > endOfLast(rewrittenInstalls));
    if (!cleaned && !removedAfter(context, [`${APT_ARCHIVES}/archives`], endOfLast(rewrittenInstalls))) {
      plan.safe.append.unshift('apt-get clean');
      plan.safe.appendActions.unshift('add `apt-get clean` at the end of the RUN (apt removed downloaded .deb files itself, apt-get keeps them)');
    }
  }
}

/**
 * --cache-mounts: the lists and the archives live in locked cache mounts
 * instead of the layer. /var/lib/apt/lists rather than all of /var/lib/apt,
 * so that apt's record of automatically installed packages
 * (/var/lib/apt/extended_states) stays in the image. Cleanups of those
 * directories would empty the cache on every build, so they go.
 */
function planAptCacheMounts(context: RunContext, plan: Plan, calls: readonly Call[]): void {
  if (!isMounted(context, [APT_ARCHIVES])) addMount(plan, { target: APT_ARCHIVES, locked: true, tool: 'apt' });
  if (!isMounted(context, [APT_LISTS])) addMount(plan, { target: APT_LISTS, locked: true, tool: 'apt' });
  const why = 'it would empty the apt cache mount on every build';
  for (const call of calls) {
    if (!CLEANERS.has(call.invocation.subcommand ?? '')) continue;
    removeCommand(plan, context, call, `remove \`${call.node.text}\` (the apt cache now lives in a cache mount)`, why);
  }
  for (const removal of removals(context)) {
    const cached = removal.paths.filter((path) => path !== undefined && (covers(APT_LISTS, path) || covers(APT_ARCHIVES, path)));
    if (cached.length === 0) continue;
    if (cached.length !== removal.paths.length) {
      addNote(plan, at(context, removal.node), `\`${removal.node.text}\` left in place: ${why} (it also removes other paths)`);
      continue;
    }
    removeCommand(plan, context, removal, `remove \`${removal.node.text}\` (the apt lists now live in a cache mount)`, why);
  }
}
