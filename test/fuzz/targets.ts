/**
 * The fuzz targets: every edge where bytes from outside reach Latchkey.
 *
 * - `cbor`: the strict decoder. It returns a value or throws CborError, nothing else; what it
 *   accepts re-encodes canonically to the same length (only map key order may differ).
 * - `makeCredential`, `getAssertion`, `clientPIN`, `selection`, `getInfo`, `unknown-command`,
 *   `sequence` (getAssertion/getNextAssertion/… in a row, with the clock moving): the byte entry
 *   point. It never throws or hangs; it answers a status of the spec's table and never
 *   CTAP1_ERR_OTHER (an exception inside the core); a refusal has no body and leaves the store
 *   untouched; an OK is a strict CBOR map, and a credential or assertion in it is checked with
 *   node:crypto against the stored public key and this request's client data hash.
 * - `ctaphid`: packets from up to three connections into the CTAPHID device: valid messages of every
 *   command, cut into packets then mutated (BCNT, sequence numbers, dropped, duplicated, reordered
 *   packets, foreign and reserved channels), and raw reports. It never throws; every packet it sends
 *   is a well-formed 64-byte report on a channel of the connection it goes to, with an error code,
 *   keepalive status or CTAP status from the tables.
 * - `ctaphid-socket`: the same over the real socket server, written in random splits, with stray
 *   bytes that break report alignment; the server stays up.
 * - `windows`: Windows' operation envelope into the plugin host (fake addon): requests valid and
 *   mutated, signed correctly or not (none, truncated, stale, another key, another algorithm, DER),
 *   odd transaction ids and window handles, Windows Hello answering every way. It never rejects;
 *   every HRESULT is from the one table; a request whose signature does not verify is refused
 *   with NTE_BAD_SIGNATURE before the core or Windows Hello is reached; no unexpected error is logged.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { CborError, decodeStrict, encodeCanonical, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Command, SPEC_STATUSES, Status, statusName, type CtapResponse } from '../../src/ctap/index.js';
import { CLSID } from '../../src/app/identity.js';
import { CtaphidDevice } from '../../src/transports/ctaphid/device.js';
import type { Link } from '../../src/transports/ctaphid/channels.js';
import { listenCtaphid, type CtaphidServer } from '../../src/transports/ctaphid/server.js';
import { CtaphidCommand, CtaphidError } from '../../src/transports/ctaphid/protocol.js';
import { FAILURE_HRESULT, HRESULT } from '../../src/transports/windows/hresult.js';
import type { PluginOperation } from '../../src/transports/windows/native.js';
import { PluginHost } from '../../src/transports/windows/pluginHost.js';
import { snapshot } from '../support/ctapHelpers.js';
import { FakeWindows, signingKey, type KeyType, type UvMode } from '../windows-host/fakeWindows.js';
import { assertionVerifies, cborMap, checkMakeCredentialAnswer } from '../reliability/support.js';
import {
  byteMutationsArb,
  bytesArb,
  clientPinArb,
  concatBytes,
  getAssertionArb,
  hostileCborArb,
  makeCredentialArb,
  requestBytesArb,
  applyByteMutations,
  type ByteMutation,
} from './generators.js';
import { userOf, USER_MODES, type FuzzWorld, type UserMode } from './world.js';

/** What one input turned out to be: answered normally, or refused as bad input. */
export type Verdict = 'accepted' | 'refused';

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<I>;
  /** Runs one input; throws when a promise is broken. */
  run(input: I): Promise<Verdict>;
  /** Releases what the target holds (servers, hosts). */
  close?(): Promise<void>;
}

class Broken extends Error {
  override readonly name = 'Broken';
}

function broken(message: string): never {
  throw new Broken(message);
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Broken(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ---- cbor -----------------------------------------------------------------------------------------

export function cborTarget(world: FuzzWorld): FuzzTarget<{ bytes: Uint8Array }> {
  const requests = fc.oneof(makeCredentialArb(world.gen), getAssertionArb(world.gen), clientPinArb(world.gen)) as fc.Arbitrary<CborValue>;
  return {
    name: 'cbor',
    arbitrary: fc.record({ bytes: fc.oneof(hostileCborArb, requestBytesArb(requests), bytesArb(0, 64)) }),
    async run({ bytes }) {
      let value: CborValue;
      try {
        value = decodeStrict(bytes);
      } catch (error) {
        if (error instanceof CborError) return 'refused';
        broken(`decodeStrict threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a CborError`);
      }
      const again = encodeCanonical(value);
      if (again.length !== bytes.length) broken(`accepted ${bytes.length} bytes whose canonical encoding has ${again.length}`);
      if (hexOf(encodeCanonical(decodeStrict(again))) !== hexOf(again)) broken('a canonical re-encoding does not decode to the same value');
      return 'accepted';
    },
  };
}

// ---- the byte entry point ---------------------------------------------------------------------------

interface CtapInput {
  readonly command: number;
  readonly params: Uint8Array;
  readonly user: UserMode;
}

/** After a getAssertion that left a continuation: what getNextAssertion answers must be checked against. */
interface Continuation {
  readonly rpId: string;
  readonly clientDataHash: Uint8Array;
}

function requestMapOf(params: Uint8Array): CborMap {
  const value = decodeStrict(params);
  if (!(value instanceof Map)) broken('an accepted request that is not a map');
  return value;
}

function checkAssertion(world: FuzzWorld, body: Uint8Array | undefined, rpId: string, clientDataHash: Uint8Array): void {
  const map = cborMap(body);
  const id = (map.get(0x01) as CborMap | undefined)?.get('id');
  if (!(id instanceof Uint8Array)) broken('an assertion without a credential id');
  const record = world.store.findById(rpId, id);
  if (record === undefined) broken(`an assertion by a credential not stored under ${rpId}`);
  if (!assertionVerifies(record.publicKey, map.get(0x02) as Uint8Array, clientDataHash, map.get(0x03) as Uint8Array)) {
    broken('an assertion whose signature does not verify over this request with the stored public key');
  }
}

/** One request through `handle`, with every check; returns the response for sequences. */
async function runOne(world: FuzzWorld, input: CtapInput, continuation: Continuation | undefined): Promise<{ verdict: Verdict; response: CtapResponse }> {
  const before = snapshot(world.store);
  world.lastLog = '';
  const response = await withDeadline(world.authenticator.handle(input.command, input.params, { user: userOf(input.user) }), 10_000, 'handle');
  const { status } = response;
  if (!SPEC_STATUSES.has(status)) broken(`status 0x${status.toString(16)} is not in the spec's table`);
  if (status === Status.OTHER) broken(`CTAP1_ERR_OTHER: an exception inside the core (${world.lastLog})`);
  if (status === Status.CHANNEL_BUSY) broken('CHANNEL_BUSY with nothing else in progress: the authenticator is stuck');
  if (status !== Status.OK) {
    if (response.body !== undefined) broken(`${statusName(status)} with a body`);
    const after = snapshot(world.store);
    if (JSON.stringify(after, (_k, v: unknown) => (v instanceof Uint8Array ? hexOf(v) : v)) !== JSON.stringify(before, (_k, v: unknown) => (v instanceof Uint8Array ? hexOf(v) : v))) {
      broken(`${statusName(status)}, and yet the store changed`);
    }
    return { verdict: 'refused', response };
  }
  switch (input.command) {
    case Command.MakeCredential: {
      const rp = requestMapOf(input.params).get(0x02) as CborMap;
      const rpId = rp.get('id') as string;
      const credential = checkMakeCredentialAnswer(response.body, rpId);
      const stored = world.store.findById(rpId, credential.id);
      if (stored === undefined || hexOf(stored.publicKey) !== hexOf(credential.cose)) broken('a new credential that is not stored as answered');
      break;
    }
    case Command.GetAssertion: {
      const request = requestMapOf(input.params);
      checkAssertion(world, response.body, request.get(0x01) as string, request.get(0x02) as Uint8Array);
      break;
    }
    case Command.GetNextAssertion:
      if (continuation === undefined) broken('getNextAssertion answered OK with no getAssertion to continue');
      checkAssertion(world, response.body, continuation.rpId, continuation.clientDataHash);
      break;
    case Command.GetInfo:
      if (hexOf(response.body ?? new Uint8Array(0)) !== hexOf(world.authenticator.getInfoBytes())) broken('getInfo answered something else');
      break;
    case Command.Selection:
      if ((response.body?.length ?? 0) !== 0) broken('selection answered a body');
      break;
    default:
      cborMap(response.body);
  }
  return { verdict: 'accepted', response };
}

const userArb = fc.constantFrom(...USER_MODES);

function commandTarget(world: FuzzWorld, name: string, command: fc.Arbitrary<number>, params: fc.Arbitrary<Uint8Array>): FuzzTarget<CtapInput> {
  return {
    name,
    arbitrary: fc.record({ command, params, user: userArb }),
    async run(input) {
      try {
        return (await runOne(world, input, undefined)).verdict;
      } finally {
        world.restore();
      }
    },
  };
}

const KNOWN_COMMANDS = new Set<number>(Object.values(Command));

export function ctapTargets(world: FuzzWorld): FuzzTarget[] {
  const mc = requestBytesArb(makeCredentialArb(world.gen) as fc.Arbitrary<CborValue>);
  const ga = requestBytesArb(getAssertionArb(world.gen) as fc.Arbitrary<CborValue>);
  const pin = requestBytesArb(clientPinArb(world.gen) as fc.Arbitrary<CborValue>);
  const anything = fc.oneof(mc, ga, pin, bytesArb(0, 40), fc.constant(new Uint8Array(0)));
  const noParams = fc.oneof(fc.constant(new Uint8Array(0)), fc.constant(new Uint8Array(0)), anything);
  return [
    commandTarget(world, 'makeCredential', fc.constant(Command.MakeCredential), mc),
    commandTarget(world, 'getAssertion', fc.constant(Command.GetAssertion), ga),
    commandTarget(world, 'clientPIN', fc.constant(Command.ClientPin), pin),
    commandTarget(world, 'selection', fc.constant(Command.Selection), noParams),
    commandTarget(world, 'getInfo', fc.constant(Command.GetInfo), noParams),
    commandTarget(
      world,
      'unknown-command',
      fc.integer({ min: 0, max: 255 }).filter((c) => !KNOWN_COMMANDS.has(c) || c === Command.Reset || c >= Command.BioEnrollment),
      anything,
    ),
    sequenceTarget(world, { mc, ga, pin, noParams }),
  ] as FuzzTarget[];
}

interface Step extends CtapInput {
  /** The clock moves this much before the step (getNextAssertion's 30 s window). */
  readonly advanceMs: number;
}

function sequenceTarget(
  world: FuzzWorld,
  arbs: { mc: fc.Arbitrary<Uint8Array>; ga: fc.Arbitrary<Uint8Array>; pin: fc.Arbitrary<Uint8Array>; noParams: fc.Arbitrary<Uint8Array> },
): FuzzTarget<{ steps: Step[] }> {
  const step: fc.Arbitrary<Step> = fc
    .oneof(
      { arbitrary: fc.record({ command: fc.constant(Command.GetAssertion), params: arbs.ga }), weight: 4 },
      { arbitrary: fc.record({ command: fc.constant(Command.GetNextAssertion), params: arbs.noParams }), weight: 5 },
      { arbitrary: fc.record({ command: fc.constant(Command.MakeCredential), params: arbs.mc }), weight: 1 },
      { arbitrary: fc.record({ command: fc.constant(Command.ClientPin), params: arbs.pin }), weight: 1 },
      { arbitrary: fc.record({ command: fc.constantFrom(Command.GetInfo, Command.Selection, 0x42), params: arbs.noParams }), weight: 1 },
    )
    .chain((s) =>
      fc.record({ command: fc.constant(s.command), params: fc.constant(s.params), user: userArb, advanceMs: fc.constantFrom(0, 0, 0, 1_000, 29_000, 31_000) }),
    );
  return {
    name: 'sequence',
    arbitrary: fc.record({ steps: fc.array(step, { minLength: 2, maxLength: 7 }) }),
    async run({ steps }) {
      let refused = false;
      let continuation: Continuation | undefined;
      // A getAssertion of an earlier case may have left a continuation: any other command ends it.
      await world.authenticator.handle(Command.GetInfo, new Uint8Array(0), { user: userOf('approve') });
      try {
        for (const s of steps) {
          world.clock.advance(s.advanceMs);
          const { verdict, response } = await runOne(world, s, continuation);
          if (verdict === 'refused') refused = true;
          if (s.command === Command.GetAssertion && response.status === Status.OK) {
            const request = requestMapOf(s.params);
            continuation = { rpId: request.get(0x01) as string, clientDataHash: request.get(0x02) as Uint8Array };
          } else if (s.command !== Command.GetNextAssertion) continuation = undefined;
        }
      } finally {
        world.restore();
      }
      return refused ? 'refused' : 'accepted';
    },
  };
}

// ---- CTAPHID ------------------------------------------------------------------------------------

type CidRef = { readonly kind: 'broadcast' } | { readonly kind: 'own'; readonly index: number } | { readonly kind: 'raw'; readonly value: number };

type HidAction =
  | {
      readonly op: 'message';
      readonly link: number;
      readonly cid: CidRef;
      readonly cmd: number;
      readonly payload: Uint8Array;
      /** A lie in the BCNT field. */
      readonly bcntDelta: number;
      /** Packet surgery: none, drop one, duplicate one, swap two, shift sequence numbers. */
      readonly surgery: 'none' | 'drop' | 'duplicate' | 'swap' | 'seq';
      readonly at: number;
      /** Bit flips and byte sets inside the packets (lengths stay whole reports). */
      readonly corrupt: readonly ByteMutation[];
    }
  | { readonly op: 'raw'; readonly link: number; readonly report: Uint8Array }
  | { readonly op: 'disconnect'; readonly link: number }
  | { readonly op: 'yield' }
  /** Socket target only: bytes that break report alignment. */
  | { readonly op: 'stray'; readonly link: number; readonly bytes: Uint8Array };

const BROADCAST = 0xffffffff;

function hidActionsArb(world: FuzzWorld, withStray: boolean): fc.Arbitrary<HidAction[]> {
  const ctap = fc.oneof(
    requestBytesArb(makeCredentialArb(world.gen) as fc.Arbitrary<CborValue>).map((p) => concatBytes(Uint8Array.of(Command.MakeCredential), p)),
    requestBytesArb(getAssertionArb(world.gen) as fc.Arbitrary<CborValue>).map((p) => concatBytes(Uint8Array.of(Command.GetAssertion), p)),
    fc.constantFrom(Command.GetInfo, Command.GetNextAssertion, Command.Selection).map((c) => Uint8Array.of(c)),
    requestBytesArb(clientPinArb(world.gen) as fc.Arbitrary<CborValue>).map((p) => concatBytes(Uint8Array.of(Command.ClientPin), p)),
  );
  const cidArb: fc.Arbitrary<CidRef> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('own' as const), index: fc.nat({ max: 3 }) }), weight: 6 },
    { arbitrary: fc.constant({ kind: 'broadcast' as const }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('raw' as const), value: fc.oneof(fc.constantFrom(0, 1, 2, BROADCAST - 1), fc.nat()) }), weight: 1 },
  );
  const messageArb = fc
    .oneof(
      { arbitrary: fc.record({ cmd: fc.constant(CtaphidCommand.Init), payload: fc.oneof(bytesArb(8, 8), bytesArb(0, 12)), cid: fc.constant({ kind: 'broadcast' } as CidRef) }), weight: 3 },
      { arbitrary: fc.record({ cmd: fc.constant(CtaphidCommand.Init), payload: bytesArb(8, 8), cid: cidArb }), weight: 1 },
      { arbitrary: fc.record({ cmd: fc.constant(CtaphidCommand.Cbor), payload: ctap, cid: cidArb }), weight: 6 },
      { arbitrary: fc.record({ cmd: fc.constant(CtaphidCommand.Ping), payload: fc.oneof(bytesArb(0, 64), bytesArb(100, 400)), cid: cidArb }), weight: 2 },
      { arbitrary: fc.record({ cmd: fc.constantFrom(CtaphidCommand.Wink, CtaphidCommand.Cancel), payload: bytesArb(0, 2), cid: cidArb }), weight: 2 },
      { arbitrary: fc.record({ cmd: fc.constant(CtaphidCommand.Lock), payload: fc.oneof(fc.integer({ min: 0, max: 12 }).map((s) => Uint8Array.of(s)), bytesArb(0, 3)), cid: cidArb }), weight: 1 },
      { arbitrary: fc.record({ cmd: fc.integer({ min: 0, max: 0x7f }), payload: bytesArb(0, 80), cid: cidArb }), weight: 1 },
    )
    .chain((m) =>
      fc.record({
        op: fc.constant('message' as const),
        link: fc.nat({ max: 2 }),
        cid: fc.constant(m.cid),
        cmd: fc.constant(m.cmd),
        payload: fc.constant(m.payload),
        bcntDelta: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: -70, max: 70 }), weight: 1 }, { arbitrary: fc.constant(8000), weight: 1 }),
        surgery: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 8 }, { arbitrary: fc.constantFrom('drop' as const, 'duplicate' as const, 'swap' as const, 'seq' as const), weight: 2 }),
        at: fc.nat(),
        corrupt: fc.oneof({ arbitrary: fc.constant([] as ByteMutation[]), weight: 8 }, { arbitrary: byteMutationsArb.map((ms) => ms.filter((x) => x.kind === 'flip' || x.kind === 'set')), weight: 2 }),
      }),
    );
  const action: fc.Arbitrary<HidAction> = fc.oneof(
    { arbitrary: messageArb, weight: 10 },
    { arbitrary: fc.record({ op: fc.constant('raw' as const), link: fc.nat({ max: 2 }), report: bytesArb(64, 64) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('disconnect' as const), link: fc.nat({ max: 2 }) }), weight: 1 },
    { arbitrary: fc.constant({ op: 'yield' as const }), weight: 3 },
    ...(withStray ? [{ arbitrary: fc.record({ op: fc.constant('stray' as const), link: fc.nat({ max: 2 }), bytes: bytesArb(1, 63) }), weight: 1 }] : []),
  );
  // Most sessions start the way a client does: a channel first.
  const init: fc.Arbitrary<HidAction> = fc.record({
    op: fc.constant('message' as const),
    link: fc.constant(0),
    cid: fc.constant({ kind: 'broadcast' } as CidRef),
    cmd: fc.constant(CtaphidCommand.Init),
    payload: bytesArb(8, 8),
    bcntDelta: fc.constant(0),
    surgery: fc.constant('none' as const),
    at: fc.constant(0),
    corrupt: fc.constant([] as ByteMutation[]),
  });
  return fc.tuple(init, fc.array(action, { minLength: 1, maxLength: 14 })).map(([first, rest]) => [first, ...rest]);
}

/** The reports of one message action, with its lies and surgery applied. */
function renderMessage(action: Extract<HidAction, { op: 'message' }>, cid: number): Uint8Array[] {
  const length = action.payload.length;
  const bcnt = Math.max(0, Math.min(0xffff, length + action.bcntDelta));
  const reports: Uint8Array[] = [];
  const first = new Uint8Array(64);
  new DataView(first.buffer).setUint32(0, cid >>> 0);
  first[4] = 0x80 | action.cmd;
  new DataView(first.buffer).setUint16(5, bcnt);
  first.set(action.payload.subarray(0, 57), 7);
  reports.push(first);
  for (let offset = 57, seq = 0; offset < length; offset += 59, seq++) {
    const cont = new Uint8Array(64);
    new DataView(cont.buffer).setUint32(0, cid >>> 0);
    cont[4] = seq & 0x7f;
    cont.set(action.payload.subarray(offset, offset + 59), 5);
    reports.push(cont);
  }
  const i = action.at % reports.length;
  switch (action.surgery) {
    case 'drop':
      if (reports.length > 1) reports.splice(i, 1);
      break;
    case 'duplicate':
      reports.splice(i, 0, reports[i]!.slice());
      break;
    case 'swap':
      if (reports.length > 2) [reports[1], reports[reports.length - 1]] = [reports[reports.length - 1]!, reports[1]!];
      break;
    case 'seq':
      for (const r of reports.slice(1)) r[4] = (r[4]! + 1 + (action.at % 3)) & 0xff;
      break;
    case 'none':
      break;
  }
  if (action.corrupt.length === 0) return reports;
  const joined = applyByteMutations(concatBytes(...reports), action.corrupt);
  return Array.from({ length: joined.length / 64 }, (_, k) => joined.slice(k * 64, k * 64 + 64));
}

const HID_RESPONSES = new Set<number>([CtaphidCommand.Ping, CtaphidCommand.Lock, CtaphidCommand.Init, CtaphidCommand.Wink, CtaphidCommand.Cbor, CtaphidCommand.Keepalive, CtaphidCommand.Error]);
const HID_ERRORS = new Set<number>(Object.values(CtaphidError));

/** What one connection saw: the channels it sent on and was given, and every chunk the server sent it. */
class LinkRecord {
  readonly sent = new Set<number>([BROADCAST]);
  readonly owned: number[] = [];
  readonly chunks: Uint8Array[] = [];
  private parsed = 0;
  private pending: Uint8Array = new Uint8Array(0);
  refused = false;
  /** Socket only: stray bytes moved the server's report boundaries; what comes back is not judged. */
  misaligned = false;

  /** Reads the chunks received so far into whole messages, checking each one. */
  absorb(): void {
    if (this.misaligned) return;
    for (; this.parsed < this.chunks.length; this.parsed++) {
      this.pending = concatBytes(this.pending, this.chunks[this.parsed]!);
    }
    while (this.pending.length >= 64) {
      const first = this.pending.subarray(0, 64);
      const cid = new DataView(first.buffer, first.byteOffset).getUint32(0);
      if ((first[4]! & 0x80) === 0) broken(`a continuation packet without its initialization packet, on 0x${cid.toString(16)}`);
      const cmd = first[4]! & 0x7f;
      const bcnt = (first[5]! << 8) | first[6]!;
      const count = bcnt <= 57 ? 1 : 1 + Math.ceil((bcnt - 57) / 59);
      if (this.pending.length < count * 64) return; // the rest is on its way (socket)
      const payload = new Uint8Array(bcnt);
      payload.set(first.subarray(7, 7 + Math.min(57, bcnt)));
      for (let k = 1, filled = 57; k < count; k++, filled += 59) {
        const cont = this.pending.subarray(k * 64, k * 64 + 64);
        if (new DataView(cont.buffer, cont.byteOffset).getUint32(0) !== cid || cont[4] !== k - 1) broken('a response message whose packets are out of order');
        payload.set(cont.subarray(5, 5 + Math.min(59, bcnt - filled)), filled);
      }
      this.pending = this.pending.subarray(count * 64);
      this.check(cid, cmd, payload);
    }
  }

  private check(cid: number, cmd: number, payload: Uint8Array): void {
    if (!HID_RESPONSES.has(cmd)) broken(`a response with command 0x${cmd.toString(16)}`);
    if (!this.sent.has(cid) && !this.owned.includes(cid)) broken(`a response on channel 0x${cid.toString(16)}, which this connection never used`);
    if (cmd === CtaphidCommand.Error) {
      if (payload.length !== 1 || !HID_ERRORS.has(payload[0]!)) broken(`ERROR with payload ${hexOf(payload)}`);
      this.refused = true;
    } else if (cmd === CtaphidCommand.Keepalive) {
      if (payload.length !== 1 || (payload[0] !== 1 && payload[0] !== 2)) broken(`KEEPALIVE with payload ${hexOf(payload)}`);
    } else if (cmd === CtaphidCommand.Init) {
      if (payload.length !== 17) broken(`an INIT answer of ${payload.length} bytes`);
      const given = new DataView(payload.buffer).getUint32(8);
      if (given === 0 || given === BROADCAST) broken(`channel 0x${given.toString(16)} allocated`);
      this.owned.push(given);
    } else if (cmd === CtaphidCommand.Cbor) {
      const status = payload[0];
      if (status === undefined || !SPEC_STATUSES.has(status)) broken(`a CBOR answer with status ${String(status)}`);
      if (status === Status.OTHER) broken('a CBOR answer CTAP1_ERR_OTHER: an exception inside the core');
      if (status !== Status.OK) this.refused = true;
      else if (payload.length > 1) decodeStrict(payload.subarray(1));
    }
  }

  resolve(ref: CidRef): number {
    this.absorb();
    return ref.kind === 'broadcast' ? BROADCAST : ref.kind === 'raw' ? ref.value >>> 0 : (this.owned[ref.index % Math.max(1, this.owned.length)] ?? 1);
  }

  /** The channels of reports this connection sent (after any corruption): answers may come on them. */
  noteSent(reports: Uint8Array): void {
    for (let offset = 0; offset + 64 <= reports.length; offset += 64) {
      this.sent.add(new DataView(reports.buffer, reports.byteOffset + offset).getUint32(0));
    }
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export function ctaphidTarget(world: FuzzWorld): FuzzTarget<{ actions: HidAction[] }> {
  return {
    name: 'ctaphid',
    arbitrary: fc.record({ actions: hidActionsArb(world, false) }),
    async run({ actions }) {
      const device = new CtaphidDevice({
        authenticator: world.authenticator,
        context: () => ({ user: userOf('approve') }),
        messageTimeoutMs: 25,
        keepaliveIntervalMs: 5,
        transactionTimeoutMs: 2_000,
      });
      const records = [new LinkRecord(), new LinkRecord(), new LinkRecord()];
      const links: Link[] = records.map((record, i) => ({
        peer: { connection: i + 1, transport: 'tcp' as const },
        send(packets) {
          if (packets.length === 0 || packets.length % 64 !== 0) broken(`a send of ${packets.length} bytes`);
          record.chunks.push(packets.slice());
        },
      }));
      const receive = (link: number, report: Uint8Array) => {
        records[link]!.noteSent(report);
        try {
          device.receive(links[link]!, report);
        } catch (error) {
          broken(`device.receive threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        }
      };
      try {
        for (const action of actions) {
          if (action.op === 'yield') await tick();
          else if (action.op === 'disconnect') device.disconnect(links[action.link]!);
          else if (action.op === 'raw') receive(action.link, action.report);
          else if (action.op === 'message') {
            const cid = records[action.link]!.resolve(action.cid);
            for (const report of renderMessage(action, cid)) receive(action.link, report);
          }
        }
        for (let i = 0; i < 3; i++) await tick();
        await withDeadline(device.close(), 10_000, 'the CTAPHID device');
        for (const record of records) record.absorb();
        return records.some((r) => r.refused) ? 'refused' : 'accepted';
      } finally {
        world.restore();
      }
    },
  };
}

export function ctaphidSocketTarget(world: FuzzWorld): FuzzTarget<{ actions: HidAction[]; splits: number[] }> {
  let server: CtaphidServer | undefined;
  const port = async () => {
    server ??= await listenCtaphid({ kind: 'tcp', host: '127.0.0.1', port: 0 }, {
      authenticator: world.authenticator,
      context: () => ({ user: userOf('approve') }),
      messageTimeoutMs: 25,
      keepaliveIntervalMs: 5,
    });
    return server.address.kind === 'tcp' ? server.address.port : 0;
  };
  return {
    name: 'ctaphid-socket',
    arbitrary: fc.record({ actions: hidActionsArb(world, true), splits: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }) }),
    async run({ actions, splits }) {
      const p = await port();
      const sockets = await Promise.all([0, 1, 2].map(() => connectTo(p)));
      const records = [new LinkRecord(), new LinkRecord(), new LinkRecord()];
      sockets.forEach((s, i) => s.on('data', (chunk: Buffer) => records[i]!.chunks.push(new Uint8Array(chunk))));
      let split = 0;
      const write = async (link: number, bytes: Uint8Array) => {
        const socket = sockets[link]!;
        records[link]!.noteSent(bytes);
        for (let offset = 0; offset < bytes.length; ) {
          const size = splits[split++ % splits.length]!;
          if (!socket.destroyed) socket.write(bytes.subarray(offset, offset + size));
          offset += size;
        }
        await tick();
      };
      try {
        for (const action of actions) {
          if (action.op === 'yield') await new Promise((resolve) => setTimeout(resolve, 1));
          else if (action.op === 'disconnect') sockets[action.link]!.destroy();
          else if (action.op === 'raw') await write(action.link, action.report);
          else if (action.op === 'stray') {
            records[action.link]!.misaligned = true;
            await write(action.link, action.bytes);
          } else if (action.op === 'message') {
            const cid = records[action.link]!.resolve(action.cid);
            await write(action.link, concatBytes(...renderMessage(action, cid)));
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Misaligned connections send reports the server cuts elsewhere: only well-formedness is checked there.
        for (const record of records) record.absorb();
        // The server is still there for the next client.
        const probe = await connectTo(p);
        const reply = await new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Broken('the server stopped answering INIT')), 5_000);
          probe.once('data', (chunk: Buffer) => {
            clearTimeout(timer);
            resolve(chunk);
          });
          const init = new Uint8Array(64);
          init.set([0xff, 0xff, 0xff, 0xff, 0x86, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
          probe.write(init);
        });
        probe.destroy();
        if (reply.length < 64 || reply[4] !== 0x86) broken('the server answered INIT wrongly after the case');
        return records.some((r) => r.refused) ? 'refused' : 'accepted';
      } finally {
        for (const s of sockets) s.destroy();
        world.restore();
      }
    },
    async close() {
      await server?.close();
    },
  };
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

// ---- Windows --------------------------------------------------------------------------------------

type SignatureMode = 'valid' | 'valid-der' | 'none' | 'truncated' | 'stale' | 'other-key' | 'other-algorithm' | 'random' | 'appended';

interface WindowsInput {
  readonly host: KeyType;
  readonly kind: PluginOperation['kind'];
  readonly request: Uint8Array;
  readonly commandByte: boolean;
  readonly signature: SignatureMode;
  readonly transactionId: string;
  readonly hwnd: bigint;
  readonly uv: UvMode;
}

const ALLOWED_HRESULTS = new Set<number>([HRESULT.S_OK, ...Object.values(FAILURE_HRESULT)]);
const VALID_SIGNATURES = new Set<SignatureMode>(['valid', 'valid-der']);

export function windowsTarget(world: FuzzWorld): FuzzTarget<WindowsInput> {
  const hosts = new Map<KeyType, { windows: FakeWindows; host: PluginHost; logs: string[]; calls: { n: number } }>();
  const hostFor = (type: KeyType) => {
    let entry = hosts.get(type);
    if (entry === undefined) {
      const windows = new FakeWindows(type, type === 'ecdsa' ? 'ecdsa' : 'rsa-pss');
      const logs: string[] = [];
      const calls = { n: 0 };
      const authenticator = world.authenticator;
      const counted = Object.create(authenticator) as typeof authenticator;
      counted.handle = (command, params, ctx) => {
        calls.n++;
        return authenticator.handle(command, params, ctx);
      };
      const host = new PluginHost({ addon: windows, clsid: CLSID, authenticator: counted, isLocked: () => false, log: (l) => logs.push(l), operationTimeoutMs: 5_000 });
      host.start();
      entry = { windows, host, logs, calls };
      hosts.set(type, entry);
    }
    return entry;
  };
  const mc = requestBytesArb(makeCredentialArb(world.gen) as fc.Arbitrary<CborValue>);
  const ga = requestBytesArb(getAssertionArb(world.gen) as fc.Arbitrary<CborValue>);
  const arbitrary: fc.Arbitrary<WindowsInput> = fc
    .constantFrom('makeCredential' as const, 'getAssertion' as const)
    .chain((kind) =>
      fc.record({
        host: fc.constantFrom<KeyType>('ecdsa', 'ecdsa', 'ecdsa', 'rsa-pkcs1', 'rsa-pss'),
        kind: fc.constant(kind),
        request: fc.oneof({ arbitrary: kind === 'makeCredential' ? mc : ga, weight: 9 }, { arbitrary: kind === 'makeCredential' ? ga : mc, weight: 1 }),
        commandByte: fc.boolean(),
        signature: fc.oneof(
          { arbitrary: fc.constantFrom<SignatureMode>('valid', 'valid-der'), weight: 6 },
          { arbitrary: fc.constantFrom<SignatureMode>('none', 'truncated', 'stale', 'other-key', 'other-algorithm', 'random', 'appended'), weight: 4 },
        ),
        transactionId: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
        hwnd: fc.oneof(fc.constant(0x10010n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
        uv: fc.constantFrom<UvMode>('accept', 'accept', 'accept', 'decline', 'cancel-error', 'bad-signature', 'empty'),
      }),
    );
  return {
    name: 'windows',
    arbitrary,
    async run(input) {
      const { windows, host, logs, calls } = hostFor(input.host);
      windows.uvMode = input.uv;
      const request = input.commandByte ? concatBytes(Uint8Array.of(input.kind === 'makeCredential' ? 1 : 2), input.request) : input.request;
      const key = windows.opSigningKey;
      let signature: Uint8Array;
      switch (input.signature) {
        case 'valid':
          signature = key.sign(request);
          break;
        case 'valid-der':
          signature = key.type === 'ecdsa' ? p1363ToDer(key.sign(request)) : key.sign(request);
          break;
        case 'none':
          signature = new Uint8Array(0);
          break;
        case 'truncated':
          signature = key.sign(request).subarray(0, 20);
          break;
        case 'stale':
          // Signed, then the bytes changed (one more byte at the end).
          signature = key.sign(request);
          break;
        case 'other-key':
          signature = otherKey(input.host).sign(request);
          break;
        case 'other-algorithm':
          signature = otherKey(input.host === 'ecdsa' ? 'rsa-pkcs1' : 'ecdsa').sign(request);
          break;
        case 'random':
          signature = new Uint8Array(key.type === 'ecdsa' ? 64 : 256).map((_, i) => (i * 73 + request.length) & 0xff);
          break;
        case 'appended':
          signature = concatBytes(key.sign(request), Uint8Array.of(0));
          break;
      }
      const sent = input.signature === 'stale' ? concatBytes(request, Uint8Array.of(0)) : request;
      const before = calls.n;
      const prompts = windows.uvRequests.length;
      const logged = logs.length;
      try {
        const reply = await withDeadline(
          windows.call(input.kind, sent, { signature, transactionId: input.transactionId || randomUUID(), hwnd: input.hwnd }),
          15_000,
          'the plugin host',
        );
        if (!ALLOWED_HRESULTS.has(reply.hresult)) broken(`HRESULT 0x${reply.hresult.toString(16)} is not in the table`);
        if (!VALID_SIGNATURES.has(input.signature)) {
          if (reply.hresult !== HRESULT.NTE_BAD_SIGNATURE) broken(`a ${input.signature} signature answered 0x${reply.hresult.toString(16)}, not NTE_BAD_SIGNATURE`);
          if (calls.n !== before) broken('the core ran for a request whose signature does not verify');
          if (windows.uvRequests.length !== prompts) broken('Windows Hello was asked for a request whose signature does not verify');
        }
        if (reply.hresult === HRESULT.S_OK) cborMap(reply.response);
        const unexpected = logs.slice(logged).find((l) => /unexpected|failed unexpectedly/.test(l));
        if (unexpected !== undefined) broken(`the host logged: ${unexpected}`);
        if (host.busy) broken('the host is still busy after answering');
        return reply.hresult === HRESULT.S_OK ? 'accepted' : 'refused';
      } finally {
        windows.pendingRequests.clear();
        windows.uvRequests.length = 0;
        windows.calls.length = 0;
        logs.length = 0;
        world.restore();
      }
    },
    async close() {
      for (const { host } of hosts.values()) host.stop();
    },
  };
}

const otherKeys = new Map<KeyType, ReturnType<typeof signingKey>>();
function otherKey(type: KeyType) {
  let key = otherKeys.get(type);
  if (key === undefined) {
    key = signingKey(type);
    otherKeys.set(type, key);
  }
  return key;
}

/** IEEE P1363 r‖s → DER SEQUENCE { INTEGER r, INTEGER s } (what KeePassKeyWin accepts too). */
function p1363ToDer(signature: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.subarray(i);
    if (v[0]! & 0x80) v = concatBytes(Uint8Array.of(0), v);
    return concatBytes(Uint8Array.of(0x02, v.length), v);
  };
  const body = concatBytes(integer(signature.subarray(0, 32)), integer(signature.subarray(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

export async function allTargets(world: FuzzWorld): Promise<FuzzTarget[]> {
  return [cborTarget(world), ...ctapTargets(world), ctaphidTarget(world), ctaphidSocketTarget(world), windowsTarget(world)] as FuzzTarget[];
}

export type { HidAction, WindowsInput, CtapInput };
