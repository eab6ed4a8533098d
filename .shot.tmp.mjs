import { chromium } from '@playwright/test';
const [url, out, w = '800', h = '700', script = ''] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/lib/chromium/chromium' });
const p = await b.newPage({ viewport: { width: +w, height: +h } });
p.on('console', (m) => console.log('PAGE', m.type(), m.text()));
await p.goto(url);
await p.waitForTimeout(1500);
if (script) { await eval(script); await p.waitForTimeout(800); }
await p.screenshot({ path: out, fullPage: true });
await b.close();
