import { describe, expect, it } from 'vitest';
import { httpNativeTransport, httpPsiTransport } from '../../src/client/psi-transport.ts';
import { RoomClient, RoomRequestError } from '../../src/client/room-client.ts';

/** A client whose PUTs are refused with the given codes first, then accepted. */
class ScriptedClient extends RoomClient {
  readonly puts: string[] = [];
  constructor(private readonly refusals: { status: number; code: string }[]) {
    super('http://127.0.0.1:9');
  }

  override async sendBytes(method: string, path: string): Promise<Uint8Array> {
    this.puts.push(`${method} ${path}`);
    const next = this.refusals.shift();
    if (next) throw new RoomRequestError(next.status, next.code, 'refused', { retryAfterSeconds: 0 });
    return new Uint8Array(0);
  }
}

describe('PSI transport over the relay', () => {
  it('offers a message again while the room is busy receiving others, and gives up on any other refusal', async () => {
    const busy = new ScriptedClient([
      { status: 503, code: 'PSI_RELAY_BUSY' },
      { status: 503, code: 'PSI_RELAY_BUSY' },
    ]);
    await httpPsiTransport(busy, 'demo', 's1').postSetup(new Uint8Array([1]));
    expect(busy.puts).toEqual(Array(3).fill('PUT /v1/collaborations/demo/psi/s1/setup'));

    const wrong = new ScriptedClient([{ status: 409, code: 'PSI_WRONG_STEP' }]);
    await expect(httpPsiTransport(wrong, 'demo', 's1').postRequest(new Uint8Array([1]))).rejects.toMatchObject({
      code: 'PSI_WRONG_STEP',
    });
    expect(wrong.puts).toHaveLength(1);
  });

  it('waits out the other member’s message in flight: in a room-counted session both may post at once', async () => {
    // A server holding its response upload open must not make the client's final fail (429, nothing read).
    const held = new ScriptedClient([
      { status: 429, code: 'PSI_UPLOAD_IN_FLIGHT' },
      { status: 429, code: 'PSI_UPLOAD_IN_FLIGHT' },
    ]);
    await httpNativeTransport(held, 'demo', 's2', { releasedToMe: true }).postFinal(new Uint8Array(32));
    expect(held.puts).toEqual(Array(3).fill('PUT /v1/collaborations/demo/psi/s2/final'));
  });
});
