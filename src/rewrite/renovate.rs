//! Renovate: teach the repository's *existing* config to follow the Debian
//! base image (Appendix B, corrected per NOTES §6/§17): a `customManagers`
//! entry with `customType: "regex"`, `managerFilePatterns` and a valid
//! `(?<currentValue>…)` group matching the migrated Dockerfile's ARG line. A
//! legacy `regexManagers` block is migrated; a second config file is never
//! created (it could shadow the real one). Edits are spliced into the JSON
//! text found by jsonc-parser, so comments and formatting survive.

use jsonc_parser::ast::{Object, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{parse_to_ast, CollectOptions, ParseOptions};

use super::{Finding, Proposal};
use crate::analyze::{line_of, line_start};
use crate::edit::Edit;

/// Renovate's config locations, in the order Renovate looks for them.
pub const CONFIG_FILES: &[&str] = &[
    "renovate.json",
    "renovate.json5",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
    ".gitlab/renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
    "package.json",
];

/// An ARG line that holds the runtime image: what the manager must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgLine {
    pub dockerfile: String,
    pub arg: String,
    /// The image name after migration (`debian`).
    pub image: String,
}

impl ArgLine {
    /// The RE2 pattern Renovate runs against the whole Dockerfile.
    pub fn pattern(&self) -> String {
        format!("ARG {}={}:(?<currentValue>[\\w.-]+)", self.arg, self.image)
    }
    /// `managerFilePatterns` entry (a regex written as `/…/`).
    pub fn file_pattern(&self) -> String {
        format!("/(^|/){}$/", regex::escape(&self.dockerfile))
    }
}

fn entry_json(a: &ArgLine) -> serde_json::Value {
    serde_json::json!({
        "customType": "regex",
        "description": format!("Track the Debian base image in {} (ARG {})", a.dockerfile, a.arg),
        "managerFilePatterns": [a.file_pattern()],
        "matchStrings": [a.pattern()],
        "depNameTemplate": a.image,
        "datasourceTemplate": "docker"
    })
}

/// Pretty JSON re-indented to sit at `indent`.
fn render(v: &serde_json::Value, indent: &str, unit: &str) -> String {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.lines()
        .enumerate()
        .map(|(i, l)| {
            let depth = l.len() - l.trim_start().len();
            let body = format!("{}{}", unit.repeat(depth / 2), l.trim_start());
            if i == 0 {
                body
            } else {
                format!("{indent}{body}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn prop<'a, 'b>(obj: &'b Object<'a>, name: &str) -> Option<&'b jsonc_parser::ast::ObjectProp<'a>> {
    obj.properties.iter().find(|p| p.name.as_str() == name)
}

fn indent_of(text: &str, pos: usize) -> String {
    let ls = line_start(text, pos);
    text[ls..pos]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

pub fn rewrite(path: &str, text: &str, args: &[ArgLine]) -> (Vec<Proposal>, Vec<Finding>) {
    let mut props = Vec::new();
    let mut finds = Vec::new();
    let parsed = match parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()) {
        Ok(p) => p,
        Err(e) => {
            finds.push(Finding {
                rule: "renovate-manager",
                line: line_of(text, e.range().start),
                message: format!(
                    "cannot parse the Renovate config ({}); left alone",
                    e.kind()
                ),
            });
            return (props, finds);
        }
    };
    let Some(Value::Object(root)) = parsed.value else {
        return (props, finds);
    };
    let obj: &Object = if path.ends_with("package.json") {
        match prop(&root, "renovate").map(|p| &p.value) {
            Some(Value::Object(o)) => o,
            _ => return (props, finds),
        }
    } else {
        &root
    };
    let tags = vec![format!("file={path}")];
    // Patterns Renovate cannot compile (RE2) silently match nothing.
    for key in ["customManagers", "regexManagers"] {
        if let Some(Value::Array(ms)) = prop(obj, key).map(|p| &p.value) {
            for m in &ms.elements {
                let Value::Object(mo) = m else { continue };
                if let Some(Value::Array(pats)) = prop(mo, "matchStrings").map(|p| &p.value) {
                    for pat in &pats.elements {
                        let Some(s) = pat.as_string_lit() else {
                            continue;
                        };
                        if let Err(e) = regex::Regex::new(&s.value) {
                            let first = e
                                .to_string()
                                .lines()
                                .last()
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            finds.push(Finding {
                                rule: "renovate-manager",
                                line: line_of(text, s.range.start),
                                message: format!("matchStrings pattern `{}` does not compile as RE2 ({first}); Renovate will match nothing (a lost (?<currentValue>…) group name? NOTES §17)", s.value),
                            });
                        }
                    }
                }
            }
        }
    }
    let Some(first) = obj.properties.first() else {
        return (props, finds);
    };
    let indent = indent_of(text, first.range.start);
    let unit = if indent.is_empty() {
        "  ".to_string()
    } else {
        indent.clone()
    };
    let inner = format!("{indent}{unit}");

    let have = |o: &Object| -> bool {
        let Some(Value::Array(a)) = prop(o, "customManagers").map(|p| &p.value) else {
            return false;
        };
        a.elements.iter().any(|e| {
            matches!(e, Value::Object(eo) if matches!(prop(eo, "matchStrings").map(|p| &p.value), Some(Value::Array(ms)) if ms.elements.iter().any(|m| m.as_string_lit().is_some_and(|s| args.iter().any(|a| s.value == a.pattern())))))
        })
    };
    let mut notes = vec![
        "Appendix B, corrected (NOTES §6): `regexManagers`/`fileMatch` are deprecated; the current schema is `customManagers` with `customType: \"regex\"` and `managerFilePatterns` (regexes written as /…/), and the pattern needs a named group (?<currentValue>…) (NOTES §17).".to_string(),
        format!("This edits the config the repository already uses ({path}); a second config file could shadow it."),
        "Renovate's built-in dockerfile manager already follows ARG defaults used in FROM; this manager makes the Debian tracking explicit and survives refactors of the FROM lines.".to_string(),
    ];
    if !args.is_empty() && !have(obj) {
        let ours: Vec<serde_json::Value> = args.iter().map(entry_json).collect();
        let edit = match (prop(obj, "regexManagers"), prop(obj, "customManagers")) {
            (Some(legacy), _) => {
                // Migrate the legacy entries and add ours.
                let mut entries: Vec<serde_json::Value> = Vec::new();
                let legacy_text = &text[legacy.value.start()..legacy.value.end()];
                if let Ok(serde_json::Value::Array(old)) = jsonc_parser::parse_to_serde_value::<
                    serde_json::Value,
                >(
                    legacy_text, &ParseOptions::default()
                ) {
                    for mut e in old {
                        if let Some(o) = e.as_object_mut() {
                            let mut m = serde_json::Map::new();
                            m.insert("customType".into(), "regex".into());
                            for (k, v) in o.iter() {
                                if k == "fileMatch" {
                                    let pats: Vec<serde_json::Value> = v
                                        .as_array()
                                        .map(|a| {
                                            a.iter()
                                                .filter_map(|s| s.as_str())
                                                .map(|s| format!("/{s}/").into())
                                                .collect()
                                        })
                                        .unwrap_or_default();
                                    m.insert("managerFilePatterns".into(), pats.into());
                                } else {
                                    m.insert(k.clone(), v.clone());
                                }
                            }
                            e = m.into();
                        }
                        entries.push(e);
                    }
                }
                notes.push("the legacy regexManagers block is migrated: fileMatch → managerFilePatterns (as /…/), customType \"regex\" added".into());
                entries.extend(ours);
                let value = render(&serde_json::Value::Array(entries), &indent, &unit);
                Edit::new(
                    legacy.range.start,
                    legacy.range.end,
                    format!("\"customManagers\": {value}"),
                )
            }
            (None, Some(cm)) => match &cm.value {
                Value::Array(a) => {
                    let body: Vec<String> = ours
                        .iter()
                        .map(|o| format!("{inner}{}", render(o, &inner, &unit)))
                        .collect();
                    match a.elements.last() {
                        Some(last) => Edit::insert(last.end(), format!(",\n{}", body.join(",\n"))),
                        None => Edit::new(
                            a.range.start,
                            a.range.end,
                            format!("[\n{}\n{indent}]", body.join(",\n")),
                        ),
                    }
                }
                _ => {
                    finds.push(Finding {
                        rule: "renovate-manager",
                        line: line_of(text, cm.range.start),
                        message: "customManagers is not an array; left alone".into(),
                    });
                    return (props, finds);
                }
            },
            (None, None) => {
                let last = obj
                    .properties
                    .last()
                    .map(|p| p.range.end)
                    .unwrap_or(first.range.end);
                let value = render(&serde_json::Value::Array(ours), &indent, &unit);
                Edit::insert(last, format!(",\n{indent}\"customManagers\": {value}"))
            }
        };
        for a in args {
            notes.push(format!(
                "{}: matches `ARG {}={}:…` and updates the tag",
                a.dockerfile, a.arg, a.image
            ));
        }
        props.push(Proposal::new(
            "renovate-manager",
            tags.clone(),
            vec![edit],
            "Renovate customManagers entry for the Debian base image",
            notes.join("\n"),
        ));
    }
    // packageRules that name the alpine image.
    let mut edits = Vec::new();
    if let Some(Value::Array(rules)) = prop(obj, "packageRules").map(|p| &p.value) {
        for r in &rules.elements {
            let Value::Object(ro) = r else { continue };
            for key in ["matchPackageNames", "matchDepNames"] {
                if let Some(Value::Array(names)) = prop(ro, key).map(|p| &p.value) {
                    for n in &names.elements {
                        if let Some(s) = n.as_string_lit() {
                            if s.value == "alpine" {
                                edits.push(Edit::new(s.range.start, s.range.end, "\"debian\""));
                            }
                        }
                    }
                }
            }
            if let Some(s) = prop(ro, "groupName").and_then(|p| p.value.as_string_lit()) {
                if let Some(i) = s.value.find("alpine") {
                    let raw = &text[s.range.start..s.range.end];
                    if raw.len() == s.value.len() + 2 {
                        let at = s.range.start + 1 + i;
                        edits.push(Edit::new(at, at + 6, "debian"));
                    }
                }
            }
        }
    }
    if !edits.is_empty() {
        props.push(Proposal::new("renovate-manager", tags, edits, "packageRules: alpine → debian", "packageRules that group or match the alpine image would no longer match anything once the images are Debian; they now name debian."));
    }
    (props, finds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice;

    fn arg() -> Vec<ArgLine> {
        vec![ArgLine {
            dockerfile: "Dockerfile".into(),
            arg: "CADDY_IMAGE".into(),
            image: "debian".into(),
        }]
    }

    fn run(src: &str) -> String {
        let (p, f) = rewrite("renovate.json", src, &arg());
        assert!(f.is_empty(), "{f:?}");
        let e: Vec<Edit> = p.iter().flat_map(|p| p.edits.clone()).collect();
        splice(src, &e).unwrap()
    }

    #[test]
    fn pattern_is_valid_and_matches() {
        let a = &arg()[0];
        let re = regex::Regex::new(&a.pattern()).unwrap();
        let c = re
            .captures("FROM x\nARG CADDY_IMAGE=debian:bookworm-slim\n")
            .unwrap();
        assert_eq!(&c["currentValue"], "bookworm-slim");
        let f = a.file_pattern();
        let fre = regex::Regex::new(f.trim_matches('/')).unwrap();
        assert!(
            fre.is_match("Dockerfile")
                && fre.is_match("sub/Dockerfile")
                && !fre.is_match("Dockerfile.dev")
        );
    }

    #[test]
    fn adds_custom_managers_and_keeps_formatting() {
        let out = run("{\n  \"extends\": [\"config:recommended\"] // keep me\n}\n");
        let v: serde_json::Value =
            jsonc_parser::parse_to_serde_value::<serde_json::Value>(&out, &Default::default())
                .unwrap();
        assert_eq!(v["customManagers"][0]["customType"], "regex");
        assert!(out.contains("// keep me"));
        assert!(
            out.starts_with(
                "{\n  \"extends\": [\"config:recommended\"],\n  \"customManagers\": [\n    {\n"
            ),
            "{out}"
        );
        // Idempotent.
        assert_eq!(run(&out), out);
    }

    #[test]
    fn migrates_legacy_regex_managers() {
        let src = "{\n  \"regexManagers\": [\n    {\n      \"fileMatch\": [\"^Dockerfile$\"],\n      \"matchStrings\": [\"ARG GO=(?<currentValue>.*)\"],\n      \"depNameTemplate\": \"golang\",\n      \"datasourceTemplate\": \"docker\"\n    }\n  ]\n}\n";
        let out = run(src);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.get("regexManagers").is_none());
        assert_eq!(
            v["customManagers"][0]["managerFilePatterns"][0],
            "/^Dockerfile$/"
        );
        assert_eq!(v["customManagers"][0]["customType"], "regex");
        assert_eq!(v["customManagers"][1]["depNameTemplate"], "debian");
    }

    #[test]
    fn appends_to_existing_custom_managers_and_package_rules() {
        let src = "{\n  \"customManagers\": [\n    {\"customType\": \"regex\", \"managerFilePatterns\": [\"/x/\"], \"matchStrings\": [\"a(?<currentValue>b)\"]}\n  ],\n  \"packageRules\": [{\"matchPackageNames\": [\"alpine\"], \"groupName\": \"alpine base image\"}]\n}\n";
        let out = run(src);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["customManagers"].as_array().unwrap().len(), 2);
        assert_eq!(v["packageRules"][0]["matchPackageNames"][0], "debian");
        assert_eq!(v["packageRules"][0]["groupName"], "debian base image");
    }

    #[test]
    fn package_json_and_json5() {
        let src = "{\n  \"name\": \"x\",\n  \"renovate\": {\n    \"extends\": [\"config:base\"]\n  }\n}\n";
        let (p, _) = rewrite("package.json", src, &arg());
        let out = splice(src, &p[0].edits).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["renovate"]["customManagers"][0]["depNameTemplate"],
            "debian"
        );
        let src5 = "{\n  // comment\n  extends: ['config:recommended'],\n}\n";
        let (p, f) = rewrite("renovate.json5", src5, &arg());
        assert!(f.is_empty());
        let out = splice(src5, &p[0].edits).unwrap();
        assert!(
            jsonc_parser::parse_to_serde_value::<serde_json::Value>(&out, &Default::default())
                .unwrap()["customManagers"]
                .is_array()
        );
    }

    #[test]
    fn broken_config_is_reported() {
        let (p, f) = rewrite("renovate.json", "{ \"a\": [ }", &arg());
        assert!(p.is_empty());
        assert!(f[0].message.contains("cannot parse"));
    }
}
