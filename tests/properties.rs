//! Properties of the rewriters over generated inputs (proptest, bounded:
//! 96 cases each, in the normal test suite). The generators combine the
//! Alpine idioms the rules know, in every continuation style, with "inert"
//! lines that no rule may touch. For every generated Dockerfile and script:
//! - the rules' edits never overlap (no "overlap after conversion" note);
//! - every inert line survives byte for byte, in order;
//! - the migrated output parses, and migrating it again changes nothing;
//! - built only from convertible idioms, nothing Alpine is left.

use std::path::Path;

use charon::analyze::{dockerfile, shell};
use charon::recipe::Recipe;
use charon::session::{migrate_dockerfile_text, migrate_script_text};
use proptest::prelude::*;

const KNOWN: &[&str] = &[
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
    "tini",
    "shadow",
    "coreutils",
];

/// Joins the words of a RUN across lines, as people write it.
fn joiner() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(" "),
        Just(" \\\n    "),
        Just("\\\n  "),
        Just(" \\\n\t")
    ]
}

fn packages(unknown: bool) -> impl Strategy<Value = Vec<String>> {
    let known = proptest::sample::select(KNOWN).prop_map(str::to_string);
    let pkg = if unknown {
        prop_oneof![4 => known, 1 => Just("frobnicator".to_string())].boxed()
    } else {
        known.boxed()
    };
    // Duplicates allowed: `apk add bash bash` happens.
    proptest::collection::vec(pkg, 1..5)
}

/// One Dockerfile line (or RUN) and whether it is inert.
#[derive(Debug, Clone)]
enum Line {
    Idiom(String),
    Inert(String),
}

fn df_line(k: usize, unknown: bool) -> impl Strategy<Value = Line> {
    let inert = prop_oneof![
        Just(format!("WORKDIR /srv/inert{k}")),
        Just(format!("COPY inert{k}.txt /opt/inert{k}.txt")),
        Just(format!("# inert{k} comment")),
        Just(format!("ENV INERT{k}=yes")),
        Just(format!("RUN echo inert{k} > /tmp/inert{k}")),
    ]
    .prop_map(Line::Inert);
    let apk = (
        joiner(),
        packages(unknown),
        any::<bool>(),
        prop_oneof![
            Just(""),
            Just("rm -rf /var/cache/apk/*"),
            Just("apk upgrade --no-cache")
        ],
    )
        .prop_map(|(j, pkgs, no_cache, tail)| {
            let flag = if no_cache { " --no-cache" } else { "" };
            let mut s = format!("RUN apk add{flag} {}", pkgs.join(j));
            if !tail.is_empty() {
                s.push_str(&format!("{j}&& {tail}"));
            }
            Line::Idiom(s)
        });
    let virt = (joiner(), packages(unknown)).prop_map(|(j, pkgs)| {
        Line::Idiom(format!(
            "RUN apk add --no-cache --virtual .deps {}{j}&& make{j}&& apk del .deps",
            pkgs.join(" ")
        ))
    });
    let users = (1000u32..1100, joiner()).prop_map(|(id, j)| {
        Line::Idiom(format!(
            "RUN addgroup -g {id} -S app{j}&& adduser -S -D -H -u {id} -G app app"
        ))
    });
    let health = Just(Line::Idiom(
        "HEALTHCHECK CMD wget -q --spider http://localhost:8080/health || exit 1".into(),
    ));
    prop_oneof![3 => inert, 3 => apk, 1 => virt, 1 => users, 1 => health]
}

fn dockerfile(unknown: bool) -> impl Strategy<Value = (String, Vec<String>)> {
    let from = prop_oneof![
        Just("alpine:3.20"),
        Just("alpine:3.19"),
        Just("node:20-alpine"),
        Just("python:3.12-alpine"),
        Just("golang:1.23-alpine"),
    ];
    (
        from,
        proptest::collection::vec(0usize..1, 1..8),
        any::<bool>(),
    )
        .prop_flat_map(move |(from, slots, su_exec)| {
            let lines: Vec<_> = (0..slots.len()).map(|k| df_line(k, unknown)).collect();
            (Just(from), lines, Just(su_exec))
        })
        .prop_map(|(from, lines, su_exec)| {
            let mut text = format!("FROM {from}\n");
            let mut inert = Vec::new();
            for l in lines {
                match l {
                    Line::Idiom(s) => text.push_str(&s),
                    Line::Inert(s) => {
                        text.push_str(&s);
                        inert.push(s);
                    }
                }
                text.push('\n');
            }
            if su_exec {
                text.push_str("RUN apk add --no-cache su-exec\n");
                text.push_str("ENTRYPOINT [\"su-exec\", \"app\", \"/usr/local/bin/app\"]\n");
            }
            (text, inert)
        })
}

fn in_order(out: &str, inert: &[String]) -> Result<(), String> {
    let mut at = 0;
    for l in inert {
        match out[at..].find(l.as_str()) {
            Some(i) => at += i + l.len(),
            None => return Err(format!("inert line `{l}` lost or moved")),
        }
    }
    Ok(())
}

fn recipe() -> Recipe {
    Recipe::embedded().unwrap()
}

fn check_dockerfile(text: &str, inert: &[String], complete: bool) -> Result<(), TestCaseError> {
    let r = recipe();
    let read = |_: &str| -> Option<String> { None };
    let path = Path::new("Dockerfile");
    prop_assert!(
        dockerfile::parse(path, text).is_ok(),
        "generated input must parse:\n{}",
        text
    );
    let (once, notes) = migrate_dockerfile_text(&r, "Dockerfile", text, &read)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    for n in &notes {
        prop_assert!(
            !n.message.contains("overlap after conversion"),
            "overlapping edits: {}\n--- input\n{}",
            n.message,
            text
        );
    }
    in_order(&once, inert)
        .map_err(|e| TestCaseError::fail(format!("{e}\n--- input\n{text}\n--- output\n{once}")))?;
    prop_assert!(
        dockerfile::parse(path, &once).is_ok(),
        "output does not parse\n--- input\n{}\n--- output\n{}",
        text,
        once
    );
    let (twice, _) = migrate_dockerfile_text(&r, "Dockerfile", &once, &read)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&twice, &once, "not idempotent\n--- input\n{}", text);
    if complete {
        for word in ["apk ", "alpine", "su-exec", "adduser -S", "wget "] {
            prop_assert!(
                !once.contains(word),
                "`{}` left in a Dockerfile built only from convertible idioms\n--- input\n{}\n--- output\n{}",
                word,
                text,
                once
            );
        }
    }
    Ok(())
}

fn script() -> impl Strategy<Value = (String, Vec<String>)> {
    let line = |k: usize| {
        prop_oneof![
            3 => Just((format!("echo \"inert{k}\""), true)),
            3 => Just((format!("export INERT{k}=1"), true)),
            1 => Just(("exec su-exec app \"$@\"".to_string(), false)),
            1 => Just(("su-exec app:app /usr/local/bin/app --migrate".to_string(), false)),
            1 => Just(("addgroup -S app".to_string(), false)),
            1 => Just(("adduser -S -D -H -G app app".to_string(), false)),
            1 => Just(("wget -qO- http://localhost:8080/health".to_string(), false)),
            1 => Just(("wget -q -O /tmp/f https://example.com/f".to_string(), false)),
            1 => Just(("if [ -n \"$X\" ]; then\n    su-exec app true\nfi".to_string(), false)),
            1 => Just(("apk add --no-cache curl >/dev/null 2>&1 &".to_string(), false)),
        ]
    };
    proptest::collection::vec(0usize..1, 1..10)
        .prop_flat_map(move |slots| (0..slots.len()).map(line).collect::<Vec<_>>())
        .prop_map(|lines| {
            let mut text = "#!/bin/sh\nset -e\n".to_string();
            let mut inert = Vec::new();
            for (l, is_inert) in lines {
                text.push_str(&l);
                text.push('\n');
                if is_inert {
                    inert.push(l);
                }
            }
            (text, inert)
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

fn clean(t: &str) -> bool {
    shell::parse(t)
        .map(|s| s.error_ranges().is_empty())
        .unwrap_or(false)
}

proptest! {
    // 96 cases per run by default; PROPTEST_CASES=N for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn dockerfiles_of_convertible_idioms_migrate_completely((text, inert) in dockerfile(false)) {
        check_dockerfile(&text, &inert, true)?;
    }

    #[test]
    fn dockerfiles_with_unknown_packages_keep_the_properties((text, inert) in dockerfile(true)) {
        check_dockerfile(&text, &inert, false)?;
    }

    #[test]
    fn scripts_keep_the_properties((text, inert) in script()) {
        let r = recipe();
        prop_assert!(clean(&text), "generated script must parse:\n{}", text);
        let (once, _) = migrate_script_text(&r, "entrypoint.sh", &text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        in_order(&once, &inert).map_err(|e| TestCaseError::fail(format!("{e}\n--- input\n{text}\n--- output\n{once}")))?;
        prop_assert!(clean(&once), "output does not parse\n--- input\n{}\n--- output\n{}", text, once);
        let (twice, _) = migrate_script_text(&r, "entrypoint.sh", &once)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&twice, &once, "not idempotent\n--- input\n{}", text);
        for word in ["su-exec", "wget ", "adduser -S", "addgroup -S"] {
            prop_assert!(!once.contains(word), "`{}` left\n--- input\n{}\n--- output\n{}", word, text, once);
        }
    }
}
