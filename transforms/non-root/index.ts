// non-root: make the final stage run as a non-root user. It reuses a user the
// Dockerfile or the base image already has, and otherwise creates one with the
// distro's own tools; it never guesses a distro it does not know.
import type { From } from 'dockerfile-ast';
import path from 'node:path';
import {
  describeBaseImage,
  expandVariables,
  globalArgDefaults,
  isRootUser,
  propertiesOf,
  refineWithConfig,
  stageBase,
  userCreationCommand,
  type BaseImageFacts,
  type StageBase,
  type DistroFamily,
  type ImageUser,
  type UserTools,
} from '../../src/image/base-image.js';
import type { DockerfileDocument, InstructionInfo, Stage } from '../../src/dockerfile/document.js';
import { formatPlatform, parsePlatform } from '../../src/image/resolver.js';
import {
  commandArguments,
  commandName,
  descendantsOfType,
  hasHeredoc,
  isExecForm,
  parseShell,
  shellScript,
  type ShellNode,
} from '../../src/shell/script.js';
import { defineTransform, Edit, type Finding, type TransformContext } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

const ID = 'non-root';

/** The user dockopt creates when the image has none: a fixed id outside every distro's system and login ranges. */
export const CREATED_USER: ImageUser = { name: 'app', group: 'app', uid: 10001, gid: 10001 };

export default defineTransform({
  meta: {
    id: ID,
    title: 'Run the final stage as a non-root user',
    description: 'Switches the final stage to a non-root USER, reusing the user the image or the Dockerfile already has or creating one with the distro\'s own tools.',
    safety: 'unsafe',
    network: false,
    runsAfter: ['multi-stage'],
    docs: readmeDocs(import.meta.url),
  },
  async run(ctx) {
    const doc = ctx.doc;
    const final = doc.stages[doc.stages.length - 1];
    if (!final || ctx.isIgnored(final.from.start)) return [];
    const base = stageBase(doc, final.index);
    const known = base.reference === undefined ? undefined : describeBaseImage(base.reference);
    const unrefined = walkChain(doc, base.chain, final, known);
    const writtenUser = lastUserStep(unrefined);
    // A non-root USER of the file, or a root one the author told dockopt to ignore, settles it without asking a registry.
    const settled = writtenUser?.userValue !== undefined && (!isRootUser(writtenUser.userValue) || ctx.isIgnored(writtenUser.info.start));
    const { facts, lookupError } = settled ? { facts: known } : await refineFromRegistry(ctx, known, basePlatform(base));
    // The config's Env may give a value to a variable that USER, WORKDIR or COPY use.
    const steps = facts?.env === known?.env ? unrefined : walkChain(doc, base.chain, final, facts);
    const lookupFailed: Finding[] = lookupError === undefined ? [] : [{ offset: final.from.start, message: `reading the image config of ${base.reference} failed: ${lookupError}`, severity: 'error' }];
    const note = (message: string): Finding[] => [...lookupFailed, { offset: final.from.start, message }];

    const lastUser = lastUserStep(steps);
    if (lastUser) {
      if (lastUser.userValue === undefined) {
        const written = lastUser.info.node.getArgumentsContent() ?? '';
        return [...lookupFailed, { offset: lastUser.info.start, message: `USER ${written} uses a variable dockopt cannot resolve, so it cannot tell whether the container runs as root` }];
      }
      if (!isRootUser(lastUser.userValue)) return [...lookupFailed, ...hazards(doc, steps, lastUser.userValue)];
      if (ctx.isIgnored(lastUser.info.start)) return lookupFailed;
    }

    if (lastUser === undefined && facts?.runsAsNonRoot === true) {
      return [...lookupFailed, ...hazards(doc, steps, facts.user ? `${facts.user.uid}:${facts.user.gid}` : 'the image\'s user')];
    }
    const blocker = whyItMustStayRoot(steps, facts);
    if (blocker !== undefined) return note(`left as root: ${blocker}`);

    const choice = chooseUser(steps, final, base, facts, lastUser);
    if (typeof choice === 'string') return note(`left as root: ${choice}`);
    const edits = buildEdits(ctx, steps, final, choice, lastUser);
    return [
      ...lookupFailed,
      { offset: (lastUser?.inFinalStage ? lastUser.info : final.from).start, message: choice.message, edits },
      ...hazards(doc, steps, choice.user),
    ];
  },
});

// ---- the base image ------------------------------------------------------------

interface BaseLookup {
  readonly facts?: BaseImageFacts;
  /** Why the registry lookup of the image config failed, when one was tried. */
  readonly lookupError?: string;
}

/**
 * A resolver that can read image configs (the CLI's does when pin-base is
 * selected) fills in what the image name does not tell; images dockopt knows
 * well enough are not looked up.
 */
async function refineFromRegistry(ctx: TransformContext, facts: BaseImageFacts | undefined, platform: string | undefined): Promise<BaseLookup> {
  const resolver = ctx.resolver;
  const incomplete = facts !== undefined && (facts.runsAsNonRoot === undefined || (facts.userTools === undefined && facts.user === undefined));
  if (!incomplete || !facts.image || !resolver) return { facts };
  try {
    return { facts: refineWithConfig(facts, await resolver.imageConfig(facts.image, platform)) };
  } catch (error) {
    return { facts, lookupError: (error as Error).message };
  }
}

/** The literal --platform of the FROM the stage chain starts at; undefined leaves the choice to the resolver. */
function basePlatform(base: StageBase): string | undefined {
  const from = base.chain[0]?.from.node as From | undefined;
  const flag = from?.getPlatformFlag()?.getValue();
  const platform = !flag || flag.includes('$') ? undefined : parsePlatform(flag);
  return platform && formatPlatform(platform);
}

function lastUserStep(steps: readonly Step[]): Step | undefined {
  return steps.filter((step) => step.info.keyword === 'USER').pop();
}

// ---- walking the stage chain -------------------------------------------------------

interface Step {
  readonly info: InstructionInfo;
  readonly inFinalStage: boolean;
  /** ENV and ARG values in scope (undefined value = declared but unknown). */
  readonly lookup: (name: string) => string | undefined;
  /** Absolute WORKDIR in effect, or undefined when unset (image default) or not resolvable. */
  readonly workdir: string | undefined;
  /** For USER: the value after substitution, undefined if it cannot be resolved. */
  readonly userValue?: string;
  /** For RUN: the commands it runs, as far as they can be read. */
  readonly commands: readonly ShellCommand[];
}

interface ShellCommand {
  readonly name: string;
  /** Literal arguments; undefined where an argument is not a literal. */
  readonly args: readonly (string | undefined)[];
}

function walkChain(doc: DockerfileDocument, chain: readonly Stage[], final: Stage, facts: BaseImageFacts | undefined): Step[] {
  const globals = globalArgDefaults(doc);
  const env = new Map<string, string | undefined>(Object.entries(facts?.env ?? {}));
  let args = new Map<string, string | undefined>();
  let workdir: string | undefined;
  const steps: Step[] = [];
  for (const stage of chain) {
    args = new Map();
    for (const info of stage.instructions) {
      const envNow = new Map(env);
      const argsNow = new Map(args);
      const lookup = (name: string) => (envNow.has(name) ? envNow.get(name) : argsNow.get(name));
      const raw = info.node.getArgumentsContent() ?? '';
      let userValue: string | undefined;
      if (info.keyword === 'USER') userValue = expandVariables(raw.trim(), lookup);
      steps.push({ info, inFinalStage: stage === final, lookup, workdir, userValue, commands: info.keyword === 'RUN' ? runCommands(doc, info, lookup) : [] });
      if (info.keyword === 'ENV') {
        for (const property of propertiesOf(info)) env.set(property.name, property.value === undefined ? undefined : expandVariables(property.value, lookup));
      } else if (info.keyword === 'ARG') {
        for (const property of propertiesOf(info)) {
          args.set(property.name, property.value === undefined ? globals.get(property.name) : expandVariables(property.value, lookup));
        }
      } else if (info.keyword === 'WORKDIR') {
        const value = expandVariables(raw.trim(), lookup);
        workdir = value === undefined ? undefined : value.startsWith('/') ? normalized(value) : workdir && normalized(path.posix.join(workdir, value));
      }
    }
  }
  return steps;
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', '/bin/sh', '/bin/bash', '/bin/ash', '/bin/dash', '/usr/bin/bash', '/usr/bin/zsh']);

/** The commands a RUN runs, from its shell form, its exec form, or a heredoc fed to a shell. */
function runCommands(doc: DockerfileDocument, info: InstructionInfo, lookup: (name: string) => string | undefined): ShellCommand[] {
  const scripts: string[] = [];
  if (hasHeredoc(info)) {
    const node = info.node as unknown as { getHeredocs(): { getContentRange(): Parameters<DockerfileDocument['span']>[0] | null }[] };
    const firstBody = node.getHeredocs()[0]?.getContentRange();
    const head = info.node
      .getArguments()
      .filter((arg) => !firstBody || doc.offsetAt(arg.getRange().start) < doc.offsetAt(firstBody.start))
      .map((arg) => arg.getValue())
      .filter((word) => !word.startsWith('<<') && !word.startsWith('-'));
    if (head.length === 0 || SHELLS.has(head[0])) {
      for (const heredoc of node.getHeredocs()) {
        const range = heredoc.getContentRange();
        if (range) scripts.push(doc.text.slice(doc.offsetAt(range.start), doc.offsetAt(range.end)));
      }
    }
  } else {
    const raw = info.node.getArgumentsContent() ?? '';
    if (isExecForm(raw)) {
      const argv = JSON.parse(raw.trim()) as string[];
      const dashC = argv.indexOf('-c');
      if (SHELLS.has(argv[0]) && dashC !== -1 && argv[dashC + 1] !== undefined) scripts.push(argv[dashC + 1]);
      else if (argv.length > 0) return [{ name: path.posix.basename(argv[0]), args: argv.slice(1) }];
    } else {
      const script = shellScript(doc, info);
      if (script) scripts.push(script.script);
    }
  }
  return scripts.flatMap((script) => commandsOf(script, lookup));
}

function commandsOf(script: string, lookup: (name: string) => string | undefined): ShellCommand[] {
  const tree = parseShell(script);
  return descendantsOfType(tree.rootNode, 'command').flatMap((command) => {
    const name = commandName(command);
    if (name === undefined) return [];
    return [{ name: path.posix.basename(name), args: commandArguments(command).map((arg) => literal(arg, lookup)) }];
  });
}

/** The value of a shell word when it is a literal (or expands from known ENV/ARG values). */
function literal(node: ShellNode, lookup: (name: string) => string | undefined): string | undefined {
  switch (node.type) {
    case 'word':
    case 'number':
      return /[$`\\]/.test(node.text) ? undefined : node.text;
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'simple_expansion':
    case 'expansion':
      return expandVariables(node.text, lookup);
    case 'string':
    case 'concatenation': {
      let value = '';
      for (const child of node.namedChildren) {
        if (!child) return undefined;
        const part = child.type === 'string_content' ? child.text : literal(child, lookup);
        if (part === undefined) return undefined;
        value += part;
      }
      return value;
    }
    default:
      return undefined;
  }
}

// ---- reasons to leave the file alone -----------------------------------------------

const PRIVILEGE_DROPPERS = /(?:^|[\s/"'])(gosu|su-exec|setpriv|runuser|s6-setuidgid|chpst|setuidgid|supervisord)(?=$|[\s"',\]])/m;

const PACKAGE_MANAGER_FAMILY: Readonly<Record<string, DistroFamily>> = {
  'apt-get': 'debian',
  apt: 'debian',
  dpkg: 'debian',
  install_packages: 'debian',
  apk: 'alpine',
  dnf: 'rhel',
  yum: 'rhel',
  microdnf: 'rhel',
};

/** Why the container has to keep starting as root, whichever user there is to switch to. */
function whyItMustStayRoot(steps: readonly Step[], facts: BaseImageFacts | undefined): string | undefined {
  if (facts?.family === 'windows') return 'Windows images are not handled';
  if (facts?.needsRoot) return `${facts.reference} has to start as root: ${facts.needsRoot}`;
  const keywords = new Set(steps.map((step) => step.info.keyword));
  if (keywords.has('ONBUILD')) return 'ONBUILD makes this a base image for other Dockerfiles, whose RUN steps would then run as non-root';
  if (!keywords.has('CMD') && !keywords.has('ENTRYPOINT')) {
    return 'there is no CMD or ENTRYPOINT, so this looks like a base image for other Dockerfiles, whose RUN steps would then run as non-root';
  }
  for (const step of steps) {
    if (!['RUN', 'COPY', 'ADD', 'ENTRYPOINT', 'CMD'].includes(step.info.keyword)) continue;
    const text = step.info.node.getArgumentsContent() ?? '';
    const dropper = PRIVILEGE_DROPPERS.exec(text)?.[1];
    if (dropper) return `a ${step.info.keyword} uses ${dropper}, so the container presumably starts as root and drops privileges itself`;
    if (step.info.keyword === 'ENTRYPOINT' && /^\s*(?:\[\s*")?\/init(?:"|\s|$)/.test(text)) return 'the entrypoint is /init (s6-overlay), which has to start as root';
  }
  return undefined;
}

/** A RUN that uses another distro's package manager than the image name says: the name is not to be trusted. */
function packageManagerConflict(steps: readonly Step[], facts: BaseImageFacts): string | undefined {
  if (!facts.family) return undefined;
  for (const step of steps) {
    for (const command of step.commands) {
      const family = PACKAGE_MANAGER_FAMILY[command.name];
      if (family && !sameFamily(family, facts.family)) {
        return `${facts.source} looks ${facts.family}-based, but a RUN uses ${command.name}; dockopt will not guess which distro this is`;
      }
    }
  }
  return undefined;
}

function sameFamily(packageFamily: DistroFamily, imageFamily: DistroFamily): boolean {
  // Wolfi (Chainguard's -dev images) uses apk too.
  if (packageFamily === 'alpine' && imageFamily === 'wolfi') return true;
  return packageFamily === imageFamily;
}

// ---- which user --------------------------------------------------------------------

interface UserChoice {
  /** The USER value. */
  readonly user: string;
  /** The --chown value, or undefined when the group is not known. */
  readonly chown?: string;
  /** COPY/ADD after this offset may name the user (the user exists from there on). */
  readonly existsAfter: number;
  /** The user-creation RUN and the instruction it goes after, when dockopt creates the user. */
  readonly create?: { readonly command: string; readonly after: InstructionInfo };
  readonly message: string;
}

function chooseUser(steps: readonly Step[], final: Stage, base: StageBase, facts: BaseImageFacts | undefined, lastUser: Step | undefined): UserChoice | string {
  const fromStart = final.from.start;
  const spec = (user: ImageUser) => `${user.uid}:${user.gid}`;

  // The user the file ran as before it switched to root: it exists, whatever the base image is.
  const earlier = [...steps].reverse().find((step) => step.info.keyword === 'USER' && step !== lastUser && step.userValue !== undefined && !isRootUser(step.userValue));
  const { users: created, unreadable } = createdUsers(steps, facts?.family);
  if (earlier?.userValue !== undefined) {
    const value = earlier.userValue;
    const known: { group?: string } | undefined = created.get(value) ?? (facts?.user?.name === value ? facts.user : undefined);
    const chown = value.includes(':') ? value : known?.group !== undefined ? `${value}:${known.group}` : undefined;
    return {
      user: value,
      chown,
      existsAfter: earlier.inFinalStage ? earlier.info.start : fromStart,
      message: `the container runs as root after USER ${lastUser?.userValue}; switch back to ${value}`,
    };
  }

  // A user a RUN of this file creates but never switches to.
  const fileUser = [...created.values()].pop();
  if (fileUser) {
    const numeric = fileUser.uid !== undefined && fileUser.gid !== undefined ? `${fileUser.uid}:${fileUser.gid}` : undefined;
    return {
      user: numeric ?? fileUser.name,
      chown: numeric ?? (fileUser.group !== undefined ? `${fileUser.name}:${fileUser.group}` : undefined),
      existsAfter: fileUser.step.inFinalStage ? fileUser.step.info.start : fromStart,
      message: `the container runs as root; run it as ${fileUser.name}, the user a RUN of this file creates`,
    };
  }

  if (unreadable) return 'a RUN creates a user whose name dockopt cannot read, and it will not create a second one; add a USER by hand';
  if (base.unresolved !== undefined) return `the base image ${base.unresolved || '(none)'} is a build argument without a default, so dockopt cannot tell which user to use`;
  if (!facts) return 'the final stage has no base image dockopt can read';
  if (facts.runsAsNonRoot === undefined) return `${facts.source}, so it may already run as non-root or ship its own users; add a USER by hand`;
  if (facts.user) {
    return {
      user: spec(facts.user),
      chown: spec(facts.user),
      existsAfter: fromStart,
      message: `the container runs as root; run it as ${facts.user.name} (${spec(facts.user)}), the user ${facts.source} ships`,
    };
  }
  if (facts.family === 'scratch') {
    return {
      user: spec(CREATED_USER),
      chown: spec(CREATED_USER),
      existsAfter: fromStart,
      message: `the container runs as root; run it as ${spec(CREATED_USER)} (scratch has no user database, and a numeric USER needs none)`,
    };
  }

  const conflict = packageManagerConflict(steps, facts);
  if (conflict) return conflict;
  if (facts.userTools === undefined) return `${facts.source}: dockopt does not know its distro, so it cannot tell how to add a user`;
  const tools = toolsAvailable(steps, facts);
  const command = tools && userCreationCommand(tools.tools, CREATED_USER);
  if (!tools || !command) return `${facts.source} has no tools to add a user (install shadow-utils in a RUN, or add the user by hand)`;
  const after = tools.after ?? final.from;
  return {
    user: spec(CREATED_USER),
    chown: spec(CREATED_USER),
    existsAfter: after.start,
    create: { command, after },
    message: `the container runs as root; create user ${CREATED_USER.name} (${spec(CREATED_USER)}) with ${tools.tools === 'shadow' ? 'groupadd/useradd' : 'addgroup/adduser'} and run as it`,
  };
}

/** The tools the final stage has for adding users, and the RUN after which they exist when a RUN installs them. */
function toolsAvailable(steps: readonly Step[], facts: BaseImageFacts): { tools: UserTools; after?: InstructionInfo } | undefined {
  if (facts.userTools === 'shadow' || facts.userTools === 'busybox') return { tools: facts.userTools };
  if (facts.family !== 'rhel') return undefined;
  const installer = steps.find((step) =>
    step.commands.some((command) => ['dnf', 'yum', 'microdnf'].includes(command.name) && command.args.includes('install') && command.args.includes('shadow-utils')),
  );
  if (!installer) return undefined;
  return { tools: 'shadow', after: installer.inFinalStage ? installer.info : undefined };
}

interface CreatedUser {
  readonly name: string;
  readonly uid?: number;
  readonly group?: string;
  readonly gid?: number;
  readonly step: Step;
}

// Options that take a value, per tool, so that the positional user/group name can be found.
const VALUE_OPTIONS: Readonly<Record<string, { short: string; long: readonly string[] }>> = {
  useradd: {
    short: 'bcdefgGkKpsuRPZ',
    long: ['base-dir', 'comment', 'home-dir', 'home', 'expiredate', 'inactive', 'gid', 'groups', 'skel', 'key', 'password', 'shell', 'uid', 'root', 'prefix', 'selinux-user'],
  },
  groupadd: { short: 'gKpRPU', long: ['gid', 'key', 'password', 'root', 'prefix', 'users'] },
  'busybox-adduser': { short: 'hgsGuk', long: ['home', 'gecos', 'shell', 'ingroup', 'uid', 'skel'] },
  'busybox-addgroup': { short: 'g', long: ['gid'] },
  'debian-adduser': {
    short: '',
    long: ['home', 'shell', 'ingroup', 'uid', 'gid', 'firstuid', 'lastuid', 'firstgid', 'lastgid', 'gecos', 'comment', 'conf', 'add-extra-groups', 'extrausers'],
  },
};

interface ParsedArgs {
  readonly options: Map<string, string | true>;
  readonly positionals: (string | undefined)[];
}

function parseArgs(args: readonly (string | undefined)[], spec: { short: string; long: readonly string[] }): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: (string | undefined)[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
    } else if (arg.startsWith('--')) {
      const [name, ...rest] = arg.slice(2).split('=');
      if (rest.length > 0) options.set(name, rest.join('='));
      else if (spec.long.includes(name)) options.set(name, args[++i] ?? true);
      else options.set(name, true);
    } else {
      for (let j = 1; j < arg.length; j++) {
        const flag = arg[j];
        if (spec.short.includes(flag)) {
          options.set(flag, j + 1 < arg.length ? arg.slice(j + 1) : (args[++i] ?? true));
          break;
        }
        options.set(flag, true);
      }
    }
  }
  return { options, positionals };
}

function option(parsed: ParsedArgs, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = parsed.options.get(name);
    if (typeof value === 'string') return value;
  }
  return undefined;
}

const numericId = (value: string | undefined) => (value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined);

/**
 * Which syntax a user/group command has. adduser and addgroup differ per
 * distro: BusyBox applets, Debian's Perl scripts, RHEL's aliases of
 * useradd/groupadd; on an unknown distro they are not read at all.
 */
function userTool(name: string, family: DistroFamily | undefined): string | undefined {
  if (name === 'useradd' || name === 'groupadd') return name;
  if (name !== 'adduser' && name !== 'addgroup') return undefined;
  if (family === 'rhel') return name === 'adduser' ? 'useradd' : 'groupadd';
  if (family === 'alpine' || family === 'busybox' || family === 'wolfi') return `busybox-${name}`;
  if (family === 'debian') return `debian-${name}`;
  return undefined;
}

/** Users the RUN steps create (useradd, adduser) with what can be read about their ids and primary group, by name. */
function createdUsers(steps: readonly Step[], family: DistroFamily | undefined): { users: Map<string, CreatedUser>; unreadable: boolean } {
  const groups = new Map<string, number | undefined>();
  const users = new Map<string, CreatedUser>();
  let unreadable = false;
  const readName = (parsed: ParsedArgs) => {
    if (parsed.positionals.length > 0 && parsed.positionals[0] === undefined) unreadable = true;
    return parsed.positionals[0];
  };
  for (const step of steps) {
    for (const { name, args } of step.commands) {
      const tool = userTool(name, family);
      if (tool === undefined) continue;
      if (tool === 'groupadd' || tool === 'busybox-addgroup' || tool === 'debian-addgroup') {
        const parsed = parseArgs(args, VALUE_OPTIONS[tool === 'debian-addgroup' ? 'debian-adduser' : tool]);
        const group = parsed.positionals[0];
        if (group !== undefined && parsed.positionals.length === 1) groups.set(group, numericId(option(parsed, 'g', 'gid')));
      } else if (tool === 'useradd') {
        const parsed = parseArgs(args, VALUE_OPTIONS.useradd);
        const user = readName(parsed);
        if (user === undefined || parsed.options.has('D') || parsed.options.has('defaults')) continue;
        const ownGroup = parsed.options.has('N') || parsed.options.has('no-user-group') ? undefined : user;
        addUser(users, groups, step, user, numericId(option(parsed, 'u', 'uid')), option(parsed, 'g', 'gid') ?? ownGroup);
      } else if (tool === 'busybox-adduser') {
        const parsed = parseArgs(args, VALUE_OPTIONS[tool]);
        const user = readName(parsed);
        // Two names and no options: add an existing user to a group.
        if (user === undefined || (parsed.positionals.length === 2 && parsed.options.size === 0)) continue;
        const uid = numericId(option(parsed, 'u', 'uid'));
        const system = parsed.options.has('S') || parsed.options.has('system');
        const group = option(parsed, 'G', 'ingroup') ?? (system ? 'nogroup' : user);
        // Without -G, BusyBox creates the user's own group with gid = uid.
        addUser(users, groups, step, user, uid, group, group === user ? uid : undefined);
      } else if (tool === 'debian-adduser') {
        const parsed = parseArgs(args, VALUE_OPTIONS[tool]);
        const user = readName(parsed);
        if (user === undefined || parsed.positionals.length === 2) continue;
        const system = parsed.options.has('system');
        const group = option(parsed, 'ingroup') ?? option(parsed, 'gid') ?? (system && !parsed.options.has('group') ? 'nogroup' : user);
        addUser(users, groups, step, user, numericId(option(parsed, 'uid')), group);
      }
    }
  }
  return { users, unreadable };
}

function addUser(users: Map<string, CreatedUser>, groups: Map<string, number | undefined>, step: Step, name: string, uid: number | undefined, group: string | undefined, gid?: number): void {
  if (isRootUser(name)) return;
  let groupName = group;
  let groupId = gid;
  if (group !== undefined && /^\d+$/.test(group)) {
    groupId = Number(group);
    groupName = [...groups.entries()].find(([, id]) => id === groupId)?.[0] ?? group;
  } else if (group !== undefined && groups.has(group)) {
    groupId = groups.get(group);
  }
  users.delete(name);
  users.set(name, { name, uid, group: groupName, gid: groupId, step });
}

// ---- edits ---------------------------------------------------------------------------

function buildEdits(ctx: TransformContext, steps: readonly Step[], final: Stage, choice: UserChoice, lastUser: Step | undefined): Edit[] {
  const doc = ctx.doc;
  const keyword = (word: string) => (final.from.node.getInstruction() === final.from.node.getInstruction().toLowerCase() ? word.toLowerCase() : word);
  const finalSteps = steps.filter((step) => step.inFinalStage);
  const buildSteps = finalSteps.filter((step) => ['RUN', 'COPY', 'ADD', 'WORKDIR', 'USER'].includes(step.info.keyword));
  const anchor = buildSteps[buildSteps.length - 1]?.info ?? final.from;
  const edits: Edit[] = [];
  const insertions = new Map<number, { prefix: string; lines: string[] }>();
  const insertAfter = (instruction: InstructionInfo, line: string) => {
    const { at, prefix } = lineAfter(doc, instruction);
    const entry = insertions.get(at) ?? { prefix, lines: [] };
    entry.lines.push(doc.indentationAt(instruction.start) + line);
    insertions.set(at, entry);
  };

  if (choice.create) insertAfter(choice.create.after, `${keyword('RUN')} ${choice.create.command}`);
  if (lastUser?.inFinalStage && anchor === lastUser.info) {
    const args = lastUser.info.node.getArguments();
    const start = doc.offsetAt(args[0].getRange().start);
    const end = doc.offsetAt(args[args.length - 1].getRange().end);
    edits.push(Edit.replace(start, end, choice.user));
  } else {
    insertAfter(anchor, `${keyword('USER')} ${choice.user}`);
  }
  for (const [at, { prefix, lines }] of insertions) {
    edits.push(Edit.insert(at, prefix === '' ? lines.map((line) => line + doc.eol).join('') : prefix + lines.join(doc.eol)));
  }

  if (choice.chown !== undefined) {
    for (const step of finalSteps) {
      if (step.info.keyword !== 'COPY' && step.info.keyword !== 'ADD') continue;
      if (step.info.start <= choice.existsAfter || ctx.isIgnored(step.info.start)) continue;
      if (!copiesIntoWorkdir(doc, step)) continue;
      const first = step.info.node.getArguments()[0];
      if (first) edits.push(Edit.insert(doc.offsetAt(first.getRange().start), `--chown=${choice.chown} `));
    }
  }
  return edits;
}

/** Where a new line after an instruction goes; prefix is the line break to add when the file ends without one. */
function lineAfter(doc: DockerfileDocument, instruction: InstructionInfo): { at: number; prefix: string } {
  const end = doc.lineEnd(instruction.end);
  if (end >= doc.text.length) return { at: doc.text.length, prefix: doc.eol };
  return { at: end + (doc.text.startsWith('\r\n', end) ? 2 : 1), prefix: '' };
}

/**
 * Directories that are not an app's own: a WORKDIR there is not an app
 * directory. /usr and /usr/local themselves are, but not their subdirectories
 * (/usr/src/app is the classic Node.js app directory).
 */
const SYSTEM_DIRECTORY = /^\/(?:(?:bin|sbin|lib\w*|etc|root|proc|sys|dev|boot|run)(?:\/.*)?|usr(?:\/local)?(?:\/(?:bin|sbin|lib\w*|libexec|share|include|games)(?:\/.*)?)?|var|var\/lib)?$/;

function hasChown(info: InstructionInfo): boolean {
  const node = info.node as unknown as { getFlags(): { getName(): string }[] };
  return node.getFlags().some((flag) => flag.getName().toLowerCase() === 'chown');
}

/** A COPY/ADD without --chown whose destination lies in the app's WORKDIR. */
function copiesIntoWorkdir(doc: DockerfileDocument, step: Step): boolean {
  if (hasChown(step.info)) return false;
  const workdir = step.workdir;
  if (workdir === undefined || SYSTEM_DIRECTORY.test(workdir)) return false;
  const target = destinationPath(doc, step);
  if (target === undefined) return false;
  const relative = path.posix.relative(workdir, target);
  return relative === '' || (!relative.startsWith('..') && !path.posix.isAbsolute(relative));
}

/** The absolute, normalised destination of a COPY/ADD, when it can be known. */
function destinationPath(doc: DockerfileDocument, step: Step): string | undefined {
  const written = destination(doc, step.info);
  const expanded = written === undefined ? undefined : expandVariables(written, step.lookup);
  if (expanded === undefined) return undefined;
  if (expanded.startsWith('/')) return normalized(expanded);
  return step.workdir === undefined ? undefined : normalized(path.posix.join(step.workdir, expanded));
}

/** An absolute path without `.`, `..` and trailing slashes, so paths compare by text. */
function normalized(absolute: string): string {
  return path.posix.normalize(absolute).replace(/(?<=.)\/+$/, '');
}

/** The destination argument of a COPY/ADD, from its JSON form, heredoc form or plain form. */
function destination(doc: DockerfileDocument, info: InstructionInfo): string | undefined {
  const args = info.node.getArguments();
  if (args.length === 0) return undefined;
  const rawStart = doc.offsetAt(args[0].getRange().start);
  const raw = doc.text.slice(rawStart, info.end);
  if (isExecForm(raw)) {
    const parts = JSON.parse(raw.trim()) as string[];
    return parts.length >= 2 ? parts[parts.length - 1] : undefined;
  }
  const firstLine = info.node.getRange().start.line;
  const words = hasHeredoc(info)
    ? args.filter((arg) => arg.getRange().start.line === firstLine && !arg.getValue().startsWith('<<')).map((arg) => arg.getValue())
    : args.map((arg) => arg.getValue());
  return words.length >= (hasHeredoc(info) ? 1 : 2) ? words[words.length - 1] : undefined;
}

// ---- what a non-root container may trip over -------------------------------------------

/**
 * Notes for whatever final stage runs as non-root, whether dockopt switched it
 * or the author did: the engine keeps the notes of the last pass, which sees the fixed file.
 */
function hazards(doc: DockerfileDocument, steps: readonly Step[], user: string): Finding[] {
  return [...portNotes(steps), ...volumeNotes(doc, steps, user)];
}

function portNotes(steps: readonly Step[]): Finding[] {
  const notes: Finding[] = [];
  for (const step of steps) {
    if (step.info.keyword !== 'EXPOSE') continue;
    for (const arg of step.info.node.getArguments()) {
      const value = expandVariables(arg.getValue(), step.lookup);
      const port = value === undefined ? undefined : /^(\d+)(?:-\d+)?(?:\/\w+)?$/.exec(value)?.[1];
      if (port === undefined || Number(port) >= 1024) continue;
      notes.push({
        offset: step.info.start,
        message:
          `EXPOSE ${value}: a non-root process cannot bind ports below 1024 unless the runtime allows it ` +
          '(Docker 20.10+ does, many Kubernetes clusters do not) or the binary has cap_net_bind_service; prefer a port of 1024 or above',
      });
    }
  }
  return notes;
}

/** Directories a RUN (chown, install -o) or a COPY/ADD --chown gives an owner. */
function ownedDirectories(doc: DockerfileDocument, steps: readonly Step[]): Set<string> {
  const owned = new Set<string>();
  for (const step of steps) {
    for (const command of step.commands) {
      if (command.name === 'chown' || command.name === 'install') {
        for (const arg of command.args) if (arg?.startsWith('/')) owned.add(normalized(arg));
      }
    }
    if ((step.info.keyword === 'COPY' || step.info.keyword === 'ADD') && hasChown(step.info)) {
      const target = destinationPath(doc, step);
      if (target !== undefined) owned.add(target);
    }
  }
  return owned;
}

function volumeNotes(doc: DockerfileDocument, steps: readonly Step[], user: string): Finding[] {
  const chowned = ownedDirectories(doc, steps);
  const notes: Finding[] = [];
  for (const step of steps) {
    if (step.info.keyword !== 'VOLUME') continue;
    const raw = step.info.node.getArgumentsContent() ?? '';
    const paths = isExecForm(raw) ? (JSON.parse(raw.trim()) as string[]) : step.info.node.getArguments().map((arg) => arg.getValue());
    for (const written of paths) {
      const value = expandVariables(written, step.lookup);
      if (value === undefined || !value.startsWith('/')) continue;
      const target = normalized(value);
      if ([...chowned].some((dir) => target === dir || target.startsWith(`${dir}/`))) continue;
      notes.push({
        offset: step.info.start,
        message: `VOLUME ${target} is root-owned in the image, so ${user} cannot write to a new volume there; create it with that owner in a RUN before VOLUME`,
      });
    }
  }
  return notes;
}
