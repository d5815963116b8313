/**
 * `latchkey start`'s demo ceremony, run through the CTAPHID socket itself by a client in this
 * process whose connection alone is approved, and cleaned up afterwards: the demo passkey is
 * deleted from the vault so the user's vault keeps only what the user made.
 * @module
 */
import type { CredentialStore } from '../ctap/index.js';
import { CtaphidClient } from './ctaphidClient.js';
import type { CtaphidService } from './ctaphidService.js';
import { DEMO_ORIGIN, DEMO_RP_ID, runDemoCeremony, tracingSend } from './demoCeremony.js';
import { WebAuthnPlatform } from './webauthnClient.js';

/** The user name the socket demo registers under; only passkeys with it (at the demo RP) are ever removed. */
export const SOCKET_DEMO_USER = 'latchkey-start-demo@demo.latchkey.test';

export interface SocketDemoOptions {
  readonly service: CtaphidService;
  readonly store: CredentialStore;
  readonly say: (line: string) => void;
  readonly userVerification: 'required' | 'preferred';
}

/** Runs the ceremony; resolves whether the relying party accepted both steps. */
export async function runSocketDemo(options: SocketDemoOptions): Promise<boolean> {
  const { service, store, say } = options;
  removeDemoPasskeys(store); // left by a run that was killed halfway
  const client = await CtaphidClient.connect(service.server.address);
  const endpoint = client.localEndpoint;
  if (endpoint === undefined) {
    client.close();
    throw new Error('the demo client has no TCP endpoint');
  }
  const stopApproving = service.approveOwnConnection(endpoint);
  try {
    say(`  client: channel 0x${client.channel.toString(16).padStart(8, '0')} from ${endpoint.address}:${endpoint.port} (approved for this demo only)`);
    const platform = new WebAuthnPlatform(tracingSend((command, params) => client.send(command, params), say), DEMO_ORIGIN);
    const result = await runDemoCeremony(platform, say, { userName: SOCKET_DEMO_USER, userVerification: options.userVerification });
    return result.accepted;
  } finally {
    stopApproving();
    client.close();
    const removed = removeDemoPasskeys(store);
    say(`  cleaned up: ${removed === 1 ? 'the demo passkey was' : `${removed} demo passkeys were`} deleted from the vault`);
  }
}

/** Deletes the socket demo's passkeys: those at the demo RP under the demo's own user name, nothing else. */
export function removeDemoPasskeys(store: CredentialStore): number {
  let removed = 0;
  for (const record of store.findDiscoverable(DEMO_RP_ID)) {
    if (record.userName === SOCKET_DEMO_USER && store.delete(record.id)) removed++;
  }
  return removed;
}
