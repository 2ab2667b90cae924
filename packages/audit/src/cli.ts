import { runCli } from './internal/cliMain';

/** `rediver-audit verify <dir>`: checks an audit log's hash chain. */
void runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
}).then((code) => {
  process.exitCode = code;
});
