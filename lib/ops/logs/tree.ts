/** Counted reasons (type -> reason -> detail), as pflogsumm's nested hashes; merged across worker pieces. */
import { own } from './pflogsumm-compat';
import { Tally } from './types';

/** A Tree as it crosses a worker boundary (structured clone keeps the fields, not the class). */
export interface TreeData {
  count: number;
  children: Map<string, TreeData> | null;
}

export class Tree implements TreeData {
  count = 0;
  children: Map<string, Tree> | null = null;

  /** Adds another tree's counts into this one. */
  merge(src: TreeData): void {
    this.count += src.count;
    if (src.children === null) return;
    if (this.children === null) this.children = new Map();
    for (const [k, c] of src.children) {
      let child = this.children.get(k);
      if (child === undefined) {
        child = new Tree();
        this.children.set(k, child);
      }
      child.merge(c);
    }
  }

  add(...keys: string[]): void {
    this.count++;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the cursor walks down from this node
    let node: Tree = this;
    for (const k of keys) {
      if (node.children === null) node.children = new Map();
      let child = node.children.get(k);
      if (child === undefined) {
        child = new Tree();
        node.children.set(own(k), child);
      }
      child.count++;
      node = child;
    }
  }

  tallies(): Tally[] {
    if (this.children === null) return [];
    const out: Tally[] = [];
    for (const [key, child] of this.children) {
      const t: Tally = { key, count: child.count };
      if (child.children !== null) t.items = child.tallies();
      out.push(t);
    }
    return out.sort(byCountThenKey);
  }
}

export function byCountThenKey(a: { key: string; count: number }, b: { key: string; count: number }): number {
  if (a.count !== b.count) return b.count - a.count;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
