// Command lines, parsed by node:util parseArgs (Node 18.3+, nothing added to the Pi bundle),
// with its errors put in a line a person reads: "unknown option --x", "--config needs a value".
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

export function parseCommandLine<O extends Options>(argv: readonly string[], options: O): Parsed<O> | { error: string } {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        return { error: `unknown option ${quoted}` };
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        return { error: `${/--[\w-]+/.exec(quoted)?.[0] ?? quoted} needs a value` };
      default:
        return { error: e.message };
    }
  }
}
