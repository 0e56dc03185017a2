// A real SMTP server process on loopback for the browser tests (npm
// `smtp-server`), plain SMTP with no TLS and no AUTH, as OneAuth's courier
// uses it with `courier.smtp.tls = "none"`. Every accepted mail is parsed
// with `mailparser` and printed to stdout as one JSON line:
//   {"ready": PORT}                      once listening
//   {"mail": {from, to, subject, text, date}}  per message
// Stops on SIGTERM or when its parent closes stdin.
//
//   node smtp-sink.mjs [PORT]     (0 or none: any free port)

import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const port = Number(process.argv[2] || 0);
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const server = new SMTPServer({
  name: 'smtp-sink.test',
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  hideSTARTTLS: true,
  logger: false,
  size: 1 << 20,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((m) => {
        emit({
          mail: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((r) => r.address),
            headerFrom: m.from ? m.from.value[0] : null, // {address, name}
            headerTo: m.to ? m.to.value.map((v) => v.address) : [],
            subject: m.subject ?? '',
            text: m.text ?? '',
            contentType: m.headers.get('content-type')?.value ?? null,
          },
        });
        callback();
      })
      .catch((e) => callback(e));
  },
});

server.on('error', (e) => process.stderr.write(`smtp-sink error: ${e.message}\n`));
server.listen(port, '127.0.0.1', () => emit({ ready: server.server.address().port }));

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
// Never outlive a test run by much.
setTimeout(stop, 10 * 60_000).unref();
