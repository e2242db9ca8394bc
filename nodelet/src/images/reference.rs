//! Parsing image references: `docker.io/library/busybox:1.36` names image `busybox`, tag
//! `1.36`; no tag means `latest`; a digest is ignored.

use super::ImageError;

/// A normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The repository without the Docker Hub host or its `library/` prefix:
    /// `busybox`, `luksa/kubia`, `quay.io/org/app`.
    pub name: String,
    /// The tag; `latest` when none was given.
    pub tag: String,
}

impl ImageRef {
    pub fn parse(image: &str) -> Result<ImageRef, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidReference {
            image: image.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = image.trim();
        if trimmed.is_empty() {
            return Err(invalid("empty image name"));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(invalid("contains whitespace"));
        }
        // A digest pins content; there is no content here, so only the name matters.
        let without_digest = trimmed.split_once('@').map_or(trimmed, |(n, _)| n);
        // The tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match without_digest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&without_digest[..at], &without_digest[at + 1..])
            }
            None => (without_digest, "latest"),
        };
        if name.is_empty() || tag.is_empty() {
            return Err(invalid("empty name or tag"));
        }
        let mut name = name;
        for host in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
            if let Some(rest) = name.strip_prefix(host) {
                name = rest;
                break;
            }
        }
        let name = name.strip_prefix("library/").unwrap_or(name);
        if name.is_empty() || name.split('/').any(str::is_empty) {
            return Err(invalid("empty path component"));
        }
        Ok(ImageRef {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> (String, String) {
        let r = ImageRef::parse(s).unwrap();
        (r.name, r.tag)
    }

    #[test]
    fn normalizes_docker_hub_names() {
        let kubia = ("luksa/kubia".to_string(), "latest".to_string());
        assert_eq!(parsed("luksa/kubia"), kubia);
        assert_eq!(parsed("luksa/kubia:latest"), kubia);
        assert_eq!(parsed("docker.io/luksa/kubia"), kubia);
        assert_eq!(parsed("busybox:1.36"), ("busybox".into(), "1.36".into()));
        assert_eq!(
            parsed("docker.io/library/busybox"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            parsed("busybox@sha256:abc"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            parsed("localhost:5000/app:v2"),
            ("localhost:5000/app".into(), "v2".into())
        );
        assert_eq!(
            parsed("localhost:5000/app"),
            ("localhost:5000/app".into(), "latest".into())
        );
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in ["", "  ", "a b", "busybox:", ":tag", "a//b", "/x"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
