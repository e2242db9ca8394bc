//! The user image catalog file (`--image-catalog FILE`).
//!
//! One image per line, `IMAGE = COMMAND LINE`; blank lines and lines starting with `#`
//! are ignored:
//!
//! ```text
//! # image            = command line (the image's entrypoint)
//! myorg/web:1.0      = /usr/local/bin/web --port 8080
//! myorg/static       = python3 -m http.server 8080
//! myorg/hello        = skiff-nodelet image kubia
//! ```
//!
//! The command line is the image's entrypoint: a container's `args` are appended to it
//! and its `command` replaces it. Words are split on whitespace; `"..."` and `'...'`
//! group words, and a backslash escapes the next character outside single quotes. A first
//! word `skiff-nodelet` means the running nodelet binary (to alias a built-in stand-in).
//! An entry without a tag matches every tag of the image; one with a tag matches only
//! that tag (no tag in a pod spec means `latest`).

use super::reference::ImageRef;
use super::ImageError;

/// One line of a catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogLine {
    pub name: String,
    /// `None` matches any tag.
    pub tag: Option<String>,
    pub argv: Vec<String>,
}

pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<CatalogLine>, ImageError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| ImageError::Catalog {
            file: file.to_string(),
            line: index + 1,
            message,
        };
        let (image, command) = line
            .split_once('=')
            .ok_or_else(|| err("expected IMAGE = COMMAND LINE".into()))?;
        let image = image.trim();
        let reference = ImageRef::parse(image).map_err(|e| err(e.to_string()))?;
        let has_tag = {
            let last = image.rsplit('/').next().unwrap_or(image);
            last.contains(':')
        };
        let argv = split_words(command).map_err(err)?;
        if argv.is_empty() {
            return Err(err(format!("image {image:?} has an empty command line")));
        }
        out.push(CatalogLine {
            name: reference.name,
            tag: has_tag.then_some(reference.tag),
            argv,
        });
    }
    Ok(out)
}

/// Splits a command line into words, shell-style but without any expansion.
pub(crate) fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("backslash at end of line".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("backslash at end of line".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#"sh -c 'echo "hi there"' "a b" c\ d '' "#).unwrap(),
            vec!["sh", "-c", "echo \"hi there\"", "a b", "c d", ""]
        );
        assert!(split_words("echo 'oops").is_err());
    }

    #[test]
    fn parses_entries_with_and_without_tags() {
        let text = "# comment\n\nmyorg/web:1.0 = /bin/web --port 8080\ndocker.io/myorg/any = python3 -m http.server\n";
        let lines = parse(text, "catalog").unwrap();
        assert_eq!(lines[0].name, "myorg/web");
        assert_eq!(lines[0].tag.as_deref(), Some("1.0"));
        assert_eq!(lines[0].argv, vec!["/bin/web", "--port", "8080"]);
        assert_eq!(lines[1].name, "myorg/any");
        assert_eq!(lines[1].tag, None);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("ok = true\nbroken line\n", "cat.txt").unwrap_err();
        assert_eq!(err.to_string(), "cat.txt:2: expected IMAGE = COMMAND LINE");
        assert!(parse("x = \n", "f").is_err());
    }
}
