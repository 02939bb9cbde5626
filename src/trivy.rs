//! Trivy reports compared: counts by severity before and after the
//! migration, and the vulnerabilities that are new. Reads `trivy image
//! --format json` output; no process is started here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize, Default)]
struct Report {
    #[serde(rename = "Results", default)]
    results: Vec<ResultEntry>,
}

#[derive(Debug, Deserialize, Default)]
struct ResultEntry {
    #[serde(rename = "Vulnerabilities", default)]
    vulnerabilities: Option<Vec<Vuln>>,
}

#[derive(Debug, Deserialize, Clone)]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    #[serde(rename = "Severity", default)]
    severity: String,
    #[serde(rename = "PkgName", default)]
    pkg: String,
}

/// Vulnerabilities of one scan: id → (severity, package).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub vulns: BTreeMap<String, (String, String)>,
}

impl Scan {
    pub fn parse(text: &str, path: &Path) -> Result<Scan> {
        let r: Report = serde_json::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            reason: format!("not a Trivy JSON report: {e}"),
        })?;
        let mut vulns = BTreeMap::new();
        for res in r.results {
            for v in res.vulnerabilities.unwrap_or_default() {
                vulns.entry(v.id).or_insert((v.severity, v.pkg));
            }
        }
        Ok(Scan { vulns })
    }

    pub fn load(path: &Path) -> Result<Scan> {
        let t = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Scan::parse(&t, path)
    }

    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::new();
        for (sev, _) in self.vulns.values() {
            *c.entry(sev.clone()).or_insert(0) += 1;
        }
        c
    }
}

const ORDER: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];

/// A before/after summary: one line of counts and the new vulnerabilities.
pub fn compare(before: &Scan, after: &Scan) -> String {
    let (b, a) = (before.counts(), after.counts());
    let counts: Vec<String> = ORDER
        .iter()
        .map(|s| {
            format!(
                "{s} {} → {}",
                b.get(*s).unwrap_or(&0),
                a.get(*s).unwrap_or(&0)
            )
        })
        .collect();
    let old: BTreeSet<&String> = before.vulns.keys().collect();
    let mut new: Vec<(&String, &(String, String))> = after
        .vulns
        .iter()
        .filter(|(id, _)| !old.contains(id))
        .collect();
    new.sort_by_key(|(id, (sev, _))| {
        (
            ORDER.iter().position(|o| o == sev).unwrap_or(9),
            (*id).clone(),
        )
    });
    let mut out = format!("vulnerabilities before → after: {}", counts.join(", "));
    if new.is_empty() {
        out.push_str("\nno new vulnerabilities");
    } else {
        out.push_str(&format!("\n{} new:", new.len()));
        for (id, (sev, pkg)) in new {
            out.push_str(&format!("\n  {sev:<8} {id} ({pkg})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(v: &[(&str, &str, &str)]) -> Scan {
        let vulns: Vec<serde_json::Value> = v
            .iter()
            .map(|(id, s, p)| serde_json::json!({"VulnerabilityID": id, "Severity": s, "PkgName": p}))
            .collect();
        let doc = serde_json::json!({"Results": [{"Target": "x", "Vulnerabilities": vulns}, {"Target": "y"}]});
        Scan::parse(&doc.to_string(), Path::new("t.json")).unwrap()
    }

    #[test]
    fn counts_and_new_vulnerabilities() {
        let before = scan(&[
            ("CVE-1", "CRITICAL", "musl"),
            ("CVE-2", "HIGH", "busybox"),
            ("CVE-3", "LOW", "zlib"),
        ]);
        let after = scan(&[
            ("CVE-3", "LOW", "zlib"),
            ("CVE-9", "HIGH", "gosu"),
            ("CVE-8", "MEDIUM", "libc6"),
        ]);
        let s = compare(&before, &after);
        assert!(s.starts_with("vulnerabilities before → after: CRITICAL 1 → 0, HIGH 1 → 1, MEDIUM 0 → 1, LOW 1 → 1"), "{s}");
        assert!(
            s.contains("2 new:\n  HIGH     CVE-9 (gosu)\n  MEDIUM   CVE-8 (libc6)"),
            "{s}"
        );
        assert!(compare(&after, &after).ends_with("no new vulnerabilities"));
    }

    #[test]
    fn bad_report_names_the_file() {
        let e = Scan::parse("{\"Results\": 3}", Path::new("after.json")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("after.json:1: not a Trivy JSON report"),
            "{e}"
        );
    }
}
