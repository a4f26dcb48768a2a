// The Dockerfile without a Docker engine: every path a COPY names exists and survives .dockerignore, which
// keeps node_modules, .tether, .git and training outputs out of the context; then the gateway stage is
// replayed outside Docker — its COPYs into a temp dir, its `npm` and `node` RUN lines as written (the production install
// of the gateway workspace only, the build of `npm start`'s bundle), its CMD started with the stage's ENV, its HEALTHCHECK command run against
// it, and SIGTERM answered by a drain and exit 0. The installed tree holds no TensorFlow.js.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, sleep, tempDir } from "./gateway-helpers";

interface Instruction {
  op: string; // FROM, COPY, RUN, …
  args: string;
}
interface Stage {
  name: string;
  from: string;
  steps: Instruction[];
}

/** Dockerfile → stages (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), steps: [] });
    } else stages.at(-1)!.steps.push({ op: op!.toUpperCase(), args: args!.trim() });
  }
  return stages;
}

/** A .dockerignore as Docker reads it: patterns relative to the context, `**`, `!` exceptions, last match wins. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, "");
      const source = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => ({ "**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]" })[part] ?? part.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
        .join("");
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = path.split("/");
    let excluded = false;
    for (const { negate, regex } of rules) {
      for (let i = 1; i <= parts.length; i++) if (regex.test(parts.slice(0, i).join("/"))) excluded = !negate;
    }
    return excluded;
  };
}

/** Files under a repo path that the build context keeps. */
function contextFiles(path: string, ignored: (p: string) => boolean): string[] {
  const full = join(REPO, path);
  if (ignored(path)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((name) => contextFiles(`${path}/${name}`, ignored));
}

const stages = parseDockerfile(readFileSync(join(REPO, "Dockerfile"), "utf8"));
const ignored = dockerignore(readFileSync(join(REPO, ".dockerignore"), "utf8"));
const copies = stages.flatMap((s) => s.steps.filter((i) => i.op === "COPY" && !i.args.startsWith("--from")).map((i) => ({ stage: s.name, words: i.args.split(/\s+/) })));

describe("Dockerfile and .dockerignore", () => {
  it("has the two targets; every COPY source exists and is in the build context", () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(["gateway", "trainer"]));
    expect(copies.length).toBeGreaterThan(10);
    for (const { stage, words } of copies) {
      for (const source of words.slice(0, -1)) {
        expect(existsSync(join(REPO, source)), `${stage}: COPY ${source}`).toBe(true);
        expect(contextFiles(source, ignored).length, `${stage}: COPY ${source} is excluded by .dockerignore`).toBeGreaterThan(0);
      }
    }
  });

  it(".dockerignore keeps out dependencies, data, history, training outputs and tests", () => {
    for (const path of ["node_modules/hono/package.json", "apps/gateway/node_modules/x/y.js", ".tether/pgdata/PG_VERSION", ".git/HEAD", "runs/ref/model.safetensors", "test-artifacts/a.png", "report/report.md", "apps/gateway/src/app.test.ts", "npm-debug.log"]) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ["package.json", "package-lock.json", ".npmrc", "apps/gateway/src/app.ts", "models/demo/policy/onnx/model.onnx", "migrations/meta/_journal.json"]) {
      expect(ignored(path), path).toBe(false);
    }
  });

  it("the trainer target runs tether-train, requires the GPU binding, on a CUDA base", () => {
    const trainer = stages.find((s) => s.name === "trainer")!;
    expect(trainer.from).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime/);
    expect(trainer.steps).toContainEqual({ op: "ENTRYPOINT", args: '["tether-train"]' });
    expect(trainer.steps).toContainEqual({ op: "ENV", args: "TETHER_REQUIRE_GPU=1" });
    expect(trainer.steps.some((s) => s.op === "RUN" && s.args.includes("tfjs_binding.node"))).toBe(true);
  });
});

describe("the gateway stage, replayed outside Docker", () => {
  const tmp = tempDir("tether-docker-");
  afterAll(() => tmp.remove());
  const gateway = stages.find((s) => s.name === "gateway")!;

  it("installs the gateway's production dependencies only, starts, passes its HEALTHCHECK and drains on SIGTERM", async () => {
    expect(gateway.from).toMatch(/^node:20-/);
    const env: Record<string, string> = {};
    const app = join(tmp.dir, "app");
    let cmd: string[] = [];
    let healthcheck: string[] = [];
    for (const { op, args } of gateway.steps) {
      if (op === "ENV") for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
      else if (op === "WORKDIR") expect(args).toBe("/app");
      else if (op === "COPY") {
        const words = args.split(/\s+/);
        for (const source of words.slice(0, -1)) {
          const dest = join(app, words.at(-1)!.endsWith("/") || words.length > 2 ? join(words.at(-1)!, source.split("/").at(-1)!) : words.at(-1)!);
          cpSync(join(REPO, source), dest, { recursive: true, filter: (from) => !ignored(relative(REPO, from) || ".") });
        }
      } else if (op === "RUN") {
        if (!/^(npm|node) /.test(args)) {
          expect(args, "a RUN step the test cannot replay").toBe("mkdir -p /data && chown node:node /data"); // the volume's owner
          continue;
        }
        const r = spawnSync("sh", ["-c", args], { cwd: app, env: { ...process.env, ...env, NODE_ENV: "production" }, encoding: "utf8" });
        expect(r.status, `RUN ${args}\n${r.stderr}`).toBe(0);
      } else if (op === "CMD") cmd = JSON.parse(args);
      else if (op === "HEALTHCHECK") healthcheck = JSON.parse(args.replace(/^.*?CMD\s+/, ""));
      else expect(["USER", "VOLUME", "EXPOSE", "STOPSIGNAL"], op).toContain(op);
    }
    expect(env).toMatchObject({ PORT: "8787", HOST: "0.0.0.0", TETHER_DATA_DIR: "/data" });

    // No TensorFlow.js (nor the trainer) in the installed tree.
    const tree = spawnSync("npm", ["ls", "--omit=dev", "-w", "@tether/gateway", "--all", "--parseable"], { cwd: app, encoding: "utf8" }).stdout;
    expect(tree).toContain("onnxruntime-node");
    expect(tree).not.toMatch(/@tensorflow|@tether\/trainer/);
    expect(existsSync(join(app, "node_modules", "@tensorflow"))).toBe(false);
    expect(readFileSync(join(app, "node_modules/postgres/cjs/src/connection.js"), "utf8")).toContain("tether patch"); // patches/ applied

    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const runEnv = { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1", TETHER_DATA_DIR: join(tmp.dir, "data"), DATABASE_URL: "", TETHER_CONFIG: "" };
    const server = spawn(cmd[0] === "node" ? process.execPath : cmd[0]!, cmd.slice(1), { cwd: app, env: runEnv, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    server.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => server.on("exit", (code) => r(code)));
    try {
      let ready = false;
      for (let i = 0; i < 600 && !ready && server.exitCode === null; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!ready) await sleep(100);
      }
      expect(ready, stderr).toBe(true);
      const check = spawnSync(healthcheck[0] === "node" ? process.execPath : healthcheck[0]!, healthcheck.slice(1), { env: runEnv, encoding: "utf8" });
      expect(check.status, check.stderr).toBe(0);
      const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data).toHaveLength(1);
    } finally {
      server.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: draining requests and flushing the drift log/);
  }, 300_000);
});
