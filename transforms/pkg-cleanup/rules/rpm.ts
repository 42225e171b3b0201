// yum, dnf, microdnf and zypper: non-interactive installs without weak
// dependencies / recommends, and a `clean all` at the end of the RUN.
import { hasOption, optionsOf, settingValue, type Invocation, type Tool } from '../invocations.js';
import { addAppend, addMount, addNote, type Plan } from '../plan.js';
import { callsOf, endOfLast, isMounted, removals, removedAfter, type Call, type RunContext } from '../run-context.js';
import { covers } from '../cache-mounts.js';
import { afterCompanions, at, insertFlag, removeCommand, someUnconditional, spelled, subcommandEnd } from './common.js';

const YUM_INSTALLS = new Set(['install', 'in', 'reinstall', 'downgrade', 'groupinstall', 'localinstall']);
const YUM_GROUPED = new Set(['group', 'groups', 'module']);
const YUM_UPGRADES = new Set(['update', 'upgrade', 'update-minimal', 'upgrade-minimal', 'distro-sync', 'dsync']);
/** Subcommands that download repository metadata (or packages) into the cache. */
const YUM_FETCHERS = new Set([...YUM_INSTALLS, ...YUM_GROUPED, ...YUM_UPGRADES, 'makecache', 'builddep', 'swap', 'check-update']);
const RPM_CACHES = ['/var/cache/yum', '/var/cache/dnf', '/var/cache/libdnf5'];

/** How many words the subcommand has (`group install` is two) when it installs, else 0. */
function installWords(invocation: Invocation): number {
  const sub = invocation.subcommand ?? '';
  if (YUM_INSTALLS.has(sub)) return 1;
  const next = invocation.args[invocation.subcommandIndex + 1]?.value;
  if (YUM_GROUPED.has(sub) && next === 'install') return 2;
  return 0;
}

function cacheDirOf(tool: Tool): string {
  return tool === 'dnf' ? '/var/cache/dnf' : '/var/cache/yum';
}

export function planRpm(context: RunContext, plan: Plan): void {
  const all = callsOf(context, 'yum', 'dnf', 'microdnf');
  for (const call of all) {
    const { invocation } = call;
    const words = installWords(invocation);
    if (words > 0) {
      if (!hasOption(invocation, '-y', '--assumeyes', '--assume-yes', '--assumeno')) {
        insertFlag(plan, context, 'safe', `${invocation.program} install gets -y (a build cannot answer prompts)`, subcommandEnd(invocation, words), '-y');
      }
      if (invocation.tool !== 'yum' && settingValue(invocation, ['--setopt'], 'install_weak_deps') === undefined) {
        const companion = (option: { name: string }) => ['-y', '--assumeyes', '-q', '--quiet'].includes(option.name);
        insertFlag(plan, context, 'unsafe', `${invocation.program} install gets --setopt=install_weak_deps=False (weak dependencies are no longer installed: check that the image still works)`, afterCompanions(invocation, words, companion), '--setopt=install_weak_deps=False');
      }
    } else if (YUM_UPGRADES.has(invocation.subcommand ?? '')) {
      addNote(plan, at(context, call.node), `\`${spelled(call)}\` left alone: upgrading inside a build makes it unreproducible; prefer a newer base image`);
    }
  }
  for (const tool of ['yum', 'dnf', 'microdnf'] as const) {
    const fetchers = all.filter((call) => call.invocation.tool === tool && YUM_FETCHERS.has(call.invocation.subcommand ?? ''));
    if (fetchers.length === 0) continue;
    const mounted = isMounted(context, RPM_CACHES);
    if (context.options.cacheMounts && (mounted || tool !== 'microdnf')) {
      if (!mounted) addMount(plan, { target: cacheDirOf(tool), locked: true, tool });
      removeCleanups(context, plan, all.filter((call) => call.invocation.subcommand === 'clean'), RPM_CACHES, `the ${tool} cache now lives in a cache mount`);
      continue;
    }
    if (mounted) continue;
    const last = endOfLast(fetchers);
    const cleaned = all.some((call) => call.invocation.subcommand === 'clean' && call.node.startIndex > last && call.invocation.args.some((arg) => arg.value === 'all'));
    if (cleaned || removedAfter(context, RPM_CACHES, last)) continue;
    if (!someUnconditional(fetchers)) {
      addNote(plan, at(context, fetchers[0].node), `\`${tool} clean all\` not added: ${tool} runs only in some branches of this RUN, so ${tool} may not exist at its end`);
      continue;
    }
    const action = `add \`${tool} clean all\` at the end of the RUN (the metadata and package cache stay in the layer otherwise)`;
    addAppend(plan, 'safe', `${tool} clean all`, action);
    // microdnf's cache directory differs between releases; its `clean all` is the documented cleanup.
    if (tool !== 'microdnf') addAppend(plan, 'safe', `rm -rf ${cacheDirOf(tool)}`, action);
  }
  planZypper(context, plan);
}

const ZYPPER_INSTALLS = new Set(['install', 'in']);
const ZYPPER_UPGRADES = new Set(['update', 'up', 'patch', 'dist-upgrade', 'dup']);
const ZYPPER_FETCHERS = new Set([...ZYPPER_INSTALLS, ...ZYPPER_UPGRADES, 'refresh', 'ref', 'source-install', 'si']);
const ZYPPER_CACHE = '/var/cache/zypp';

function planZypper(context: RunContext, plan: Plan): void {
  const calls = callsOf(context, 'zypper');
  for (const call of calls) {
    const { invocation } = call;
    const sub = invocation.subcommand ?? '';
    if (ZYPPER_INSTALLS.has(sub)) {
      if (!hasOption(invocation, '-n', '--non-interactive', '-y', '--no-confirm')) {
        insertFlag(plan, context, 'safe', 'zypper gets --non-interactive (a build cannot answer prompts)', invocation.nameNode, '--non-interactive');
      }
      if (!hasOption(invocation, '--no-recommends', '--recommends')) {
        insertFlag(plan, context, 'unsafe', 'zypper install gets --no-recommends (recommended packages are no longer installed: check that the image still works)', subcommandEnd(invocation), '--no-recommends');
      }
    } else if (ZYPPER_UPGRADES.has(sub)) {
      addNote(plan, at(context, call.node), `\`${spelled(call)}\` left alone: upgrading inside a build makes it unreproducible; prefer a newer base image`);
    }
  }
  const fetchers = calls.filter((call) => ZYPPER_FETCHERS.has(call.invocation.subcommand ?? ''));
  if (fetchers.length === 0) return;
  const mounted = isMounted(context, [ZYPPER_CACHE]);
  const cleans = calls.filter((call) => call.invocation.subcommand === 'clean' || call.invocation.subcommand === 'cc');
  if (context.options.cacheMounts) {
    if (!mounted) addMount(plan, { target: ZYPPER_CACHE, locked: true, tool: 'zypper' });
    removeCleanups(context, plan, cleans, [ZYPPER_CACHE], 'the zypper cache now lives in a cache mount');
    return;
  }
  if (mounted) return;
  const last = endOfLast(fetchers);
  const cleanedAll = cleans.some((call) => call.node.startIndex > last && optionsOf(call.invocation).some((option) => option.name === '-a' || option.name === '--all'));
  if (cleanedAll || removedAfter(context, [ZYPPER_CACHE], last)) return;
  if (!someUnconditional(fetchers)) {
    addNote(plan, at(context, fetchers[0].node), '`zypper clean --all` not added: zypper runs only in some branches of this RUN');
    return;
  }
  addAppend(plan, 'safe', 'zypper clean --all', 'add `zypper clean --all` at the end of the RUN (repository metadata and packages stay in the layer otherwise)');
}

/** Under --cache-mounts: drop `clean` calls and `rm -rf <cache>` that would empty the mount on every build. */
function removeCleanups(context: RunContext, plan: Plan, cleans: readonly Call[], caches: readonly string[], reason: string): void {
  const why = 'it would empty the cache mount on every build';
  for (const clean of cleans) removeCommand(plan, context, clean, `remove \`${clean.node.text}\` (${reason})`, why);
  for (const removal of removals(context)) {
    if (removal.paths.length === 0 || !removal.paths.every((path) => path !== undefined && caches.some((cache) => covers(cache, path)))) continue;
    removeCommand(plan, context, removal, `remove \`${removal.node.text}\` (${reason})`, why);
  }
}

