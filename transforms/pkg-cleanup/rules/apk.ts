// apk: `apk add --no-cache` fetches a fresh index in memory and stores
// nothing, which makes a preceding `apk update` and a trailing
// `rm -rf /var/cache/apk/*` useless.
import { covers } from '../cache-mounts.js';
import { hasOption } from '../invocations.js';
import { addNote, type Plan } from '../plan.js';
import { callsOf, isMounted, removals, type RunContext } from '../run-context.js';
import { at, insertFlag, removeCommand, subcommandEnd } from './common.js';

const APK_CACHE = '/var/cache/apk';
/** With these only, the RUN needs no stored index once every add has --no-cache. */
const INDEX_FREE = new Set(['add', 'del', 'update']);

export function planApk(context: RunContext, plan: Plan): void {
  const calls = callsOf(context, 'apk');
  if (calls.length === 0) return;
  // A cache mount (or the /etc/apk/cache link it needs) means the user keeps the cache on purpose.
  if (isMounted(context, [APK_CACHE, '/etc/apk/cache'])) return;
  const adds = calls.filter((call) => call.invocation.subcommand === 'add');
  const updates = calls.filter((call) => call.invocation.subcommand === 'update');
  if (adds.length === 0) {
    if (updates.length > 0) addNote(plan, at(context, updates[0].node), '`apk update` alone in a RUN leaves the package index in this layer; use `apk add --no-cache` in the RUN that installs instead');
    return;
  }
  for (const add of adds) {
    if (!hasOption(add.invocation, '--no-cache')) insertFlag(plan, context, 'safe', 'apk add gets --no-cache (no index or package cache in the layer)', subcommandEnd(add.invocation), '--no-cache');
  }
  for (const call of calls) {
    if (call.invocation.subcommand === 'upgrade') addNote(plan, at(context, call.node), '`apk upgrade` left alone, and the `apk update` it relies on with it: upgrading inside a build makes it unreproducible; prefer a newer base image');
  }
  if (!calls.every((call) => INDEX_FREE.has(call.invocation.subcommand ?? ''))) return;
  const lastAdd = adds[adds.length - 1].node.startIndex;
  let allUpdatesGone = true;
  for (const update of updates) {
    if (update.node.startIndex > lastAdd) {
      allUpdatesGone = false;
      continue;
    }
    allUpdatesGone = removeCommand(plan, context, update, 'remove `apk update` (`apk add --no-cache` fetches a fresh index itself)', 'its index stays in the layer') && allUpdatesGone;
  }
  if (!allUpdatesGone) return;
  for (const removal of removals(context)) {
    if (removal.paths.length === 0 || !removal.paths.every((path) => path !== undefined && covers(APK_CACHE, path))) continue;
    removeCommand(plan, context, removal, `remove \`${removal.node.text}\` (with --no-cache there is nothing to remove)`, 'it is harmless');
  }
}
