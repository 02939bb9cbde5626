//! Dockerfile variable substitution, as the builder does it for `ENV`,
//! `ARG`, `WORKDIR`, `USER`, `COPY` and `FROM` (not for `RUN`, whose text
//! the shell expands): `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
//! `${NAME:+word}`, `${NAME+word}`, and `\$` for a literal dollar. Unknown
//! forms are kept as written rather than guessed.

/// Expand `s` with `lookup` (None: the variable is unset).
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'$') => {
                out.push('$');
                i += 2;
            }
            b'$' => {
                let (text, next) = variable(s, i, lookup);
                out.push_str(&text);
                i = next;
            }
            _ => {
                // Copy one whole UTF-8 character.
                let len = s[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                out.push_str(&s[i..i + len]);
                i += len;
            }
        }
    }
    out
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Expand the variable reference starting at `s[at] == '$'`; returns the
/// replacement and the offset after the reference.
fn variable(s: &str, at: usize, lookup: &dyn Fn(&str) -> Option<String>) -> (String, usize) {
    let b = s.as_bytes();
    let start = at + 1;
    if b.get(start) == Some(&b'{') {
        let Some(close) = matching_brace(s, start) else {
            return (s[at..].to_string(), s.len());
        };
        let inner = &s[start + 1..close];
        let name_len = inner.bytes().take_while(|&c| is_name_byte(c)).count();
        let name = &inner[..name_len];
        let rest = &inner[name_len..];
        if name.is_empty() {
            return (s[at..=close].to_string(), close + 1);
        }
        let value = lookup(name);
        let text = match rest {
            "" => value.unwrap_or_default(),
            _ if rest.starts_with(":-") => match value.filter(|v| !v.is_empty()) {
                Some(v) => v,
                None => expand(&rest[2..], lookup),
            },
            _ if rest.starts_with('-') => match value {
                Some(v) => v,
                None => expand(&rest[1..], lookup),
            },
            _ if rest.starts_with(":+") => match value.filter(|v| !v.is_empty()) {
                Some(_) => expand(&rest[2..], lookup),
                None => String::new(),
            },
            _ if rest.starts_with('+') => match value {
                Some(_) => expand(&rest[1..], lookup),
                None => String::new(),
            },
            // `${NAME:?msg}` and friends: kept as written.
            _ => s[at..=close].to_string(),
        };
        return (text, close + 1);
    }
    let name_len = s[start..].bytes().take_while(|&c| is_name_byte(c)).count();
    if name_len == 0 {
        return ("$".into(), start);
    }
    let name = &s[start..start + name_len];
    (lookup(name).unwrap_or_default(), start + name_len)
}

/// The index of the `}` closing the `{` at `open`, counting nested braces.
fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.bytes().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::expand;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)], s: &str) -> String {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        expand(s, &|n| m.get(n).cloned())
    }

    #[test]
    fn plain_and_braced_references() {
        let v = [("A", "1"), ("HOME_DIR", "/app")];
        assert_eq!(with(&v, "$A"), "1");
        assert_eq!(with(&v, "${A}x"), "1x");
        assert_eq!(with(&v, "$HOME_DIR/data"), "/app/data");
        assert_eq!(with(&v, "$MISSING/x"), "/x");
        assert_eq!(with(&v, "a$"), "a$");
        assert_eq!(with(&v, "ü$A"), "ü1");
    }

    #[test]
    fn defaults_and_alternatives() {
        let v = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(with(&v, "${SET:-d}"), "v");
        assert_eq!(with(&v, "${EMPTY:-d}"), "d");
        assert_eq!(with(&v, "${EMPTY-d}"), "");
        assert_eq!(with(&v, "${NONE-d}"), "d");
        assert_eq!(with(&v, "${SET:+alt}"), "alt");
        assert_eq!(with(&v, "${EMPTY:+alt}"), "");
        assert_eq!(with(&v, "${EMPTY+alt}"), "alt");
        assert_eq!(with(&v, "${NONE:-${SET}}"), "v");
    }

    #[test]
    fn escapes_and_unknown_forms_are_kept() {
        let v = [("A", "1")];
        assert_eq!(with(&v, r"\$A"), "$A");
        assert_eq!(with(&v, "${A:?boom}"), "${A:?boom}");
        assert_eq!(with(&v, "${A"), "${A");
        assert_eq!(with(&v, "${}"), "${}");
    }
}
