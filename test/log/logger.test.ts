import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';

describe('logger', () => {
  it('redacts signatures, nonces and key material wherever they appear', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', pretty: false, destination: { write: (line) => void lines.push(line) } });
    log.info(
      {
        req: {
          headers: {
            'x-cleanroom-signature': 'SIG-SECRET',
            'x-cleanroom-nonce': 'NONCE-SECRET',
            'x-cleanroom-key': 'public-key-is-fine',
            authorization: 'Bearer TOKEN-SECRET',
          },
        },
        masterKey: 'MASTER-SECRET',
        upload: { secretKey: 'SECRET-KEY', sealedKey: 'SEALED-SECRET', signature: 'MANIFEST-SIG' },
      },
      'request',
    );
    const text = lines.join('');
    for (const secret of [
      'SIG-SECRET',
      'NONCE-SECRET',
      'TOKEN-SECRET',
      'MASTER-SECRET',
      'SECRET-KEY',
      'SEALED-SECRET',
      'MANIFEST-SIG',
    ])
      expect(text).not.toContain(secret);
    expect(text).toContain('public-key-is-fine');
    expect(text).toContain('[redacted]');
  });
});
