//! The static token file: `token,user,uid,"group1,group2"` per line, Kubernetes' format.

use std::collections::HashMap;
use std::path::Path;

use super::User;

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("token file {path:?}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("token file {path:?}, line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// Reads a token file into token -> user.
pub fn load(path: &Path) -> Result<HashMap<String, User>, TokenFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text).map_err(|(line, message)| TokenFileError::Line {
        path: shown,
        line,
        message,
    })
}

/// Parses token file text; an error names the 1-based line.
pub fn parse(text: &str) -> Result<HashMap<String, User>, (usize, String)> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields = split_csv(line).map_err(|m| (number, m))?;
        if fields.len() < 3 {
            return Err((
                number,
                format!(
                    "must have at least 3 columns (token, user name, user uid), found {}",
                    fields.len()
                ),
            ));
        }
        let token = fields[0].trim();
        let name = fields[1].trim();
        if token.is_empty() {
            return Err((number, "the token (first column) is empty".to_string()));
        }
        if name.is_empty() {
            return Err((number, "the user name (second column) is empty".to_string()));
        }
        let groups = fields
            .get(3)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let user = User {
            name: name.to_string(),
            uid: fields[2].trim().to_string(),
            groups,
        };
        if users.insert(token.to_string(), user).is_some() {
            return Err((
                number,
                "this token is already used by an earlier line".to_string(),
            ));
        }
    }
    Ok(users)
}

/// Splits one CSV record: fields separated by commas, optionally in double quotes (with `""`
/// for a quote inside).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed (missing '\"')".to_string()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => {
                    return Err(format!(
                        "unexpected {c:?} after a closing quote (expected ',')"
                    ))
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => {
                        return Err(
                            "a '\"' inside an unquoted field; quote the whole field".to_string()
                        )
                    }
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_format() {
        let text = "\
# admin
t1,admin,1,\"system:masters\"
t2,viewer,2,\"skiff:viewers,devs\"

t3,system:node:n1,3,system:nodes
t4,nobody,4
";
        let users = parse(text).unwrap();
        assert_eq!(users.len(), 4);
        assert_eq!(users["t1"].groups, vec!["system:masters"]);
        assert_eq!(users["t2"].groups, vec!["skiff:viewers", "devs"]);
        assert_eq!(users["t3"].name, "system:node:n1");
        assert_eq!(users["t3"].groups, vec!["system:nodes"]);
        assert!(users["t4"].groups.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let table = [
            ("t1,a,1\nt2,b\n", 2, "at least 3 columns"),
            ("t1,a,1,\"g1,g2\n", 1, "not closed"),
            (",a,1\n", 1, "token (first column) is empty"),
            ("t1,a,1\nt1,b,2\n", 2, "already used"),
            ("t1,a,1,\"g\"x\n", 1, "after a closing quote"),
        ];
        for (text, line, want) in table {
            let (got_line, message) = parse(text).unwrap_err();
            assert_eq!(got_line, line, "{text:?}");
            assert!(message.contains(want), "{text:?}: {message}");
        }
    }

    #[test]
    fn quoted_fields_may_hold_quotes() {
        assert_eq!(
            split_csv(r#"a,"b ""c""",d"#).unwrap(),
            vec!["a", "b \"c\"", "d"]
        );
        assert_eq!(split_csv("a,,c").unwrap(), vec!["a", "", "c"]);
    }
}
