// `node docker/localhost-forward.ts <port> <host>`: forwards localhost:<port> inside this container to
// <host>:<port>. docker-compose.yml uses it so that the BFF container reaches Keycloak at the public
// URL http://localhost:8080, the token issuer's base, as the BFF does natively (see the comment there).
import net from 'node:net';

const [port, host] = [Number(process.argv[2]), process.argv[3]];
if (!Number.isInteger(port) || !host) {
  process.stderr.write('usage: node docker/localhost-forward.ts <port> <host>\n');
  process.exit(2);
}
const forward = (client: net.Socket) => {
  const upstream = net.connect(port, host);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
};
// localhost may resolve to ::1 first; containers without IPv6 have no ::1, which is fine.
net.createServer(forward).listen(port, '127.0.0.1', () => console.log(`localhost:${port} -> ${host}:${port}`));
net
  .createServer(forward)
  .on('error', () => {})
  .listen(port, '::1');
