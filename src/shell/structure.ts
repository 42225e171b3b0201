// Where a command sits in a RUN's shell, as far as pkg-cleanup needs to know:
// which `&&`/`||`/`;` chain it belongs to, which block encloses it, and
// whether it runs every time the RUN succeeds. Built on the tree-sitter-bash
// tree from src/shell/script.ts; nothing here edits text.
import { parentOf, type ShellNode } from './script.js';

export type Operator = '&&' | '||' | ';' | '&';

/**
 * One operand of a chain such as `a && b || c; d`, with the operators on
 * either side. start/end are the operand's extent in the script as bash
 * reads it, pipes and redirections included.
 */
export interface ChainLink {
  /** The statement at the heart of the operand: a command, pipeline, if_statement… */
  readonly node: ShellNode;
  readonly start: number;
  readonly end: number;
  readonly before?: Operator;
  readonly after?: Operator;
  /** The operand is exactly `node`: no pipe, redirection or `!` around it. */
  readonly bare: boolean;
  readonly negated: boolean;
}

/** What kind of block a chain is the body of. */
export type BlockKind =
  | 'program' // the RUN's top level
  | 'group' // ( … ) or { … }
  | 'condition' // the test of if/elif/while/until: always runs
  | 'branch' // then/else/elif bodies and case items: may not run
  | 'loop' // do … done
  | 'function'; // a function body: runs only when called

/** One level of nesting, innermost first. */
export interface Level {
  readonly kind: BlockKind;
  readonly links: readonly ChainLink[];
  /** Index in links of the operand that contains the command. */
  readonly index: number;
  /** The node that encloses this chain (program, subshell, if_statement, …). */
  readonly container: ShellNode;
}

const STATEMENT_TYPES = new Set([
  'command',
  'list',
  'pipeline',
  'redirected_statement',
  'negated_command',
  'subshell',
  'compound_statement',
  'if_statement',
  'while_statement',
  'for_statement',
  'c_style_for_statement',
  'case_statement',
  'function_definition',
  'variable_assignment',
  'variable_assignments',
  'declaration_command',
  'unset_command',
  'test_command',
]);

/** Nodes whose statements form chains. */
const CONTAINERS = new Set(['program', 'subshell', 'compound_statement', 'do_group', 'if_statement', 'elif_clause', 'else_clause', 'case_item', 'while_statement']);
/** Nodes between a command and its container that only build the chain around it. */
const CHAIN_NODES = new Set(['list', 'pipeline', 'redirected_statement', 'negated_command']);

function isStatement(node: ShellNode): boolean {
  return STATEMENT_TYPES.has(node.type);
}

interface Operand {
  node: ShellNode;
  start: number;
  end: number;
  bare: boolean;
  negated: boolean;
  op?: Operator;
}

function statementChildren(node: ShellNode): ShellNode[] {
  return node.children.filter((child): child is ShellNode => child !== null && isStatement(child));
}

/**
 * The operands of a statement as bash groups them. tree-sitter-bash attaches
 * a redirection that ends an `&&` list to the whole list (`a && b > f`
 * becomes `(a && b) > f`, and `a && b 2>&1 | c` a pipeline around that);
 * bash binds both to the last command only, so that command's operand is
 * extended over the redirection or pipe instead.
 */
function operandsOf(node: ShellNode): Operand[] {
  switch (node.type) {
    case 'list': {
      const operands: Operand[] = [];
      listOperands(node, operands);
      return operands;
    }
    case 'redirected_statement':
    case 'pipeline': {
      const first = statementChildren(node)[0];
      const inner = first ? operandsOf(first) : [];
      if (node.type === 'pipeline' && inner.length <= 1) return [{ node, start: node.startIndex, end: node.endIndex, bare: false, negated: false }];
      if (inner.length === 0) return [{ node, start: node.startIndex, end: node.endIndex, bare: false, negated: false }];
      const last = inner[inner.length - 1];
      inner[inner.length - 1] = { ...last, end: node.endIndex, bare: false };
      return inner;
    }
    case 'negated_command': {
      const child = statementChildren(node)[0];
      const inner = child ? operandsOf(child) : [];
      if (inner.length === 0) return [{ node, start: node.startIndex, end: node.endIndex, bare: false, negated: true }];
      inner[0] = { ...inner[0], start: node.startIndex, bare: false, negated: true };
      return inner;
    }
    default:
      return [{ node, start: node.startIndex, end: node.endIndex, bare: true, negated: false }];
  }
}

/**
 * A list's operands appended to `operands`. tree-sitter-bash nests `a && b
 * && c` as ((a && b) && c): the nested lists are walked with a stack rather
 * than by recursion and array copies, which would be quadratic (and deep) on
 * a chain of thousands.
 */
function listOperands(list: ShellNode, operands: Operand[]): void {
  const pending: (ShellNode | null)[][] = [list.children];
  const positions = [0];
  while (pending.length > 0) {
    const children = pending[pending.length - 1];
    const position = positions[positions.length - 1];
    if (position >= children.length) {
      pending.pop();
      positions.pop();
      continue;
    }
    positions[positions.length - 1] = position + 1;
    const child = children[position];
    if (!child) continue;
    if (child.type === '&&' || child.type === '||') operands[operands.length - 1].op = child.type;
    else if (child.type === 'list') {
      pending.push(child.children);
      positions.push(0);
    } else if (isStatement(child)) operands.push(...operandsOf(child));
  }
}

/**
 * The chains directly inside a block node, one per keyword-delimited
 * segment: an if_statement has its condition and its then-body, a case_item
 * the statements after `)`. Statements separated by `;` or `&` belong to the
 * same chain.
 */
export function chainsIn(container: ShellNode): { keyword?: string; links: ChainLink[] }[] {
  // levelsOf asks this for the container of every command: once per container and tree.
  let known = chainCache.get(container.tree);
  if (known === undefined) chainCache.set(container.tree, (known = new Map()));
  let segments = known.get(container.id);
  if (segments === undefined) known.set(container.id, (segments = computeChains(container)));
  return segments;
}

const chainCache = new WeakMap<ShellNode['tree'], Map<number, { keyword?: string; links: ChainLink[] }[]>>();

function computeChains(container: ShellNode): { keyword?: string; links: ChainLink[] }[] {
  const segments: { keyword?: string; links: ChainLink[] }[] = [];
  let pending: Operand[] | undefined;
  let keyword: string | undefined;
  const close = () => {
    if (pending && pending.length > 0) segments.push({ keyword, links: toLinks(pending) });
    pending = undefined;
  };
  for (const child of container.children) {
    if (!child) continue;
    if (isStatement(child)) {
      pending ??= [];
      pending.push(...operandsOf(child));
    } else if ((child.type === ';' || child.type === '&') && pending && pending.length > 0) {
      pending[pending.length - 1].op = child.type;
    } else if (child.type !== 'comment') {
      close();
      keyword = child.type;
    }
  }
  close();
  return segments;
}

function toLinks(operands: readonly Operand[]): ChainLink[] {
  return operands.map((operand, i) => ({
    node: operand.node,
    start: operand.start,
    end: operand.end,
    before: i > 0 ? operands[i - 1].op : undefined,
    after: operand.op,
    bare: operand.bare,
    negated: operand.negated,
  }));
}

function blockKind(container: ShellNode, keyword: string | undefined): BlockKind | undefined {
  switch (container.type) {
    case 'program':
      return 'program';
    case 'subshell':
    case 'compound_statement':
      return parentOf(container)?.type === 'function_definition' ? 'function' : 'group';
    case 'do_group':
      return 'loop';
    case 'if_statement':
    case 'elif_clause':
      return keyword === 'if' || keyword === 'elif' ? 'condition' : 'branch';
    case 'while_statement':
      return 'condition';
    case 'else_clause':
    case 'case_item':
      return 'branch';
    default:
      return undefined;
  }
}

/** The statement a block belongs to, one level up (the for around a do_group, the if around an else). */
function statementOfBlock(container: ShellNode): ShellNode | undefined {
  switch (container.type) {
    case 'do_group':
    case 'elif_clause':
    case 'else_clause':
    case 'case_item':
      return parentOf(container) ?? undefined;
    case 'compound_statement': {
      const parent = parentOf(container);
      return parent?.type === 'function_definition' ? parent : container;
    }
    default:
      return container;
  }
}

/**
 * The nesting of a node, innermost level first, or undefined when the node is
 * somewhere this analysis cannot see through: a command substitution, a
 * string, an arithmetic expression, a test, a for-loop's word list.
 */
export function levelsOf(node: ShellNode): Level[] | undefined {
  const levels: Level[] = [];
  let current: ShellNode = node;
  for (;;) {
    const container = enclosingContainer(current);
    if (!container || !CONTAINERS.has(container.type)) return undefined;
    const start = current.startIndex;
    const end = current.endIndex;
    let segment: { keyword?: string; links: ChainLink[] } | undefined;
    let index = -1;
    for (const candidate of chainsIn(container)) {
      index = linkAround(candidate.links, start, end);
      if (index >= 0) {
        segment = candidate;
        break;
      }
    }
    const kind = segment && blockKind(container, segment.keyword);
    if (!segment || !kind) return undefined;
    levels.push({ kind, links: segment.links, index, container });
    if (kind === 'program') return levels;
    const outer = statementOfBlock(container);
    if (!outer || outer.equals(current)) return undefined;
    current = outer;
  }
}

/**
 * The first ancestor that is not part of the chain around node (a list,
 * pipeline, redirection or `!`). Remembered per tree for every node on the
 * way: the first command of `a && b && …` sits under one list per operand, so
 * climbing afresh from every command would be quadratic.
 */
function enclosingContainer(node: ShellNode): ShellNode | null {
  let known = containerCache.get(node.tree);
  if (known === undefined) containerCache.set(node.tree, (known = new Map()));
  const climbed: number[] = [];
  let container = parentOf(node);
  while (container && CHAIN_NODES.has(container.type)) {
    const remembered = known.get(container.id);
    if (remembered !== undefined) {
      container = remembered;
      break;
    }
    climbed.push(container.id);
    container = parentOf(container);
  }
  // Every chain node passed on the way has the same container.
  for (const id of climbed) known.set(id, container);
  return container;
}

const containerCache = new WeakMap<ShellNode['tree'], Map<number, ShellNode | null>>();

/** Index of the link whose extent holds [start, end): links are disjoint and in source order, so a binary search finds it. */
function linkAround(links: readonly ChainLink[], start: number, end: number): number {
  let low = 0;
  let high = links.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (links[middle].start <= start) low = middle + 1;
    else high = middle - 1;
  }
  // high is the last link starting at or before start.
  return high >= 0 && end <= links[high].end ? high : -1;
}

/** The operators from the start of the operand's `;`-separated statement up to the operand. */
function operatorsBefore(level: Level): Operator[] {
  const operators: Operator[] = [];
  for (let i = level.index; i > 0; i--) {
    const op = level.links[i].before!;
    if (op === ';' || op === '&') break;
    operators.push(op);
  }
  return operators;
}

/**
 * True when the command runs whenever the statements before it in its chains
 * succeed: it is not in a then/else/case branch, a function, or on the right
 * of an `||`. Then a cleanup appended to the RUN with `&&` can rely on the
 * tool being installed.
 */
export function runsUnconditionally(levels: readonly Level[]): boolean {
  return levels.every((level) => (level.kind === 'program' || level.kind === 'group' || level.kind === 'loop' || level.kind === 'condition') && !operatorsBefore(level).includes('||'));
}

/** The literal value of a word-like node when it has no expansions (quotes removed), else undefined. */
export function literalValue(node: ShellNode): string | undefined {
  switch (node.type) {
    case 'word':
      return /[$`]/.test(node.text) ? undefined : node.text.replace(/\\(.)/g, '$1');
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'string':
      return node.namedChildren.every((child) => child?.type === 'string_content') ? node.text.slice(1, -1).replace(/\\([$`"\\])/g, '$1') : undefined;
    case 'number':
      return node.text;
    case 'concatenation': {
      let value = '';
      for (const child of node.namedChildren) {
        if (!child) continue;
        const part = literalValue(child);
        if (part === undefined) return undefined;
        value += part;
      }
      return value;
    }
    default:
      return undefined;
  }
}
