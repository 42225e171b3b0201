// Language package managers: pip without its wheel cache, npm and yarn
// cleaning their download caches, gem without generated documentation.
import { covers } from '../cache-mounts.js';
import { hasOption, optionsOf } from '../invocations.js';
import { addAppend, addMount, addNote, type Plan } from '../plan.js';
import { callsOf, endOfLast, exportedBefore, isMounted, removals, removedAfter, type Call, type RunContext } from '../run-context.js';
import { at, insertFlag, removeArgument, removeCommand, someUnconditional, spelled, subcommandEnd } from './common.js';

const PIP_CACHE = '/root/.cache/pip';

function mountedBelowHome(context: RunContext, relative: string, absolute: readonly string[]): boolean {
  return isMounted(context, absolute) || context.cacheMounts.some((target) => target.endsWith(relative));
}

export function planPip(context: RunContext, plan: Plan): void {
  const installs = callsOf(context, 'pip').filter((call) => call.invocation.subcommand === 'install');
  if (installs.length === 0) return;
  const mounted = mountedBelowHome(context, '/.cache/pip', [PIP_CACHE]);
  const disabledByEnv = (call: Call) =>
    context.stageEnv.has('PIP_NO_CACHE_DIR') || call.invocation.envPrefix.includes('PIP_NO_CACHE_DIR') || exportedBefore(context, 'PIP_NO_CACHE_DIR', call.node.startIndex);
  if (context.options.cacheMounts && (mounted || context.runsAsRoot)) {
    if (!mounted) addMount(plan, { target: PIP_CACHE, locked: false, tool: 'pip' });
    for (const call of installs) {
      for (const option of optionsOf(call.invocation)) {
        if (option.name !== '--no-cache-dir') continue;
        removeArgument(plan, context, call.invocation.args[option.index].node, `remove --no-cache-dir from ${spelled(call)} (the pip cache now lives in a cache mount)`);
      }
      if (disabledByEnv(call)) addNote(plan, at(context, call.node), 'PIP_NO_CACHE_DIR is set, so pip will not use the cache mount; drop it to benefit from the mount');
    }
    return;
  }
  if (mounted) return;
  if (context.options.cacheMounts) noteNotRoot(context, plan, installs[0], 'pip');
  for (const call of installs) {
    const { invocation } = call;
    // --cache-dir: the user chose where the cache goes (and --no-cache-dir would contradict it).
    if (hasOption(invocation, '--no-cache-dir', '--cache-dir') || disabledByEnv(call)) continue;
    insertFlag(plan, context, 'safe', `${spelled(call)} gets --no-cache-dir (pip's wheel cache stays in the layer otherwise)`, subcommandEnd(invocation), '--no-cache-dir');
  }
}

const NPM_INSTALLS = new Set(['install', 'i', 'in', 'ci', 'add', 'clean-install', 'install-clean', 'isntall']);
const NPM_CACHES = ['/root/.npm', '~/.npm'];

export function planNpm(context: RunContext, plan: Plan): void {
  const calls = callsOf(context, 'npm');
  const installs = calls.filter((call) => NPM_INSTALLS.has(call.invocation.subcommand ?? ''));
  if (installs.length === 0) return;
  const mounted = mountedBelowHome(context, '/.npm', NPM_CACHES);
  const customCache = installs.find((call) => hasOption(call.invocation, '--cache') || call.invocation.envPrefix.some((name) => name.toLowerCase() === 'npm_config_cache'));
  if (customCache || [...context.stageEnv].some((name) => name.toLowerCase() === 'npm_config_cache')) {
    addNote(plan, at(context, (customCache ?? installs[0]).node), 'npm cache cleanup not added: the npm cache is set to a custom location here');
    return;
  }
  const cacheCleans = calls.filter((call) => call.invocation.subcommand === 'cache' && ['clean', 'clear', 'rm'].includes(call.invocation.args[call.invocation.subcommandIndex + 1]?.value ?? ''));
  if (context.options.cacheMounts && (mounted || context.runsAsRoot)) {
    if (!mounted) addMount(plan, { target: '/root/.npm', locked: false, tool: 'npm' });
    removeCacheCleanups(context, plan, cacheCleans, NPM_CACHES, 'the npm cache now lives in a cache mount');
    return;
  }
  if (mounted) return;
  if (context.options.cacheMounts) noteNotRoot(context, plan, installs[0], 'npm');
  const last = endOfLast(installs);
  if (cacheCleans.some((call) => call.node.startIndex > last) || removedAfter(context, NPM_CACHES, last)) return;
  if (!someUnconditional(installs)) {
    addNote(plan, at(context, installs[0].node), '`npm cache clean --force` not added: npm runs only in some branches of this RUN');
    return;
  }
  addAppend(plan, 'safe', 'npm cache clean --force', 'add `npm cache clean --force` at the end of the RUN (npm\'s download cache stays in the layer otherwise)');
}

const YARN_CACHES = ['/usr/local/share/.cache/yarn', '/root/.cache/yarn', '~/.cache/yarn'];

export function planYarn(context: RunContext, plan: Plan): void {
  const calls = callsOf(context, 'yarn');
  const installs = calls.filter((call) => {
    const sub = call.invocation.subcommand;
    return sub === undefined ? call.invocation.subcommandIndex < 0 : sub === 'install' || sub === 'add' || sub === 'global add';
  });
  if (installs.length === 0) return;
  const mounted = mountedBelowHome(context, '/.cache/yarn', YARN_CACHES);
  if (context.yarnBerry) {
    addNote(plan, at(context, installs[0].node), '`yarn cache clean` not added: this Dockerfile uses Yarn 2+ (corepack, .yarnrc.yml or --immutable), whose cache can be part of the project');
    return;
  }
  const cacheCleans = calls.filter((call) => call.invocation.subcommand === 'cache' && call.invocation.args[call.invocation.subcommandIndex + 1]?.value === 'clean');
  if (context.options.cacheMounts && (mounted || context.runsAsRoot)) {
    if (!mounted) addMount(plan, { target: YARN_CACHES[0], locked: true, tool: 'yarn' });
    removeCacheCleanups(context, plan, cacheCleans, YARN_CACHES, 'the yarn cache now lives in a cache mount');
    return;
  }
  if (mounted) return;
  if (context.options.cacheMounts) noteNotRoot(context, plan, installs[0], 'yarn');
  const last = endOfLast(installs);
  if (cacheCleans.some((call) => call.node.startIndex > last) || removedAfter(context, YARN_CACHES, last)) return;
  if (!someUnconditional(installs)) {
    addNote(plan, at(context, installs[0].node), '`yarn cache clean` not added: yarn runs only in some branches of this RUN');
    return;
  }
  // Unsafe: a Yarn 2+ project can look like Yarn 1 from the Dockerfile (yarnPath in .yarnrc.yml), and there
  // `yarn cache clean` deletes the project's own .yarn/cache that Plug'n'Play loads packages from.
  addAppend(plan, 'unsafe', 'yarn cache clean', 'add `yarn cache clean` at the end of the RUN (with Yarn 2+ this would delete the project\'s .yarn/cache: check the project uses Yarn 1)');
}

function removeCacheCleanups(context: RunContext, plan: Plan, cleans: readonly Call[], caches: readonly string[], reason: string): void {
  const why = 'it would empty the cache mount on every build';
  for (const clean of cleans) removeCommand(plan, context, clean, `remove \`${clean.node.text}\` (${reason})`, why);
  for (const removal of removals(context)) {
    if (removal.paths.length === 0 || !removal.paths.every((path) => path !== undefined && caches.some((cache) => covers(cache, path)))) continue;
    removeCommand(plan, context, removal, `remove \`${removal.node.text}\` (${reason})`, why);
  }
}

function noteNotRoot(context: RunContext, plan: Plan, call: Call, tool: string): void {
  addNote(plan, at(context, call.node), `no cache mount for ${tool}: the RUN runs as a non-root USER, whose cache directory is not known here; cleaned up in the layer instead`);
}

export function planGem(context: RunContext, plan: Plan): void {
  for (const call of callsOf(context, 'gem')) {
    const { invocation } = call;
    if (invocation.subcommand !== 'install') continue;
    // --no-ri/--no-rdoc are the RubyGems < 3 spellings; --document means the user wants docs.
    if (hasOption(invocation, '--no-document', '-N', '--no-ri', '--no-rdoc', '--document')) continue;
    insertFlag(plan, context, 'safe', 'gem install gets --no-document (generated ri/rdoc documentation stays in the layer otherwise)', subcommandEnd(invocation), '--no-document');
  }
  const old = callsOf(context, 'gem').find((call) => hasOption(call.invocation, '--no-ri', '--no-rdoc'));
  if (old) addNote(plan, at(context, old.node), '--no-ri/--no-rdoc were removed in RubyGems 3; newer gem versions need --no-document');
}
