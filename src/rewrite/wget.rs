//! wget → curl with the same meaning (NOTES §12): Debian slim has neither, and
//! the migration installs curl. Each wget option is translated or the command
//! is left alone with the option named.

use super::users::Converted;
use crate::analyze::shell::Command;

/// Convert one `wget` command; the replacement covers `name.start..end`.
pub fn convert(cmd: &Command) -> Result<Converted, String> {
    let mut quiet = false;
    let mut no_verbose = false;
    let mut spider = false;
    let mut output: Option<String> = None; // None: remote name; Some("-"): stdout
    let mut extra: Vec<String> = Vec::new();
    let mut urls: Vec<String> = Vec::new();
    let mut dir: Option<String> = None;
    let mut i = 0;
    let args = &cmd.args;
    let next = |i: &mut usize, opt: &str| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .map(|w| w.raw.clone())
            .ok_or_else(|| format!("wget option `{opt}` needs a value"))
    };
    while i < args.len() {
        let w = &args[i];
        let t = w.text().to_string();
        if w.value.is_none() || !t.starts_with('-') || t == "-" {
            urls.push(w.raw.clone());
            i += 1;
            continue;
        }
        let (flag, inline) = match t.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(super::shell_quote(v))),
            _ => (t.clone(), None),
        };
        match flag.as_str() {
            "-q" | "--quiet" => quiet = true,
            "-nv" | "--no-verbose" => no_verbose = true,
            "--spider" => spider = true,
            "-qO-" | "-qO" => {
                quiet = true;
                output = Some(if flag == "-qO-" {
                    "-".into()
                } else {
                    next(&mut i, "-O")?
                });
            }
            "-O-" => output = Some("-".into()),
            "-O" | "--output-document" => {
                output = Some(match inline {
                    Some(v) => v,
                    None => next(&mut i, "-O")?,
                })
            }
            "-P" | "--directory-prefix" => {
                dir = Some(match inline {
                    Some(v) => v,
                    None => next(&mut i, "-P")?,
                })
            }
            "-t" | "--tries" => {
                let v = match inline {
                    Some(v) => v,
                    None => next(&mut i, "--tries")?,
                };
                match v.trim_matches('\'').parse::<u32>() {
                    Ok(0) => extra.push("--retry 1000".into()),
                    Ok(1) => {}
                    Ok(n) => extra.push(format!("--retry {}", n - 1)),
                    Err(_) => return Err(format!("wget --tries={v} is not a number")),
                }
            }
            "-T" | "--timeout" => {
                let v = match inline {
                    Some(v) => v,
                    None => next(&mut i, "--timeout")?,
                };
                extra.push(format!("--max-time {v}"));
            }
            "--header" => {
                let v = match inline {
                    Some(v) => v,
                    None => next(&mut i, "--header")?,
                };
                extra.push(format!("-H {v}"));
            }
            "-U" | "--user-agent" => {
                let v = match inline {
                    Some(v) => v,
                    None => next(&mut i, "--user-agent")?,
                };
                extra.push(format!("-A {v}"));
            }
            "--no-check-certificate" => extra.push("-k".into()),
            "-c" | "--continue" => extra.push("-C -".into()),
            "-S" | "--server-response" => extra.push("-D /dev/stderr".into()),
            _ => {
                // Clustered short flags such as -qO- were handled above; -qS etc. are not.
                return Err(format!(
                    "wget option `{t}` has no curl translation here; convert by hand"
                ));
            }
        }
        i += 1;
    }
    if urls.len() != 1 {
        return Err(format!("wget with {} URLs; convert by hand", urls.len()));
    }
    let mut flags = String::from("-f");
    if quiet || no_verbose {
        flags.push('s');
    }
    if !quiet {
        flags.push('S');
    }
    flags.push('L');
    let mut out = vec!["curl".to_string(), flags];
    let mut notes = vec![
        "wget → curl: Debian slim has no wget and the migration installs curl (spec Step 3.0); -f keeps wget's failure on HTTP errors, -L its redirect following".to_string(),
    ];
    if spider {
        out.push("-o /dev/null".into());
        notes.push("--spider → -o /dev/null: fetch, discard the body, keep the exit status".into());
    } else {
        match output.as_deref() {
            Some("-") => {}
            Some(file) => out.push(format!("-o {file}")),
            None => {
                out.push("-O".into());
                notes.push("wget saves under the URL's file name: curl -O does the same".into());
            }
        }
        if let Some(d) = dir {
            out.push(format!("--output-dir {d}"));
        }
    }
    out.extend(extra);
    out.push(urls.remove(0));
    Ok(Converted {
        text: out.join(" "),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::shell;

    fn conv(src: &str) -> Result<String, String> {
        let c = shell::parse(src).unwrap().commands().remove(0);
        convert(&c).map(|c| c.text)
    }

    #[test]
    fn forms_from_notes_12() {
        assert_eq!(
            conv("wget -q --spider http://localhost:2019/config/").unwrap(),
            "curl -fsL -o /dev/null http://localhost:2019/config/"
        );
        assert_eq!(
            conv("wget -q -O- http://x/").unwrap(),
            "curl -fsL http://x/"
        );
        assert_eq!(conv("wget -qO- http://x/").unwrap(), "curl -fsL http://x/");
        assert_eq!(
            conv("wget --no-verbose --tries=1 --spider http://localhost:8080/api/v1/health")
                .unwrap(),
            "curl -fsSL -o /dev/null http://localhost:8080/api/v1/health"
        );
        assert_eq!(
            conv("wget --tries=3 -O /tmp/a.tgz \"$URL\"").unwrap(),
            "curl -fSL -o /tmp/a.tgz --retry 2 \"$URL\""
        );
        assert_eq!(
            conv("wget https://e.x/a.tgz").unwrap(),
            "curl -fSL -O https://e.x/a.tgz"
        );
    }

    #[test]
    fn unknown_options_are_refused() {
        assert!(conv("wget --mirror http://x/").is_err());
        assert!(conv("wget http://a/ http://b/").is_err());
    }
}
