// The collector container's healthcheck: GET /healthz on its port over https (listen.tls
// set; the certificate is not checked, this is the container asking itself) and, when no
// TLS answers, over plain http. Exit 0 when the collector says it is up (200; 503 is
// "up, InfluxDB unreachable", which is unhealthy too).
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const port = Number(process.env.CANH_HEALTH_PORT ?? 8443);

function status(get, opts) {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, ...opts }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

const code = (await status(httpsGet, { rejectUnauthorized: false })) ?? (await status(httpGet, {}));
process.stdout.write(`healthz: ${code ?? 'no answer'}\n`);
process.exit(code === 200 ? 0 : 1);
