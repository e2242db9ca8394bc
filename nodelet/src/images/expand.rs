//! Kubernetes `$(VAR)` references in `command` and `args`.

/// Replaces `$(NAME)` with the value of `NAME` from `env` (the container's environment, in
/// order; the last definition wins). Like Kubernetes: an undefined reference stays as
/// written, `$$` is an escaped `$`, and any other `$` is kept.
pub fn expand_references(input: &str, env: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(') {
            match body.find(')') {
                Some(close) => {
                    let name = &body[..close];
                    match lookup(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &body[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = body;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_kubernetes() {
        let env = vec![
            ("POD_IP".to_string(), "127.42.0.1".to_string()),
            ("X".to_string(), "1".to_string()),
            ("X".to_string(), "2".to_string()),
        ];
        let cases = [
            ("http://$(POD_IP):8080", "http://127.42.0.1:8080"),
            ("$(X)", "2"),
            ("$(MISSING)", "$(MISSING)"),
            ("$$(POD_IP)", "$(POD_IP)"),
            ("cost $5", "cost $5"),
            ("$(unclosed", "$(unclosed"),
            ("end$", "end$"),
            ("$()", "$()"),
        ];
        for (input, want) in cases {
            assert_eq!(expand_references(input, &env), want, "{input}");
        }
    }
}
