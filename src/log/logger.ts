import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Paths pino blanks in every log line. Signatures and keys are not secrets in the cryptographic
 * sense, but they are credentials in a log reader's hands, and a master key or a secret key must
 * never appear even by mistake.
 */
export const REDACTED_PATHS = [
  'req.headers["x-cleanroom-signature"]',
  'req.headers["x-cleanroom-nonce"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'masterKey',
  'secretKey',
  '*.masterKey',
  '*.secretKey',
  '*.sealedKey',
  '*.signature',
  'config.masterKey',
];

/** JSON lines when piped, pretty lines in a terminal; `silent` for tests; `destination` to capture. */
export function createLogger(
  options: { level?: string; pretty?: boolean; destination?: { write(line: string): void } } = {},
): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const settings = {
    level: options.level ?? process.env.CLEANROOM_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty && !options.destination
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
