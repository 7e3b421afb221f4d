// The web app's static server as its own process (the chart's `web` component): configuration, serve, drain.
import { runService } from '@kinora/service/run';

await runService('web', async () => (await import('./web/web-server.js')).buildWebServer, { database: false, readyFields: (config) => ({ webRoot: config.webRoot }) });
