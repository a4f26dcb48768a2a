// GET /dashboard in Debian's chromium (driven by playwright-core; never a downloaded browser) against a real
// gateway: onnxruntime-node engines on models/demo, a PGlite drift log, the monitor with a rule that fires on
// any measurable drift. The page must load without console errors, refuse a wrong token in place, draw the
// KL line in the active arm's colour, show the alert the test's traffic fires (over SSE, no reload), fit a
// 375-px phone screen, and leave screenshots in test-artifacts/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { startGateway, type RunningGateway } from "../apps/gateway/src/server.node.ts";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, REPO, sleep, tempDir } from "./gateway-helpers";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
// In CI the browser test must run (.ci/run installs chromium); elsewhere it is skipped only without one.
const skip = CHROMIUM === undefined && !process.env.CI;
const ARTIFACTS = join(REPO, "test-artifacts");
const TOKEN = "dashboard-test-token-0123456789";

describe.skipIf(skip)("dashboard in chromium", () => {
  const data = tempDir("tether-dashboard-");
  const profile = tempDir("tether-chromium-");
  let gateway: RunningGateway;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = []; // console errors and uncaught page errors
  let traffic: Promise<void> = Promise.resolve();
  let sending = true;

  beforeAll(async () => {
    if (CHROMIUM === undefined) throw new Error("CI is set but chromium is not installed (apt-get install -y chromium)");
    gateway = await startGateway(
      loadGatewayConfig(
        {
          port: 0,
          policy: DEMO_POLICY,
          reference: DEMO_REFERENCE,
          data_dir: data.dir,
          admin_token: TOKEN,
          drift_guard: { candidates: 2, max_rounds: 1 },
          // Fires on any measurable drift (a sampled answer's KL is > 0.001 nats/token almost surely) once 5
          // requests are in the window and the condition has held for 2 s.
          alerts: {
            rules: [{ name: "test-any-drift", metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">", threshold: 0.001, min_samples: 5, for: "2s", severity: "critical" }],
            evaluate_interval_s: 0.5,
            stream_interval_s: 0.5,
          },
        },
        {},
      ),
      () => {},
    );
    browser = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.emulateMedia({ colorScheme: "dark" }); // the page follows the system theme until toggled
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page: ${e.message}`));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    sending = false;
    await traffic;
    await browser?.close();
    await gateway?.close();
    data.remove();
    profile.remove();
  });

  /** Demo-format completions from two clients until the test stops them. */
  function startTraffic(): void {
    const model = manifestId(DEMO_POLICY);
    const client = async (c: number) => {
      for (let i = 0; sending; i++) {
        const prompt = i % 2 ? `${(7 * i + c) % 90}+${(3 * i) % 10}=` : `${(5 * i + c) % 90}*${i % 10}=`;
        const res = await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, prompt, max_tokens: 6, temperature: 1 }) });
        await res.arrayBuffer();
        await sleep(50);
      }
    };
    traffic = Promise.all([client(0), client(1)]).then(() => {});
  }

  it("asks for a token without putting it in the URL, and refuses a wrong one in place", async () => {
    const res = await page.goto(`${gateway.url}/dashboard`);
    expect(res?.status()).toBe(200);
    await page.locator("#login").waitFor({ state: "visible" });
    await page.fill("#token", "wrong-token-0123456789");
    await page.click("#login-form button[type=submit]");
    await expect.poll(() => page.textContent("#login-error"), { timeout: 20_000 }).toMatch(/\S/);
    // The 403 for the wrong token is logged by chromium as a failed resource load; it is the expected answer.
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 403/.test(p)));
    await page.fill("#token", TOKEN);
    await page.click("#login-form button[type=submit]");
    await page.locator("#app").waitFor({ state: "visible" });
    expect(page.url()).toBe(`${gateway.url}/dashboard`);
    expect(await page.evaluate(() => sessionStorage.getItem("tether.adminToken"))).toBe(TOKEN);
    await expect.poll(() => page.getAttribute("#status", "data-state"), { timeout: 20_000 }).toBe("live");
    // The registry: the served policy as active, with its eval.json numbers; the reference.
    const cards = await page.locator(".ckpt-card").allTextContents();
    expect(cards.some((t) => t.includes(manifestId(DEMO_POLICY)) && /active/.test(t) && /KL p99/.test(t))).toBe(true);
    expect(cards.some((t) => t.includes(manifestId(DEMO_REFERENCE)) && /reference/.test(t))).toBe(true);
  }, 120_000);

  it("shows an alert that fires during the test, and draws the KL chart, live over SSE", async () => {
    const before = await page.evaluate(() => performance.getEntriesByType("navigation").length);
    startTraffic();
    await page.locator('.alert[data-state="firing"]').first().waitFor({ state: "visible", timeout: 90_000 });
    const alert = await page.locator('.alert[data-state="firing"]').first().textContent();
    expect(alert).toMatch(/test-any-drift/);
    expect(alert).toMatch(/critical/);
    expect(alert).toMatch(/mean\(kl_mean, 1m\)/);
    // No reload happened: still one navigation entry, and the tile for the active arm counts requests.
    expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(before);
    await expect.poll(async () => Number((await page.locator('.tile[data-arm="active"] .stat .v').nth(4).textContent())?.match(/^\d+/)?.[0] ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
    // The KL line is drawn: pixels of the active arm's colour (the theme's --active) on the chart's canvas,
    // where axes and grid are grey.
    const hex = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--active").trim());
    expect(hex).toBe("#38bdf8");
    const rgb = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    await expect
      .poll(
        () =>
          page.evaluate((rgb) => {
            const canvas = document.querySelector("#chart-kl canvas") as HTMLCanvasElement | null;
            if (!canvas) return 0;
            const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i]! - rgb[0]!) + Math.abs(px[i + 1]! - rgb[1]!) + Math.abs(px[i + 2]! - rgb[2]!) < 40 && px[i + 3]! > 200) n++;
            return n;
          }, rgb),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(50);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });
  }, 180_000);

  it("fits a 375-px phone screen and the light theme", async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await sleep(500); // ResizeObserver → uPlot setSize
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const chartWidth = await page.evaluate(() => (document.querySelector("#chart-kl canvas") as HTMLCanvasElement).getBoundingClientRect().width);
    expect(chartWidth).toBeGreaterThan(250);
    expect(chartWidth).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    await page.click("#theme");
    expect(await page.getAttribute("html", "data-theme")).toBe("light");
    await page.setViewportSize({ width: 1280, height: 900 });
    await sleep(500);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-light.png"), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);
});
