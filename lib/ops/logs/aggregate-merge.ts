/** Merging the pieces of a log that worker threads read in parallel (see parallel.ts). */
import { LogTimestamp, YearState } from './parse';
import { addressDomain, perlTrue } from './pflogsumm-compat';
import {
  AggregateState,
  CarriedState,
  COUNTERS,
  DomStat,
  MsgOp,
  MsgState,
  OP_RECEIVED,
  OP_SENDER,
  OP_SENT,
  RcptStat,
  addStat,
} from './aggregate-state';
import { TreeData } from './tree';
import { ToDomainAddress, TrafficCounts, UnparsedKind } from './types';

/** One map's entries as they cross a worker boundary: keys joined by newlines, fields in a flat array. */
export interface PackedMap {
  keys: string;
  fields: number;
  values: Float64Array;
}

/**
 * What one piece of a log contributed, in a form that crosses a worker boundary (structured
 * clone), to be merged in log order with LogAggregator.merge().
 */
export interface PartialAggregate {
  counters: number[];
  sendgUser: PackedMap;
  sendgDom: PackedMap;
  recipUser: PackedMap;
  recipDom: PackedMap;
  toDomainStats: Map<string, ToDomainAddress>;
  trees: TreeData[];
  instances: Map<string, number>;
  perDay: Map<string, TrafficCounts>;
  perHour: TrafficCounts[];
  garbage: UnparsedKind;
  nonPostfix: UnparsedKind;
  unrecognised: UnparsedKind;
  firstStamp: LogTimestamp | null;
  lastStamp: LogTimestamp | null;
  /** Year inference state at the end of the piece. */
  yearState: YearState;
}

export abstract class MergeableAggregate extends AggregateState {
  /**
   * Partial mode, after the piece was read: corrects the effects that assumed no earlier state,
   * now that `carried` (the states every queue ID had at the piece's start; absent = none) is
   * known, and returns the states at the piece's end (for the next piece; skipped when `last`).
   */
  settle(carried: CarriedState[], last: boolean): CarriedState[] {
    const before = new Map<string, CarriedState>();
    for (const c of carried) before.set(c[0], c);
    const fix = (qid: string, ops: MsgOp): MsgState | undefined => {
      const had = before.get(qid);
      if (had === undefined) return undefined; // the assumption held
      const assumed: MsgState = { size: 0, whence: undefined, deferred: false, ops: null };
      this.applyOps(assumed, ops, -1);
      const real: MsgState = { size: had[1], whence: had[2], deferred: had[3], ops: null };
      this.applyOps(real, ops, 1);
      return real;
    };
    for (const [qid, ops] of this.removedInPiece) if (ops !== null) fix(qid, ops);
    for (const [qid, st] of this.msgs) {
      if (st.ops === null) continue;
      const real = fix(qid, st.ops);
      if (real !== undefined) {
        st.size = real.size;
        st.whence = real.whence;
        st.deferred = real.deferred;
      }
    }
    if (last) return [];
    const after = new Map(before);
    for (const qid of this.removedInPiece.keys()) after.delete(qid);
    for (const [qid, st] of this.msgs) after.set(qid, [qid, st.size, st.whence, st.deferred]);
    return [...after.values()];
  }

  /** The per-message states held now (what the next piece starts from). */
  carriedStates(): CarriedState[] {
    const out: CarriedState[] = [];
    for (const [qid, st] of this.msgs) out.push([qid, st.size, st.whence, st.deferred]);
    return out;
  }

  /**
   * Takes `carried` (the states at the end of the pieces merged last) as this aggregator's own, so
   * that the lines fed next continue the log exactly where those pieces ended.
   */
  adoptStates(carried: CarriedState[]): void {
    this.msgs.clear();
    for (const c of carried) this.msgs.set(c[0], { size: c[1], whence: c[2], deferred: c[3], ops: null });
    this.lastQid = '';
    this.lastMsg = undefined;
  }

  /** Partial mode: everything this piece contributed (after settle()), for merge(); structured-clone friendly. */
  exportPartial(): PartialAggregate {
    const self = this as unknown as Record<string, number>;
    return {
      counters: COUNTERS.map((k) => self[k]),
      sendgUser: pack(this.sendgUser, ['count', 'bytes']),
      sendgDom: pack(this.sendgDom, ['count', 'bytes']),
      recipUser: pack(this.recipUser, ['count', 'bytes', 'sent']),
      recipDom: pack(this.recipDom, ['count', 'bytes', 'deferrals', 'maxDelay']),
      toDomainStats: this.toDomainStats,
      trees: this.trees(),
      instances: this.instances,
      perDay: this.perDay,
      perHour: this.perHour,
      garbage: this.garbage,
      nonPostfix: this.nonPostfix,
      unrecognised: this.unrecognised,
      firstStamp: this.firstStamp,
      lastStamp: this.lastStamp,
      yearState: this.parser.yearState(),
    };
  }

  /** Year inference state after the lines fed so far (the entry state the next piece must have been read with). */
  yearState(): YearState {
    return this.parser.yearState();
  }

  /**
   * Adds the next piece of the log (the one following everything fed or merged so far, settled
   * with the states this log had reached) into this aggregator. The result equals reading both in
   * one sequence, provided the piece was read starting from this aggregator's yearState() (the
   * caller checks that). Per-message states are not taken over (the caller carries them).
   */
  merge(p: PartialAggregate): void {
    const self = this as unknown as Record<string, number>;
    COUNTERS.forEach((k, i) => {
      self[k] += p.counters[i];
    });
    unpack(p.sendgUser, (k, v, i) => addStat(this.sendgUser, k, v[i], v[i + 1]));
    unpack(p.sendgDom, (k, v, i) => addStat(this.sendgDom, k, v[i], v[i + 1]));
    unpack(p.recipUser, (k, v, i) => {
      const u = this.recipUser.get(k);
      if (u === undefined) this.recipUser.set(k, { count: v[i], bytes: v[i + 1], sent: v[i + 2] });
      else {
        u.count += v[i];
        u.bytes += v[i + 1];
        u.sent += v[i + 2];
      }
    });
    unpack(p.recipDom, (k, v, i) => {
      const d = this.recipDom.get(k);
      if (d === undefined) this.recipDom.set(k, { count: v[i], bytes: v[i + 1], deferrals: v[i + 2], maxDelay: v[i + 3] });
      else {
        d.count += v[i];
        d.bytes += v[i + 1];
        d.deferrals += v[i + 2];
        if (v[i + 3] > d.maxDelay) d.maxDelay = v[i + 3];
      }
    });
    for (const [k, v] of p.toDomainStats) {
      const t = this.toDomainStats.get(k);
      if (t === undefined) this.toDomainStats.set(k, v);
      else {
        t.mails += v.mails;
        t.sent += v.sent;
        t.forwarded += v.forwarded;
        t.bounced += v.bounced;
        t.deferrals += v.deferrals;
      }
    }
    const trees = this.trees();
    p.trees.forEach((t, i) => trees[i].merge(t));
    for (const [k, v] of p.instances) this.instances.set(k, (this.instances.get(k) ?? 0) + v);
    for (const [k, v] of p.perDay) {
      const d = this.perDay.get(k);
      if (d === undefined) this.perDay.set(k, v);
      else addCounts(d, v);
    }
    p.perHour.forEach((c, h) => addCounts(this.perHour[h], c));
    this.mergeSamples(this.garbage, p.garbage);
    this.mergeSamples(this.nonPostfix, p.nonPostfix);
    this.mergeSamples(this.unrecognised, p.unrecognised);
    if (this.firstStamp === null) this.firstStamp = p.firstStamp;
    if (p.lastStamp !== null) this.lastStamp = p.lastStamp;
    this.parser.setYearState(p.yearState);
    this.curStamp = null;
    this.curD = 0;
  }

  /** Applies (sign 1) or takes back (sign -1) recorded effects on a message in state `st`. */
  protected applyOps(st: MsgState, ops: MsgOp, sign: number): void {
    let i = 0;
    while (i < ops.length) {
      switch (ops[i]) {
        case OP_RECEIVED:
          st.whence = ops[i + 1] as string;
          i += 2;
          break;
        case OP_SENDER: {
          const addr = ops[i + 1] as string;
          const size = ops[i + 2] as number;
          i += 3;
          if (st.size !== 0) break;
          st.size = size;
          const whence = st.whence;
          if (!perlTrue(whence)) break;
          let dom = addressDomain(addr);
          if (dom === null) dom = whence === 'pickup' ? addr : (whence as string);
          addStat(this.sendgDom, dom, sign, sign * size);
          addStat(this.sendgUser, addr, sign, sign * size);
          this.sizeRcvd += sign * size;
          st.whence = undefined;
          break;
        }
        case OP_SENT: {
          const bytes = st.size;
          if (bytes === 0) this.noSize += sign;
          (ops[i + 1] as RcptStat).bytes += sign * bytes;
          (ops[i + 2] as DomStat).bytes += sign * bytes;
          this.sizeDlvrd += sign * bytes;
          i += 3;
          break;
        }
        default: // OP_DEFERRED
          if (!st.deferred) {
            st.deferred = true;
            this.msgsDfrd += sign;
          }
          i += 1;
      }
    }
  }

  protected mergeSamples(dst: UnparsedKind, src: UnparsedKind): void {
    dst.count += src.count;
    for (const s of src.samples) if (dst.samples.length < this.maxSamples) dst.samples.push(s);
  }
}

function pack<T>(m: Map<string, T>, fields: Array<keyof T>): PackedMap {
  const keys: string[] = [];
  const values = new Float64Array(m.size * fields.length);
  let i = 0;
  for (const [k, v] of m) {
    keys.push(k);
    for (const f of fields) values[i++] = v[f] as unknown as number;
  }
  return { keys: keys.join('\n'), fields: fields.length, values };
}

function unpack(p: PackedMap, each: (key: string, values: Float64Array, at: number) => void): void {
  if (p.values.length === 0) return;
  const keys = p.keys.split('\n');
  for (let j = 0; j < keys.length; j++) each(keys[j], p.values, j * p.fields);
}

function addCounts(d: TrafficCounts, s: TrafficCounts): void {
  d.received += s.received;
  d.delivered += s.delivered;
  d.deferred += s.deferred;
  d.bounced += s.bounced;
  d.rejected += s.rejected;
}
