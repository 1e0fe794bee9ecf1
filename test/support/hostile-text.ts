/**
 * What a partner may put in a dimension value, a template or a name: an OSC title change, a screen
 * clear, a carriage return and newline that rewrite a line, a bidi override that reverses text, a
 * one-byte C1 CSI, DEL and an isolate. No NUL, so it also fits a command-line argument.
 */
export const HOSTILE = 'x\x1b]0;pwned\x07\x1b[2J\r\nfake\u202etxt.exe\x9b31m\x7f\u2066';

/** Anything a terminal would act on, raw (newline and tab aside). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;
