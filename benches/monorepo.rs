//! A synthetic monorepo for the scale benchmarks (issue #8): per 5,000 files,
//! 1,000 Dockerfiles, 1,000 shell scripts, 200 workflows, 100 compose files
//! and 2,700 ordinary sources, generated from a fixed seed so every run and
//! every machine sees the same bytes. About a third of each kind is still on
//! Alpine, a third already on Debian, the rest has nothing to migrate.

use std::fmt::Write as _;
use std::path::Path;

/// splitmix64: tiny, fast, and stable forever (a crate's RNG may change its
/// stream between versions; the benchmark's input must not).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const APK: &[&str] = &[
    "curl",
    "ca-certificates",
    "tzdata",
    "bash",
    "sqlite-libs",
    "gettext",
    "libcap-utils",
    "git",
    "openssl",
    "jq",
    "postgresql-client",
    "tini",
    "su-exec",
    "shadow",
];
const APT: &[&str] = &[
    "curl",
    "ca-certificates",
    "tzdata",
    "libsqlite3-0",
    "gettext-base",
    "libcap2-bin",
    "git",
    "openssl",
    "jq",
    "postgresql-client",
    "tini",
    "gosu",
];
const WORDS: &[&str] = &[
    "service", "handler", "config", "request", "response", "cache", "queue", "worker", "retry",
    "timeout", "metrics", "session", "token", "router", "store", "index", "batch", "stream",
];

/// Counts of each kind for a tree of `total` files.
pub struct Mix {
    pub dockerfiles: usize,
    pub scripts: usize,
    pub workflows: usize,
    pub compose: usize,
    pub sources: usize,
}

impl Mix {
    pub fn for_total(total: usize) -> Mix {
        let dockerfiles = total / 5;
        let scripts = total / 5;
        let workflows = total / 25;
        let compose = total / 50;
        Mix {
            dockerfiles,
            scripts,
            workflows,
            compose,
            sources: total - dockerfiles - scripts - workflows - compose,
        }
    }
}

fn dockerfile(r: &mut Rng, i: usize) -> String {
    let mut s = String::new();
    let flavour = i % 3;
    let _ = writeln!(s, "# service {i}");
    match flavour {
        0 => {
            let _ = writeln!(s, "FROM golang:1.25-alpine AS build");
            let _ = writeln!(s, "RUN apk add --no-cache git make");
            let _ = writeln!(
                s,
                "WORKDIR /src\nCOPY . .\nRUN go build -o /out/app ./cmd/app"
            );
            let _ = writeln!(s, "\nFROM alpine:3.2{}", r.below(4));
            let n = 2 + r.below(5);
            let pkgs: Vec<&str> = (0..n).map(|_| r.pick(APK)).collect();
            let _ = writeln!(
                s,
                "RUN apk add --no-cache {} \\\n    && apk upgrade --no-cache",
                pkgs.join(" ")
            );
            let _ = writeln!(
                s,
                "RUN addgroup -g 10{0:02} app && adduser -D -u 10{0:02} -G app app",
                i % 100
            );
            let _ = writeln!(s, "COPY --from=build /out/app /usr/local/bin/app");
            let _ = writeln!(s, "COPY entrypoint.sh /entrypoint.sh");
            let _ = writeln!(
                s,
                "HEALTHCHECK CMD wget -q --spider http://localhost:8080/health || exit 1"
            );
            let _ = writeln!(s, "ENTRYPOINT [\"/entrypoint.sh\"]");
        }
        1 => {
            let _ = writeln!(s, "FROM debian:bookworm-slim");
            let n = 2 + r.below(5);
            let pkgs: Vec<&str> = (0..n).map(|_| r.pick(APT)).collect();
            let _ = writeln!(
                s,
                "RUN apt-get update \\\n    && apt-get install -y --no-install-recommends {} \\\n    && rm -rf /var/lib/apt/lists/*",
                pkgs.join(" ")
            );
            let _ = writeln!(
                s,
                "RUN groupadd -g 1000 app && useradd -u 1000 -g app -m app"
            );
            let _ = writeln!(s, "USER app\nCMD [\"/usr/local/bin/app\"]");
        }
        _ => {
            let _ = writeln!(s, "FROM node:24.13.0-alpine AS web");
            let _ = writeln!(
                s,
                "WORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci"
            );
            let _ = writeln!(s, "COPY . .\nRUN npm run build");
            let _ = writeln!(
                s,
                "\nFROM nginx:1.27\nCOPY --from=web /app/dist /usr/share/nginx/html"
            );
        }
    }
    s
}

fn script(r: &mut Rng, i: usize) -> String {
    let mut s = String::from("#!/bin/sh\nset -e\n");
    match i % 3 {
        0 => {
            let _ = writeln!(
                s,
                "if [ \"$(id -u)\" = 0 ]; then\n  chown -R app:app /data\nfi"
            );
            let _ = writeln!(
                s,
                "addgroup -g {} extra 2>/dev/null || true",
                2000 + r.below(500)
            );
            let _ = writeln!(s, "exec su-exec app \"$@\"");
        }
        1 => {
            let _ = writeln!(s, "apk add --no-cache {}", r.pick(APK));
            let _ = writeln!(
                s,
                "until wget -q --spider http://localhost:{}/; do sleep 1; done",
                8000 + r.below(999)
            );
        }
        _ => {
            for _ in 0..(3 + r.below(10)) {
                let _ = writeln!(s, "echo \"{} {}\"", r.pick(WORDS), r.pick(WORDS));
            }
        }
    }
    s
}

fn workflow(r: &mut Rng, i: usize) -> String {
    let image = if i.is_multiple_of(2) {
        "alpine:3.23"
    } else {
        "debian:bookworm-slim"
    };
    format!(
        "name: build-{i}\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: {image}\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo {} && make test\n",
        r.pick(WORDS)
    )
}

fn compose(r: &mut Rng, i: usize) -> String {
    let image = if i.is_multiple_of(2) {
        "redis:7-alpine"
    } else {
        "postgres:16-bookworm"
    };
    format!(
        "services:\n  app:\n    build: .\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"--spider\", \"http://localhost:{}/\"]\n  cache:\n    image: {image}\n",
        8000 + r.below(999)
    )
}

fn source(r: &mut Rng, i: usize) -> (String, String) {
    let ext = ["go", "ts", "py", "rs", "md"][i % 5];
    let mut s = String::new();
    let lines = 20 + r.below(200);
    for l in 0..lines {
        let _ = writeln!(
            s,
            "// {} {} {} {l}",
            r.pick(WORDS),
            r.pick(WORDS),
            if r.below(50) == 0 { "alpine" } else { "value" }
        );
    }
    (format!("src/file_{i}.{ext}"), s)
}

/// Write the tree under `root` (which must not exist) and return its file count.
pub fn generate(root: &Path, total: usize, seed: u64) -> std::io::Result<usize> {
    let mut r = Rng::new(seed);
    let mix = Mix::for_total(total);
    let mut n = 0;
    let mut put = |rel: String, text: String| -> std::io::Result<()> {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(p, text)?;
        n += 1;
        Ok(())
    };
    for i in 0..mix.dockerfiles {
        put(
            format!("services/svc-{i:05}/Dockerfile"),
            dockerfile(&mut r, i),
        )?;
    }
    for i in 0..mix.scripts {
        let svc = i % mix.dockerfiles.max(1);
        let name = if i < mix.dockerfiles {
            "entrypoint.sh".to_string()
        } else {
            format!("tool-{i}.sh")
        };
        put(format!("services/svc-{svc:05}/{name}"), script(&mut r, i))?;
    }
    for i in 0..mix.workflows {
        put(
            format!(".github/workflows/build-{i:04}.yml"),
            workflow(&mut r, i),
        )?;
    }
    for i in 0..mix.compose {
        put(
            format!("deploy/stack-{i:04}/docker-compose.yml"),
            compose(&mut r, i),
        )?;
    }
    for i in 0..mix.sources {
        let (rel, text) = source(&mut r, i);
        let svc = i % mix.dockerfiles.max(1);
        put(format!("services/svc-{svc:05}/{rel}"), text)?;
    }
    Ok(n)
}

/// Make the tree at `root` a git repository with everything in one commit
/// on `main` (what `charon-tui` expects). False when git fails.
pub fn commit(root: &Path) -> bool {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    git(&["init", "-q", "-b", "main"])
        && git(&["add", "-A"])
        && git(&[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "-qm",
            "synthetic monorepo",
        ])
}
