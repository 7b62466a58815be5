/**
 * A stand-in PostgreSQL server that only does the start of the wire protocol: it answers the
 * startup with a cleartext-password request and then rejects the login with the ErrorResponse a
 * real server sends (e.g. 28P01 "password authentication failed for user ..."). The local test
 * PostgreSQL uses trust authentication, so this is how the gateway's mapping of a failed login
 * (spec §3.3: 400 with code "") can be exercised at all.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface FakePostgres {
  port: number;
  /** Every user name a client tried to log in as, and the password it sent. */
  attempts: { user: string; password: string }[];
  close(): Promise<void>;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function errorResponse(fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(([k, v]) => Buffer.from(`${k}${v}\0`, 'utf8'));
  return message('E', Buffer.concat([...parts, Buffer.from([0])]));
}

/** Reject every login with `sqlstate` and a message built from the user name. */
export async function startFakePostgres(
  sqlstate = '28P01',
  text = (user: string) => `password authentication failed for user "${user}"`,
): Promise<FakePostgres> {
  const attempts: FakePostgres['attempts'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let input = Buffer.alloc(0);
    let user = '';
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      for (;;) {
        if (!started) {
          if (input.length < 8 || input.length < input.readInt32BE(0)) return;
          const len = input.readInt32BE(0);
          const code = input.readInt32BE(4);
          const body = input.subarray(8, len);
          input = input.subarray(len);
          if (code === 80877103) {
            socket.write('N'); // no SSL
            continue;
          }
          const pairs = body.toString('utf8').split('\0');
          for (let i = 0; i + 1 < pairs.length; i += 2) if (pairs[i] === 'user') user = pairs[i + 1]!;
          started = true;
          const ask = Buffer.alloc(4);
          ask.writeInt32BE(3); // AuthenticationCleartextPassword
          socket.write(message('R', ask));
          continue;
        }
        if (input.length < 5 || input.length < input.readInt32BE(1) + 1) return;
        const len = input.readInt32BE(1);
        const type = String.fromCharCode(input[0]!);
        const body = input.subarray(5, len + 1);
        input = input.subarray(len + 1);
        if (type === 'p') {
          attempts.push({ user, password: body.toString('utf8').replace(/\0$/, '') });
          socket.end(errorResponse({ S: 'FATAL', V: 'FATAL', C: sqlstate, M: text(user), R: 'auth_failed' }));
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    attempts,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
