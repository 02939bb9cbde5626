//! The interpreter and the runner, without root: plans are built from
//! Dockerfile text, and run in a fake sandbox that answers like Debian would.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::interp::{self, Exec};
use super::rootfs::{ExecOutcome, Sandbox};
use super::*;
use crate::analyze::dockerfile;

fn opts() -> Options {
    Options {
        suite: "bookworm".into(),
        build_args: Vec::new(),
        arch: "amd64".into(),
    }
}

fn plan_with(text: &str, stage: Option<&str>, o: &Options, files: &[(&str, &str)]) -> StagePlan {
    let doc = dockerfile::parse(Path::new("Dockerfile"), text).unwrap();
    let st = match stage {
        Some(n) => doc.stage_by_name(n).unwrap().clone(),
        None => doc.stages.last().unwrap().clone(),
    };
    let files: HashMap<String, String> = files
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    interp::plan("Dockerfile", &doc, &st, o, &|p| files.get(p).cloned())
}

fn plan(text: &str) -> StagePlan {
    plan_with(text, None, &opts(), &[])
}

fn action_on(p: &StagePlan, line: usize) -> &Action {
    &p.steps
        .iter()
        .find(|s| s.line == line)
        .unwrap_or_else(|| panic!("no step on line {line}: {:#?}", p.steps))
        .action
}

fn exec_of(p: &StagePlan, line: usize) -> &Exec {
    match action_on(p, line) {
        Action::Exec(e) => e,
        Action::Skip(r) => panic!("line {line} skipped: {r}"),
    }
}

fn skip_of(p: &StagePlan, line: usize) -> String {
    match action_on(p, line) {
        Action::Skip(r) => r.clone(),
        Action::Exec(e) => panic!("line {line} runs {:?}", e.argv),
    }
}

fn env<'a>(e: &'a Exec, k: &str) -> Option<&'a str> {
    e.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn arg_and_env_expand_like_the_builder() {
    let t = "ARG BASE_DIR=/srv\nARG VERSION=1.0\nFROM debian:bookworm-slim\nARG BASE_DIR\nARG VERSION=2.${MINOR:-5}\nENV APP=$BASE_DIR/app OLD=${APP:-none}\nENV APP_VERSION=\"v${VERSION}\"\nRUN echo hi\n";
    let p = plan(t);
    let e = exec_of(&p, 8);
    // A global ARG re-declared without a value takes the global default.
    assert_eq!(env(e, "BASE_DIR"), Some("/srv"));
    assert_eq!(env(e, "VERSION"), Some("2.5"));
    assert_eq!(env(e, "APP"), Some("/srv/app"));
    // Values in one ENV see the environment from before the instruction.
    assert_eq!(env(e, "OLD"), Some("none"));
    assert_eq!(env(e, "APP_VERSION"), Some("v2.5"));
    assert_eq!(env(e, "PATH"), Some(interp::DEFAULT_PATH));
    // RUN text is the shell's to expand: passed through untouched.
    assert_eq!(e.argv, vec!["/bin/sh", "-c", "echo hi"]);
}

#[test]
fn build_args_override_defaults_and_global_args_stay_out_of_stages() {
    let t =
        "ARG ONLY_GLOBAL=g\nARG TAG=bookworm-slim\nFROM debian:${TAG}\nARG MODE=dev\nRUN true\n";
    let mut o = opts();
    o.build_args.push(("MODE".into(), "prod".into()));
    o.build_args.push(("TAG".into(), "trixie-slim".into()));
    let p = plan_with(t, None, &o, &[]);
    assert_eq!(p.image, "debian:trixie-slim");
    assert_eq!(p.suite, "trixie");
    let e = exec_of(&p, 5);
    assert_eq!(env(e, "MODE"), Some("prod"));
    // A global ARG is not in a stage unless the stage declares it.
    assert_eq!(env(e, "ONLY_GLOBAL"), None);
}

#[test]
fn predefined_platform_args_need_a_declaration() {
    let t =
        "FROM debian:bookworm-slim\nRUN echo $TARGETARCH\nARG TARGETARCH\nRUN echo $TARGETARCH\n";
    let p = plan(t);
    assert_eq!(env(exec_of(&p, 2), "TARGETARCH"), None);
    assert_eq!(env(exec_of(&p, 4), "TARGETARCH"), Some("amd64"));
}

#[test]
fn workdir_user_and_shell_apply_to_later_runs() {
    let t = "FROM debian:bookworm-slim\nWORKDIR /app\nWORKDIR data\nENV D=sub\nWORKDIR $D/../x\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nUSER charon:charon\nRUN ls | wc -l\nUSER root\nRUN id\n";
    let p = plan(t);
    assert_eq!(exec_of(&p, 2).argv, vec!["mkdir", "-p", "/app"]);
    assert_eq!(exec_of(&p, 3).argv, vec!["mkdir", "-p", "/app/data"]);
    assert_eq!(exec_of(&p, 5).argv, vec!["mkdir", "-p", "/app/data/x"]);
    let e = exec_of(&p, 8);
    assert_eq!(
        e.argv,
        vec!["/bin/bash", "-o", "pipefail", "-c", "ls | wc -l"]
    );
    assert_eq!(e.workdir, "/app/data/x");
    assert_eq!(e.user.as_deref(), Some("charon:charon"));
    assert_eq!(exec_of(&p, 10).user, None);
    // WORKDIR is created by the builder as root, whatever USER says.
    assert_eq!(exec_of(&p, 5).user, None);
}

#[test]
fn continuation_lines_and_comments_reach_the_shell_as_docker_sends_them() {
    let t = "FROM debian:bookworm-slim\nRUN apt-get update \\\n# a comment line\n    && apt-get install -y curl\n";
    let p = plan(t);
    let e = exec_of(&p, 2);
    assert_eq!(e.argv[2], "apt-get update     && apt-get install -y curl");
    assert_eq!(p.steps[0].kind, StepKind::PackageInstall);
}

#[test]
fn exec_form_and_heredoc_runs() {
    let t = "FROM debian:bookworm-slim\nRUN [\"apt-get\", \"install\", \"-y\", \"gosu\"]\nRUN <<EOF\nset -e\ngroupadd app\nEOF\nRUN cat > /etc/x <<EOF\nhello\nEOF\n";
    let p = plan(t);
    let e = exec_of(&p, 2);
    assert_eq!(e.argv, vec!["apt-get", "install", "-y", "gosu"]);
    assert_eq!(p.steps[0].kind, StepKind::PackageInstall);
    let h = exec_of(&p, 3);
    assert_eq!(h.argv[..2], ["/bin/sh", "-c"]);
    assert!(h.argv[2].contains("groupadd app"), "{:?}", h.argv);
    assert_eq!(p.steps[1].kind, StepKind::User);
    assert!(skip_of(&p, 7).contains("heredoc form"));
}

#[test]
fn copies_are_skipped_and_so_is_what_needs_them() {
    let t = "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY --from=builder /out/app /usr/local/bin/app\nCOPY entry.sh ./\nCOPY --from=ghcr.io/x/y:1 /bin/tool /usr/bin/\nRUN chmod +x ./entry.sh\nRUN app --version\nRUN /usr/local/bin/app migrate\nRUN mkdir -p /data\n";
    let p = plan(t);
    assert!(
        skip_of(&p, 3).contains("stage `builder`") || skip_of(&p, 3).contains("image `builder`")
    );
    assert!(
        skip_of(&p, 4).contains("build context"),
        "{}",
        skip_of(&p, 4)
    );
    assert!(skip_of(&p, 5).contains("image `ghcr.io/x/y:1`"));
    let r = skip_of(&p, 6);
    assert!(r.contains("uses ./entry.sh") && r.contains("line 4"), "{r}");
    assert!(
        skip_of(&p, 7).contains("`app` comes from"),
        "{}",
        skip_of(&p, 7)
    );
    assert!(skip_of(&p, 8).contains("`/usr/local/bin/app` comes from"));
    assert_eq!(exec_of(&p, 9).argv[2], "mkdir -p /data");
}

#[test]
fn downloads_are_skipped_but_package_commands_in_the_same_run_still_run() {
    let t = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl && curl -fsSL https://example.com/x.tgz -o /x.tgz && tar -xzf /x.tgz && useradd app\nRUN git clone https://example.com/r.git /src\n";
    let p = plan(t);
    let s = &p.steps[0];
    let e = exec_of(&p, 2);
    assert_eq!(
        e.argv[2],
        "apt-get update && apt-get install -y curl && useradd app"
    );
    let note = s.note.as_deref().unwrap();
    assert!(
        note.contains("`curl -fsSL https://example.com/x.tgz -o …` (`curl")
            && note.contains("downloads from the internet"),
        "{note}"
    );
    assert!(note.contains("`tar -xzf /x.tgz`"), "{note}");
    assert!(skip_of(&p, 3).contains("downloads from the internet"));
}

#[test]
fn language_images_run_only_package_and_user_commands() {
    let t = "FROM golang:1.25-trixie AS build\nRUN apt-get update && apt-get install -y --no-install-recommends git\nRUN go build ./...\nRUN useradd -u 10001 builder\nRUN make\n";
    let p = plan_with(t, Some("build"), &opts(), &[]);
    assert_eq!(p.mode, Mode::PackagesAndUsers);
    assert_eq!(p.suite, "trixie");
    assert_eq!(
        exec_of(&p, 2).argv[2],
        "apt-get update && apt-get install -y --no-install-recommends git"
    );
    assert!(skip_of(&p, 3).contains("go toolchain"));
    assert_eq!(exec_of(&p, 4).argv[2], "useradd -u 10001 builder");
    assert!(skip_of(&p, 5).contains("only package-manager and user commands"));
}

#[test]
fn images_are_classified_and_suites_read_from_tags() {
    let cases = [
        ("debian:12-slim", Mode::Full, "bookworm"),
        ("docker.io/library/debian:trixie", Mode::Full, "trixie"),
        (
            "node:24.13.0-bookworm-slim",
            Mode::PackagesAndUsers,
            "bookworm",
        ),
        ("python:3.13-slim-trixie", Mode::PackagesAndUsers, "trixie"),
        ("node:24", Mode::PackagesAndUsers, "bookworm"),
        ("alpine:3.23", Mode::Full, "bookworm"),
        ("golang:1.25-alpine", Mode::PackagesAndUsers, "bookworm"),
        ("tonistiigi/xx:1.9.0", Mode::Skipped, "bookworm"),
        ("scratch", Mode::Skipped, "bookworm"),
        ("ubuntu:24.04", Mode::Skipped, "bookworm"),
        (
            "gcr.io/distroless/static-debian12",
            Mode::Skipped,
            "bookworm",
        ),
    ];
    for (image, mode, suite) in cases {
        let p = plan(&format!("FROM {image}\nRUN apt-get update\n"));
        assert_eq!((p.mode, p.suite.as_str()), (mode, suite), "{image}");
    }
    let alpine = plan("FROM alpine:3.23\nRUN apk add curl\n");
    assert!(alpine.notes[0].contains("is Alpine"), "{:?}", alpine.notes);
    let skipped = plan("FROM tonistiigi/xx:1.9.0\nRUN true\n");
    assert!(skipped.steps.is_empty());
    assert!(skipped.notes[0].contains("not an official Debian or language image"));
    let unresolved = plan("ARG IMG\nFROM $IMG\nRUN true\n");
    assert_eq!(unresolved.mode, Mode::Skipped);
    assert!(
        unresolved.notes[0].contains("--build-arg"),
        "{:?}",
        unresolved.notes
    );
}

#[test]
fn from_a_stage_runs_the_parent_stage_first() {
    let t = "FROM debian:bookworm-slim AS base\nENV A=1\nRUN apt-get update\nFROM base AS final\nRUN echo $A\n";
    let p = plan(t);
    assert_eq!(p.image, "debian:bookworm-slim");
    let lines: Vec<(usize, &str)> = p.steps.iter().map(|s| (s.line, s.stage.as_str())).collect();
    assert_eq!(lines, vec![(3, "base"), (5, "final")]);
    assert_eq!(env(exec_of(&p, 5), "A"), Some("1"));
}

#[test]
fn unknown_instructions_and_onbuild_are_listed_not_dropped() {
    let p = plan("FROM debian:bookworm-slim\nFROBNICATE all the things\nONBUILD RUN make\nLABEL a=b\nEXPOSE 80\n");
    assert!(skip_of(&p, 2).contains("`FROBNICATE` is not a Dockerfile instruction"));
    assert!(skip_of(&p, 3).contains("ONBUILD"));
    assert_eq!(p.steps.len(), 2);
}

const ENTRY: &str = "#!/bin/bash\nset -e\nlog() { printf '%s\\n' \"$*\"; }\nif [ \"$(id -u)\" = 0 ]; then\n  chown -R app:app /data\nfi\nlog starting\n\"$CMD\" --flag\nenvsubst < /t > /c\nexec gosu app /usr/local/bin/server\n";

#[test]
fn checks_come_from_users_the_entrypoint_healthcheck_and_setcap() {
    let t = "FROM debian:bookworm-slim\nRUN groupadd -g 1500 app && useradd -u 1501 -g app -m app\nCOPY --from=build /out/server /usr/local/bin/server\nCOPY docker/entry.sh /entry.sh\nRUN setcap cap_net_bind_service=+ep /usr/local/bin/server\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nENTRYPOINT [\"/entry.sh\"]\n";
    let p = plan_with(t, None, &opts(), &[("docker/entry.sh", ENTRY)]);
    let titles: Vec<(CheckKind, &str)> = p
        .checks
        .iter()
        .map(|c| (c.kind, c.title.as_str()))
        .collect();
    let user = &p.checks[0];
    assert_eq!(user.kind, CheckKind::User);
    assert_eq!(
        user.title,
        "user app exists with uid 1501, gid 1500 (`id app`)"
    );
    match &user.probe {
        Probe::Run { exec, expect } => {
            assert_eq!(exec.argv, vec!["id", "app"]);
            assert_eq!(
                *expect,
                Expect::Id {
                    user: "app".into(),
                    uid: Some(1501),
                    gid: Some(1500)
                }
            );
        }
        other => panic!("{other:?}"),
    }
    let drop = p
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::PrivilegeDrop)
        .unwrap();
    assert_eq!(drop.title, "privilege drop works (`gosu app id`)");
    let cmds: Vec<&str> = p
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::EntrypointCommand)
        .map(|c| c.title.as_str())
        .collect();
    // Builtins, functions and expansions are not looked up; the interpreter is.
    assert_eq!(
        cmds,
        vec![
            "entrypoint command `/bin/bash` resolves (docker/entry.sh:1, interpreter)",
            "entrypoint command `/usr/local/bin/server` resolves (docker/entry.sh:10)",
            "entrypoint command `chown` resolves (docker/entry.sh:5)",
            "entrypoint command `envsubst` resolves (docker/entry.sh:9)",
            "entrypoint command `gosu` resolves (docker/entry.sh:10)",
            "entrypoint command `id` resolves (docker/entry.sh:4)",
        ],
        "{titles:?}"
    );
    let server = p
        .checks
        .iter()
        .find(|c| c.title.contains("`/usr/local/bin/server`"))
        .unwrap();
    assert!(matches!(&server.probe, Probe::Skip(r) if r.contains("COPY --from=build")));
    let health = p
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Healthcheck)
        .unwrap();
    assert_eq!(health.title, "HEALTHCHECK program `curl` exists (line 6)");
    assert!(matches!(&health.probe, Probe::Run { expect: Expect::Found(n), .. } if n == "curl"));
    let setcap = p
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Setcap)
        .unwrap();
    assert_eq!(setcap.title, "`setcap` exists (used on line 5)");
}

#[test]
fn busybox_user_tools_are_read_with_their_own_options() {
    // busybox adduser: -G is the group, -g the GECOS; `adduser u grp` adds to a group.
    let t = "FROM alpine:3.23\nRUN addgroup -g 1000 charon && adduser -D -u 1000 -G charon -g 'Charon' -h /app charon && addgroup charon wheel\nUSER charon\n";
    let p = plan(t);
    let users: Vec<&interp::Check> = p
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::User)
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    assert!(matches!(
        &users[0].probe,
        Probe::Run {
            expect: Expect::Id {
                uid: Some(1000),
                gid: Some(1000),
                ..
            },
            ..
        }
    ));
    // A USER that no RUN creates is still checked for existence.
    let p = plan("FROM debian:bookworm-slim\nUSER nobody-here\n");
    assert_eq!(
        p.checks[0].title,
        "user nobody-here exists (`id nobody-here`)"
    );
}

/// A sandbox that answers from a table, like the real one would.
struct Fake {
    answers: Vec<(&'static str, Option<i32>, &'static str)>,
    ran: Vec<Vec<String>>,
}

impl Sandbox for Fake {
    fn exec(&mut self, e: &Exec) -> crate::error::Result<ExecOutcome> {
        self.ran.push(e.argv.clone());
        let line = e.argv.join(" ");
        let (code, out) = self
            .answers
            .iter()
            .find(|(k, _, _)| line.contains(k))
            .map(|(_, c, o)| (*c, o.to_string()))
            .unwrap_or((Some(0), String::new()));
        Ok(ExecOutcome {
            code,
            output: out,
            duration: Duration::from_millis(5),
        })
    }
}

#[test]
fn a_run_reports_every_step_and_judges_each_check() {
    let t = "FROM debian:bookworm-slim\nRUN apt-get install -y no-such-pkg\nRUN groupadd -g 1000 app && useradd -u 1000 -g app app\nCOPY x /x\nHEALTHCHECK CMD wget -q http://l/\nENTRYPOINT [\"gosu\", \"app\", \"/x\"]\n";
    let p = plan(t);
    let mut fake = Fake {
        answers: vec![
            (
                "no-such-pkg",
                Some(100),
                "Reading package lists...\nE: Unable to locate package no-such-pkg\n",
            ),
            (
                "id app",
                Some(0),
                "uid=1000(app) gid=100(users) groups=100(users)\n",
            ),
            ("command -v wget", Some(127), ""),
            ("command -v gosu", Some(0), "/usr/sbin/gosu\n"),
        ],
        ran: Vec::new(),
    };
    let mut events = 0;
    let r = run(&p, &mut fake, &mut |_| events += 1).unwrap();
    // A failing step does not stop the next one.
    let statuses: Vec<Status> = r.steps.iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![Status::Fail, Status::Pass, Status::Skipped]);
    assert_eq!(r.steps[0].exit_code, Some(100));
    assert!(r.steps[0]
        .output
        .as_deref()
        .unwrap()
        .ends_with("E: Unable to locate package no-such-pkg"));
    let user = r.checks.iter().find(|c| c.kind == CheckKind::User).unwrap();
    assert_eq!(user.status, Status::Fail);
    assert_eq!(
        user.detail,
        "uid=1000(app) gid=100(users) groups=100(users): wrong gid 100 (expected 1000)"
    );
    let health = r
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Healthcheck)
        .unwrap();
    assert_eq!(
        (health.status, health.detail.as_str()),
        (Status::Fail, "`wget` is not installed (not found on PATH)")
    );
    let entry = r
        .checks
        .iter()
        .find(|c| c.title.contains("`gosu` resolves"))
        .unwrap();
    assert_eq!(
        (entry.status, entry.detail.as_str()),
        (Status::Pass, "/usr/sbin/gosu")
    );
    assert_eq!(events, r.steps.len() + r.checks.len());
    let report = Report::new(vec![r], true);
    assert_eq!(report.summary.failed, 3);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["stages"][0]["steps"][0]["kind"], "package-install");
    assert_eq!(json["stages"][0]["steps"][0]["status"], "fail");
    assert_eq!(json["stages"][0]["checks"][0]["kind"], "user");
}

#[test]
fn id_output_is_judged_on_user_uid_and_gid() {
    let ok = ExecOutcome {
        code: Some(0),
        output: "uid=1000(charon) gid=1000(charon) groups=1000(charon)\n".into(),
        duration: Duration::ZERO,
    };
    let want = |uid, gid| Expect::Id {
        user: "charon".into(),
        uid,
        gid,
    };
    let argv = vec!["gosu".to_string(), "charon".into(), "id".into()];
    assert_eq!(
        judge(&argv, &want(Some(1000), Some(1000)), &ok).0,
        Status::Pass
    );
    assert_eq!(judge(&argv, &want(None, None), &ok).0, Status::Pass);
    let (s, d) = judge(&argv, &want(Some(1001), None), &ok);
    assert_eq!(s, Status::Fail);
    assert!(d.contains("wrong uid 1000 (expected 1001)"), "{d}");
    let root = ExecOutcome {
        output: "uid=0(root) gid=0(root) groups=0(root)".into(),
        ..ok.clone()
    };
    assert!(judge(&argv, &want(None, None), &root)
        .1
        .contains("wrong user root"));
    let missing = ExecOutcome {
        code: Some(127),
        output: "gosu: not found\n".into(),
        duration: Duration::ZERO,
    };
    let (s, d) = judge(&argv, &want(None, None), &missing);
    assert_eq!(
        (s, d.as_str()),
        (Status::Fail, "`gosu charon id`: gosu: not found")
    );
}

#[test]
fn long_failure_output_keeps_its_head_and_its_tail() {
    let out: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    let t = super::tail(&out);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 20);
    assert_eq!(lines[0], "line 1");
    assert_eq!(lines[5], "… 81 lines …");
    assert_eq!(lines[19], "line 100");
}
